import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import LetheTesting
import Testing

/// What real servers do differently from each other, all within (or just beside) the RFCs:
/// Lethe must work with each.
@Suite("Everyday differences between SCIM servers")
struct EverydayDifferencesTests {
    @Test("Resources left out when totalResults is 0, and schemas missing from a list, are a well-formed 'no account'")
    func sparseLists() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(200, #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}"#)),
            .success(.scim(200, #"{"totalResults":0,"Resources":[]}"#)),
            .success(.scim(200, "{\"totalResults\":1,\"Resources\":[\(ClientFixtures.user("u1"))]}")),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.resolve(.email, "ana@example.com") == .absent)
        #expect(try await client.resolve(.email, "ana@example.com") == .absent)
        guard case .found(let user) = try await client.resolve(.email, "ana@example.com") else {
            Issue.record("a list without schemas was not read")
            return
        }
        #expect(user.id == "u1")
    }

    @Test("integer ids, as strings or as JSON numbers, and UUID ids are opaque path segments")
    func ids() throws {
        let number = try SCIMResource(json: JSONValue.parse(Data(#"{"id":42,"userName":"x"}"#.utf8))!)
        #expect(number.id == "42")
        let text = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"7","userName":"x"}"#.utf8))!)
        #expect(text.id == "7")
        let uuid = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"2819c223-7f76-453a-919d-413861904646"}"#.utf8))!)
        #expect(uuid.id == "2819c223-7f76-453a-919d-413861904646")
        let group = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"g","members":[{"value":42},{"value":"7"}]}"#.utf8))!)
        #expect(group.memberIds == ["42", "7"])
        #expect(throws: SCIMProtocolError.self) { try SCIMResource(json: JSONValue.parse(Data(#"{"id":4.5}"#.utf8))!) }
    }

    @Test("meta.version without an ETag header, and an ETag header without meta.version, both give If-Match")
    func versions() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(200, ClientFixtures.user("u1", version: 3))),
            .success(HTTPResponse(status: 204)),
            .success(.scim(200, #"{"id":"u2","userName":"b"}"#, headers: ["ETag": "W/\"9\""])),
            .success(HTTPResponse(status: 204)),
            .success(.scim(200, #"{"id":"u3","userName":"c"}"#)),
            .success(HTTPResponse(status: 204)),
        ])
        let client = try ClientFixtures.client(transport)
        for id in ["u1", "u2", "u3"] {
            let user = try #require(try await client.getUser(id))
            try await client.patchUser(id, [.remove("locale")], etag: user.etag)
        }
        let patches = transport.requests.filter { $0.method == .patch }
        #expect(patches.map { $0.header("If-Match") } == ["W/\"3\"", "W/\"9\"", nil])
    }

    @Test("an answer typed application/json is read like application/scim+json; every request asks for application/scim+json")
    func contentTypes() async throws {
        let transport = RecordingTransport(responses: [
            .success(HTTPResponse(status: 200, headers: ["Content-Type": "application/json; charset=utf-8"], body: Data(ClientFixtures.user("u1").utf8))),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.getUser("u1")?.id == "u1")
        #expect(transport.requests.allSatisfy { $0.header("Accept") == "application/scim+json" })
    }

    @Test("a groups attribute on the user is used instead of a groups query")
    func groupsOnUser() async throws {
        let transport = RecordingTransport(responses: [])
        let client = try ClientFixtures.client(transport)
        let user = try SCIMResource(json: JSONValue.parse(Data(#"""
            {"id":"u1","userName":"a","groups":[{"value":"g1","display":"Promotions"},{"value":"g2","display":"Staff"}]}
            """#.utf8))!)
        let found = try await client.groupsContaining("u1", named: ["Promotions"], listing: user)
        #expect(found.groups.map(\.id) == ["g1", "g2"])
        #expect(found.groups.first?.json["displayName"]?.stringValue == "Promotions")
        #expect(transport.requests.isEmpty, "no group was queried")
        // An empty list is an answer too: the user is in no group.
        let none = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"u1","userName":"a","groups":[]}"#.utf8))!)
        #expect(try await client.groupsContaining("u1", named: ["Promotions"], listing: none).groups.isEmpty)
        #expect(transport.requests.isEmpty)
    }

    @Test("a user's groups list with an integer group id counts; an entry Lethe cannot name is an error, never skipped")
    func groupsOnUserStrict() async throws {
        let client = try ClientFixtures.client(RecordingTransport(responses: []))
        let numeric = try SCIMResource(json: JSONValue.parse(Data(#"{"id":"u1","groups":[{"value":7,"display":"Promotions"}]}"#.utf8))!)
        #expect(try await client.groupsContaining("u1", named: [], listing: numeric).groups.map(\.id) == ["7"])
        for bad in [#"{"id":"u1","groups":[{"display":"Promotions"}]}"#, #"{"id":"u1","groups":[{"value":"../Users/x","display":"P"}]}"#] {
            let user = try SCIMResource(json: JSONValue.parse(Data(bad.utf8))!)
            await #expect(throws: SCIMClientError.self) { try await client.groupsContaining("u1", named: [], listing: user) }
        }
    }
}
