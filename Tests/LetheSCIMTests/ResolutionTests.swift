import Foundation
import LetheCore
import LetheSCIM
import LetheTesting
import Testing

@Suite("Finding the subject")
struct ResolutionTests {
    @Test("0 results is absent, 1 is found, more is ambiguous")
    func counts() async throws {
        let transport = RecordingTransport(responses: [
            .success(.list([])),
            .success(.list([ClientFixtures.user("u1")])),
            .success(.list([ClientFixtures.user("u1"), ClientFixtures.user("u2")])),
        ])
        let client = try ClientFixtures.client(transport)
        #expect(try await client.resolve(.email, "ana@example.com") == .absent)
        guard case .found(let user) = try await client.resolve(.email, "ana@example.com") else { Issue.record("not found"); return }
        #expect(user.id == "u1" && user.etag == "W/\"1\"")
        #expect(try await client.resolve(.email, "ana@example.com") == .ambiguous(ids: ["u1", "u2"]))
    }

    @Test("pagination is followed until a second match shows up")
    func pagination() async throws {
        let transport = RecordingTransport(responses: [
            .success(.list([ClientFixtures.user("u1")], total: 2)),
            .success(.list([ClientFixtures.user("u2")], total: 2, startIndex: 2)),
        ])
        let client = try ClientFixtures.client(transport, pageSize: 1)
        #expect(try await client.resolve(.email, "ana@example.com") == .ambiguous(ids: ["u1", "u2"]))
        #expect(transport.requests.map(\.url).last?.hasSuffix("&startIndex=2&count=1") == true)
    }

    @Test("matching compares as the schema says: emails and userName ignore case, externalId does not")
    func caseRules() async throws {
        let transport = RecordingTransport(responses: [
            .success(.list([ClientFixtures.user("u1", email: "Ana@Example.COM")])),
            .success(.list([ClientFixtures.user("u1", extra: #","externalId":"C-1""#)])),
        ])
        let client = try ClientFixtures.client(transport)
        guard case .found = try await client.resolve(.email, "ana@example.com") else { Issue.record("case-insensitive email"); return }
        await #expect(throws: SCIMClientError.self) { try await client.resolve(.externalId, "c-1") }
    }

    @Test("a server that ignores the filter is never trusted: no user is returned as found")
    func ignoredFilter() async throws {
        let transport = RecordingTransport(responses: [.success(.list([ClientFixtures.user("someone-else", email: "bob@example.com")]))])
        let client = try ClientFixtures.client(transport)
        do {
            _ = try await client.resolve(.email, "ana@example.com")
            Issue.record("a non-matching user was accepted")
        } catch {
            #expect(error.kind == .protocolViolation)
            #expect(!error.isTransient)
            #expect(error.description.contains("may ignore filters"))
            #expect(!error.description.contains("ana@example.com") && !error.description.contains("bob@example.com"))
        }
    }
}
