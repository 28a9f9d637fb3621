import Foundation
import LetheCore
import LetheSCIM
import LetheTesting
import Testing

@Suite("Verification by reading back")
struct VerificationTests {
    @Test("a delete is verified only by a 404; a soft delete is not verified")
    func deleteVerification() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(404, ClientFixtures.error("404", "not found"))),
            .success(.scim(200, ClientFixtures.user("u1", extra: #","active":false"#))),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.verifyDeleted("u1").isVerified)
        let soft = try await client.verifyDeleted("u1")
        #expect(!soft.isVerified)
        #expect(soft.description.contains("soft delete"))
    }

    @Test("a PATCH is verified when removed attributes are gone and replaced ones hold the new value")
    func patchVerification() throws {
        let segment = AttributePath(schema: SCIMSchemas.gdprUser, name: "marketingSegment")
        let given = AttributePath(name: "name", subAttribute: "givenName")
        let expectations = [
            AttributeExpectation(path: segment, expected: .absent),
            AttributeExpectation(path: given, expected: .equals(.string("[redacted]"))),
            AttributeExpectation(path: AttributePath(name: "emails"), expected: .absent),
        ]
        let done = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"u1","userName":"x","name":{"givenName":"[redacted]"},"emails":[]}"#.utf8))!)
        #expect(SCIMClient.check(done, expectations).isVerified)
        let ignored = try SCIMResource(json: JSONValue.parse(Data(#"""
            {"id":"u1","name":{"givenName":"Ana"},"emails":[{"value":"ana@example.com"}],
             "urn:example:params:scim:schemas:extension:gdpr:2.0:User":{"marketingSegment":"gold"}}
            """#.utf8))!)
        let result = SCIMClient.check(ignored, expectations)
        #expect(!result.isVerified)
        #expect(result.description.contains("marketingSegment still holds a value"))
        #expect(result.description.contains("name.givenName holds another value"))
        #expect(!result.description.contains("Ana") && !result.description.contains("ana@example.com") && !result.description.contains("gold"))
    }

    @Test("a group removal is verified when the group no longer lists the member")
    func groupVerification() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(200, #"{"id":"g1","displayName":"P","members":[{"value":"u2"}]}"#)),
            .success(.scim(200, #"{"id":"g1","displayName":"P","members":[{"value":"u1"}]}"#)),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.verifyNotMember("u1", ofGroup: "g1").isVerified)
        #expect(!(try await client.verifyNotMember("u1", ofGroup: "g1").isVerified))
    }

    @Test("the read-back asks for the planned attributes by name")
    func readBackAsksByName() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(200, ClientFixtures.user("u1"))),
        ])
        let phones = AttributePath(name: "phoneNumbers")
        let segment = AttributePath(schema: SCIMSchemas.gdprUser, name: "marketingSegment")
        let result = try await ClientFixtures.client(transport).verifyAttributes(
            "u1", [AttributeExpectation(path: phones, expected: .absent), AttributeExpectation(path: segment, expected: .absent)],
            heldBefore: [phones, segment])
        #expect(result.isVerified)
        #expect(transport.requests[0].url.hasSuffix(
            "/Users/u1?attributes=phoneNumbers%2Curn%3Aexample%3Aparams%3Ascim%3Aschemas%3Aextension%3Agdpr%3A2.0%3AUser%3AmarketingSegment"))
    }

    @Test("a removed attribute the server declares never returned, and never showed, is unverifiable")
    func neverReturnedIsUnverifiable() async throws {
        let schemas = #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[
             {"id":"urn:ietf:params:scim:schemas:core:2.0:User","attributes":[
              {"name":"userName","returned":"default"},
              {"name":"phoneNumbers","returned":"never","subAttributes":[{"name":"value","returned":"never"}]}]}]}
            """#
        let transport = RecordingTransport(responses: [
            .success(.scim(200, ClientFixtures.user("u1"))),
            .success(.scim(200, schemas)),
            .success(.scim(200, ClientFixtures.user("u1"))),
        ])
        let client = try ClientFixtures.client(transport)
        let phones = AttributePath(name: "phoneNumbers")
        let expectation = [AttributeExpectation(path: phones, expected: .absent)]
        let blind = try await client.verifyAttributes("u1", expectation)
        guard case .unverifiable(let why) = blind else {
            Issue.record("expected unverifiable, got \(blind)")
            return
        }
        #expect(why.contains("phoneNumbers is unverifiable"))
        // Seen with a value before the write and gone after: that is proof, schema or not. The
        // schemas are read once per target.
        #expect(try await client.verifyAttributes("u1", expectation, heldBefore: [phones]).isVerified)
        #expect(transport.requests.filter { $0.url.hasSuffix("/Schemas") }.count == 1)
    }

    @Test("attributes and the groups left are read back in one read on a server that lists groups on users; a group still listed is not verified")
    func attributesAndGroupsInOneRead() async throws {
        let phones = AttributePath(name: "phoneNumbers")
        let expectation = [AttributeExpectation(path: phones, expected: .absent)]
        let left = #","groups":[{"value":"g2","display":"Staff"}]"#
        let still = #","groups":[{"value":"g1","display":"Promotions"}]"#
        let transport = RecordingTransport(responses: [
            .success(.scim(200, ClientFixtures.user("u1", extra: left))),
            .success(.scim(200, ClientFixtures.user("u1", extra: still))),
            // No `groups` in the answer: the group itself is read.
            .success(.scim(200, ClientFixtures.user("u1"))),
            .success(.scim(200, #"{"id":"g1","displayName":"Promotions","members":[{"value":"u9"}]}"#)),
        ])
        let client = try ClientFixtures.client(transport)
        let done = try await client.verifyAttributes("u1", expectation, heldBefore: [phones], left: ["g1"])
        #expect(done.attributes.isVerified && done.groups.count == 1 && done.groups[0].isVerified)
        #expect(transport.requests[0].url.hasSuffix("/Users/u1?attributes=phoneNumbers%2Cgroups"))
        let listed = try await client.verifyAttributes("u1", expectation, heldBefore: [phones], left: ["g1"])
        #expect(listed.attributes.isVerified)
        #expect(listed.groups.map(\.description) == ["not verified: GET /Users/u1 still lists group g1"])
        let unlisted = try await client.verifyAttributes("u1", expectation, heldBefore: [phones], left: ["g1"])
        #expect(unlisted.groups.map(\.isVerified) == [true])
        #expect(transport.requests[3].url.hasSuffix("/Groups/g1?attributes=members,displayName"))
        #expect(transport.requests.count == 4)
    }
}
