import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import LetheTesting
import Testing

@Suite("Filters and PATCH bodies")
struct FilterAndPatchTests {
    @Test("filter values are escaped as JSON strings", arguments: [
        ("a\"b@x.org", #"emails.value eq "a\"b@x.org""#),
        ("back\\slash@x.org", #"emails.value eq "back\\slash@x.org""#),
        ("x\" or userName pr \"@x.org", #"emails.value eq "x\" or userName pr \"@x.org""#),
        ("zoë.müller@exämple.de", #"emails.value eq "zoë.müller@exämple.de""#),
        ("tab\there\u{1}@x.org", #"emails.value eq "tab\u0009here\u0001@x.org""#),
    ])
    func escaping(value: String, expected: String) {
        #expect(SCIMFilter.equals("emails.value", value) == expected)
    }

    @Test("the resolve URL carries the whole filter percent-encoded")
    func resolveURLs() async throws {
        let transport = RecordingTransport(responses: Array(repeating: .success(.list([])), count: 4))
        let client = try ClientFixtures.client(transport)
        for value in ["a\"b@x.org", "back\\slash@x.org", "x\" or userName pr \"@x.org", "zoë@exämple.de"] {
            #expect(try await client.resolve(.email, value) == .absent)
        }
        let urls = transport.requests.map(\.url)
        #expect(urls == [
            "https://crm.example.com/scim/v2/Users?filter=emails.value%20eq%20%22a%5C%22b%40x.org%22&startIndex=1&count=50",
            "https://crm.example.com/scim/v2/Users?filter=emails.value%20eq%20%22back%5C%5Cslash%40x.org%22&startIndex=1&count=50",
            "https://crm.example.com/scim/v2/Users?filter=emails.value%20eq%20%22x%5C%22%20or%20userName%20pr%20%5C%22%40x.org%22&startIndex=1&count=50",
            "https://crm.example.com/scim/v2/Users?filter=emails.value%20eq%20%22zo%C3%AB%40ex%C3%A4mple.de%22&startIndex=1&count=50",
        ])
        for request in transport.requests {
            #expect(request.method == .get)
            #expect(request.header("Accept") == "application/scim+json")
            #expect(request.header("Authorization") == "Bearer s3cret-token")
            #expect(request.header("Content-Type") == nil)
            #expect(request.body == nil)
        }
    }

    @Test("PATCH bodies: replace and remove, sub-attributes, value filters, extension URNs")
    func patchBody() {
        let body = PatchRequest([
            .replace("name.givenName", with: .string("[redacted]")),
            .remove("emails[type eq \"work\"].value"),
            .remove("\(SCIMSchemas.gdprUser):marketingSegment"),
            .replace("active", with: .bool(false)),
        ]).encoded()
        #expect(String(decoding: body, as: UTF8.self) == #"""
            {"Operations":[{"op":"replace","path":"name.givenName","value":"[redacted]"},{"op":"remove","path":"emails[type eq \"work\"].value"},{"op":"remove","path":"urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment"},{"op":"replace","path":"active","value":false}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
            """#)
    }

    @Test("a PATCH sends If-Match, the SCIM content type and the exact body")
    func patchRequest() async throws {
        let transport = RecordingTransport(responses: [.success(HTTPResponse(status: 204))])
        let client = try ClientFixtures.client(transport)
        try await client.patchUser("u 1/x", [.remove("locale")], etag: "W/\"3\"")
        let request = try #require(transport.requests.first)
        #expect(request.method == .patch)
        #expect(request.url == "https://crm.example.com/scim/v2/Users/u%201%2Fx")
        #expect(request.header("If-Match") == "W/\"3\"")
        #expect(request.header("Content-Type") == "application/scim+json")
        #expect(request.bodyText == #"{"Operations":[{"op":"remove","path":"locale"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#)
    }

    @Test("DELETE and GET by id")
    func deleteAndGet() async throws {
        let transport = RecordingTransport(responses: [
            .success(HTTPResponse(status: 204)), .success(.scim(404, ClientFixtures.error("\"404\"", "gone"))),
            .success(.scim(200, ClientFixtures.user("u1"), headers: ["ETag": "W/\"7\""])),
            .success(.scim(404, "")),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.deleteUser("u1") == .deleted)
        #expect(try await client.deleteUser("u1") == .alreadyGone)
        #expect(try await client.getUser("u1")?.etag == "W/\"7\"")
        #expect(try await client.getUser("u1") == nil)
        #expect(transport.requests.map { "\($0.method.rawValue) \($0.url)" } == [
            "DELETE https://crm.example.com/scim/v2/Users/u1", "DELETE https://crm.example.com/scim/v2/Users/u1",
            "GET https://crm.example.com/scim/v2/Users/u1", "GET https://crm.example.com/scim/v2/Users/u1",
        ])
    }

    @Test("group removal uses the members value filter; a filter that finds the user's group answers for the named groups too")
    func groups() async throws {
        let group = #"{"id":"g1","displayName":"Promotions","members":[{"value":"u1"},{"value":"u2"}]}"#
        let transport = RecordingTransport(responses: [.success(.list([group])), .success(HTTPResponse(status: 204))])
        let client = try ClientFixtures.client(transport)
        let groups = try await client.groupsContaining("u1", named: ["Promotions"])
        #expect(groups.groups.map(\.id) == ["g1"] && groups.unknown.isEmpty)
        try await client.removeMember("u1", fromGroup: "g1")
        let requests = transport.requests
        #expect(requests.count == 2)
        #expect(requests[0].url.contains("/Groups?filter=members.value%20eq%20%22u1%22"))
        // The PATCH's answer is not read: asked for without the member list (RFC 7644 §3.5.2).
        #expect(requests[1].url == "https://crm.example.com/scim/v2/Groups/g1?excludedAttributes=members")
        #expect(requests[1].bodyText == #"{"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#)
    }

    @Test("until the member filter has found a user in a group, the named groups are asked for by name too; a filter that finds nobody never stops that")
    func namedGroupsUntilFilterProven() async throws {
        let group = #"{"id":"g1","displayName":"Promotions","members":[{"value":"u1"},{"value":"u2"}]}"#
        let transport = RecordingTransport(responses: [
            // u9: the filter finds nothing, and nothing proves it works: the name is asked for.
            .success(.list([])), .success(.list([group])),
            // u1: the filter finds g1, whose member list holds u1: the filter works on this target.
            .success(.list([group])),
            // u2: the filter's empty answer now stands for the named groups too.
            .success(.list([])),
        ])
        let client = try ClientFixtures.client(transport)
        let nobody = try await client.groupsContaining("u9", named: ["Promotions"])
        #expect(nobody.groups.isEmpty)
        #expect(nobody.basis == "GET /Groups?filter=members.value eq <user> and the member lists of Promotions")
        #expect(try await client.groupsContaining("u1", named: ["Promotions"]).groups.map(\.id) == ["g1"])
        // The statement that u2 is in no group says what it rests on: the filter alone.
        let byFilter = try await client.groupsContaining("u2", named: ["Promotions"])
        #expect(byFilter.groups.isEmpty)
        #expect(byFilter.basis == "GET /Groups?filter=members.value eq <user>, a filter this target was seen to evaluate")
        #expect(transport.requests.map { $0.url.contains("displayName") } == [false, true, false, false])

        // A server whose member filter answers empty for everyone is asked by name every time.
        let empty = RecordingTransport(responses: [.success(.list([])), .success(.list([group])), .success(.list([])), .success(.list([group]))])
        let lying = try ClientFixtures.client(empty)
        #expect(try await lying.groupsContaining("u1", named: ["Promotions"]).groups.map(\.id) == ["g1"])
        #expect(try await lying.groupsContaining("u2", named: ["Promotions"]).groups.map(\.id) == ["g1"])
        #expect(empty.requests.map { $0.url.contains("displayName") } == [false, true, false, true])
    }

    @Test("once the member filter is proven, groups come without their member lists and its answer is the membership, also when checking a removal")
    func provenFilterWithoutMemberLists() async throws {
        let group = #"{"id":"g1","displayName":"Promotions","members":[{"value":"u1"},{"value":"u2"}]}"#
        let bare = #"{"id":"g1","displayName":"Promotions"}"#
        let transport = RecordingTransport(responses: [
            // u1 proves the filter (the member list holds u1).
            .success(.list([group])),
            // u2: asked without members; the bare group is counted, and not fetched whole.
            .success(.list([bare])),
            // After removing u2: the filter no longer finds g1.
            .success(.list([])),
            // u3: the filter still finds g1 after the removal: not verified.
            .success(.list([bare])),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.groupsContaining("u1", named: ["Promotions"]).groups.map(\.id) == ["g1"])
        let u2 = try await client.groupsContaining("u2", named: ["Promotions"])
        #expect(u2.groups.map(\.id) == ["g1"] && u2.unknown.isEmpty)
        #expect(try await client.verifyNotMember("u2", ofGroup: "g1")
            == .verified("GET /Groups?filter=members.value eq <user> (a filter this target was seen to evaluate) no longer finds group g1"))
        #expect(try await client.verifyNotMember("u3", ofGroup: "g1") == .notVerified("GET /Groups?filter=members.value eq <user> still finds group g1"))
        let urls = transport.requests.map(\.url)
        #expect(urls.count == 4)
        #expect(!urls[0].contains("excludedAttributes"))
        #expect(urls.dropFirst().allSatisfy { $0.contains("/Groups?filter=members.value") && $0.contains("&excludedAttributes=members") }, "\(urls)")
    }

    @Test("a server that cannot filter groups by member falls back to the named groups")
    func groupFallback() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(400, ClientFixtures.error("400", "unsupported", scimType: "invalidFilter"))),
            .success(.list([#"{"id":"g2","displayName":"Newsletter","members":[{"value":"u1"}]}"#])),
        ])
        let groups = try await ClientFixtures.client(transport).groupsContaining("u1", named: ["Newsletter"])
        #expect(groups.groups.map(\.id) == ["g2"] && groups.unknown.isEmpty)
    }

    @Test("a named group that shows no members, on a server that cannot filter by member, is neither in nor out")
    func membershipUnknown() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(501, ClientFixtures.error("501", "not implemented"))),
            .success(.list([#"{"id":"g2","displayName":"newsletter"}"#])),
            .success(.scim(200, #"{"id":"g2","displayName":"newsletter"}"#)),
        ])
        let found = try await ClientFixtures.client(transport).groupsContaining("u1", named: ["Newsletter"])
        #expect(found.groups.isEmpty)
        #expect(found.unknown == ["Newsletter"])
        #expect(transport.requests[2].url.hasSuffix("/Groups/g2?attributes=members,displayName"))
    }

    @Test("a group the member filter finds but whose members are hidden is left, and checked by the filter again")
    func hiddenMembersFoundByFilter() async throws {
        let transport = RecordingTransport(responses: [
            .success(.list([#"{"id":"g1","displayName":"Promotions"}"#])),
            .success(.scim(200, #"{"id":"g1","displayName":"Promotions"}"#)),
            // verifyNotMember: the group still shows no members; the filter no longer finds it.
            .success(.scim(200, #"{"id":"g1","displayName":"Promotions"}"#)),
            .success(.list([])),
            // And once more, while the filter still finds it.
            .success(.scim(200, #"{"id":"g1","displayName":"Promotions"}"#)),
            .success(.list([#"{"id":"g1","displayName":"Promotions"}"#])),
        ])
        let client = try ClientFixtures.client(transport)
        let found = try await client.groupsContaining("u1", named: [])
        #expect(found.groups.map(\.id) == ["g1"])
        #expect(try await client.verifyNotMember("u1", ofGroup: "g1").isVerified)
        let still = try await client.verifyNotMember("u1", ofGroup: "g1")
        #expect(!still.isVerified)
        #expect(still.description.contains("still finds group g1"))
    }

    @Test("a removal the server can show neither way is unverifiable, not verified")
    func removalUnverifiable() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(200, #"{"id":"g1","displayName":"Promotions"}"#)),
            .success(.scim(400, ClientFixtures.error("400", "unsupported", scimType: "invalidFilter"))),
        ])
        let result = try await ClientFixtures.client(transport).verifyNotMember("u1", ofGroup: "g1")
        guard case .unverifiable(let why) = result else {
            Issue.record("expected unverifiable, got \(result)")
            return
        }
        #expect(why.contains("cannot be established"))
    }

    @Test("without PATCH (501), the change is made with PUT of the resource as read: exactly the planned paths, no read-only attributes, If-Match, once more after 412")
    func putFallback() async throws {
        let stored = #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ana@example.com",
             "name":{"givenName":"Ana","familyName":"Lima"},"emails":[{"value":"ana@example.com","primary":true}],
             "addresses":[{"streetAddress":"Rua 1","type":"home"}],"groups":[{"value":"g1"}],"meta":{"version":"W/\"1\""}}
            """#
        let transport = RecordingTransport(responses: [
            .success(.scim(501, ClientFixtures.error("501", "PATCH is not implemented"))),
            .success(.scim(200, stored)),
            .success(.scim(404, ClientFixtures.error("404", "no schemas here"))),
            .success(.scim(412, ClientFixtures.error("412", "changed"))),
            .success(.scim(200, stored, headers: ["ETag": "W/\"2\""])),
            .success(.scim(200, stored)),
            .success(.scim(200, stored)), .success(.scim(200, stored)),
        ])
        let client = try ClientFixtures.client(transport)
        let segment = "urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment"
        try await client.patchUser("u1", [.remove("emails"), .replace("name.givenName", with: .string("[redacted]")),
                                          .replace(segment, with: .string("x"))], etag: "W/\"1\"")
        #expect(client.replacesWithPut == "PATCH unsupported (501): replaced with PUT")
        let requests = transport.requests
        #expect(requests.map { "\($0.method.rawValue)" } == ["PATCH", "GET", "GET", "PUT", "GET", "PUT"])
        #expect(requests[2].url.hasSuffix("/Schemas"), "what the server returns only on request is looked up once")
        #expect(requests[3].header("If-Match") == "W/\"1\"" && requests[5].header("If-Match") == "W/\"2\"")
        let body = try #require(JSONValue.parse(Data((requests[5].bodyText ?? "").utf8)))
        #expect(body["id"] == nil && body["meta"] == nil && body["groups"] == nil, "read-only attributes are not sent")
        #expect(body["emails"] == nil && body["name"]?["givenName"]?.stringValue == "[redacted]" && body["name"]?["familyName"]?.stringValue == "Lima")
        #expect(body["addresses"]?.arrayValue?.first?["streetAddress"]?.stringValue == "Rua 1", "everything else is sent back unchanged")
        #expect(body[segment.replacingOccurrences(of: ":marketingSegment", with: "")]?["marketingSegment"]?.stringValue == "x")
        #expect(body["schemas"]?.arrayValue?.count == 2, "the extension is named in schemas")
        // Remembered: the next change goes straight to PUT.
        try await client.patchUser("u1", [.remove("locale")], etag: nil)
        #expect(transport.requests.dropFirst(6).map(\.method) == [.get, .put])
    }
}
