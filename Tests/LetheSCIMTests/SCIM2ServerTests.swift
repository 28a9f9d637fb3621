import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import LetheTesting
import Testing

/// The client against scim2-server, a SCIM implementation nobody on the team wrote.
/// Fixtures are created and results checked over raw HTTP, not through the client.
@Suite("Against scim2-server", .enabled(if: SCIM2ServerPeer.shouldRun))
struct SCIM2ServerTests {
    let peer: SCIM2ServerPeer
    let tenant: SCIMTenant
    let transport: RecordingTransport
    /// One client for the whole suite, never shut down: a test that fails half-way must not
    /// leave an HTTP client whose deinit would crash the whole run (statics are never deinited).
    static let sharedLive = AsyncHTTPClientTransport()
    var live: AsyncHTTPClientTransport { Self.sharedLive }
    let client: SCIMClient

    init() throws {
        peer = try SCIM2ServerPeer.running()
        tenant = peer.newTenant("client")
        transport = RecordingTransport(wrapping: Self.sharedLive)
        client = try Self.client(for: tenant, token: peer.token, transport: transport)
    }

    static func client(for tenant: SCIMTenant, token: String, transport: any HTTPTransport) throws -> SCIMClient {
        let policy = TargetPolicy(
            target: "peer", description: "", connection: Connection(baseURL: tenant.baseURL, auth: .bearer(tokenEnv: "PEER_TOKEN")),
            match: [.email], shares: [], erasure: ErasureRule(action: .delete), sourceFile: "peer.yaml")
        return try SCIMClient(policy: policy, environment: ["PEER_TOKEN": token], transport: transport)
    }

    /// Nothing to close: the suite's client is shared (see `sharedLive`).
    func done() async {}

    @Test("resolves by userName, emails.value and externalId")
    func resolveByEachAttribute() async throws {
        let id = try await tenant.createUser(userName: "ana.silva", email: "ana@example.com", externalId: "C-1042")
        _ = try await tenant.createUser(userName: "bob", email: "bob@example.com", externalId: "C-7")
        for (attribute, value) in [(MatchAttribute.userName, "ana.silva"), (.email, "ana@example.com"), (.externalId, "C-1042")] {
            guard case .found(let user) = try await client.resolve(attribute, value) else {
                Issue.record("\(attribute) did not find the user")
                continue
            }
            #expect(user.id == id)
        }
        #expect(try await client.resolve(.email, "nobody@example.com") == .absent)
        await done()
    }

    @Test("hostile values stay literal: they find their own user or nobody, never another")
    func hostileValues() async throws {
        let victim = try await tenant.createUser(userName: "victim", email: "victim@x.org")
        let quote = try await tenant.createUser(userName: "quote", email: "a\"b@x.org")
        let slash = try await tenant.createUser(userName: "slash", email: "back\\slash@x.org")
        let accent = try await tenant.createUser(userName: "zoe", email: "zoë.müller@exämple.de")
        #expect(try await client.resolve(.email, "x\" or userName pr \"@x.org") == .absent)
        #expect(try await client.resolve(.userName, "x\" or userName pr \"") == .absent)
        for (value, id) in [("a\"b@x.org", quote), ("back\\slash@x.org", slash), ("zoë.müller@exämple.de", accent), ("victim@x.org", victim)] {
            guard case .found(let user) = try await client.resolve(.email, value) else {
                Issue.record("\(value) not found")
                continue
            }
            #expect(user.id == id, "\(value)")
        }
        await done()
    }

    @Test("two accounts with the same e-mail are ambiguous")
    func ambiguous() async throws {
        let a = try await tenant.createUser(userName: "ana1", email: "shared@example.com")
        let b = try await tenant.createUser(userName: "ana2", email: "shared@example.com")
        guard case .ambiguous(let ids) = try await client.resolve(.email, "shared@example.com") else {
            Issue.record("not reported as ambiguous")
            return
        }
        #expect(Set(ids) == [a, b])
        await done()
    }

    @Test("DELETE takes effect and verifies; a second DELETE is already gone")
    func deleteAndVerify() async throws {
        let id = try await tenant.createUser(userName: "del", email: "del@example.com")
        #expect(try await client.deleteUser(id) == .deleted)
        #expect(try await client.verifyDeleted(id).isVerified)
        #expect(try await client.deleteUser(id) == .alreadyGone)
        #expect(try await tenant.user(id) == nil)
        await done()
    }

    @Test("PATCH on core, sub-attribute, value-filter and extension paths takes effect and verifies")
    func patchAndVerify() async throws {
        let id = try await tenant.createUser(userName: "pat", email: "pat@example.com", locale: "pt-PT", marketingSegment: "gold")
        let user = try #require(try await client.getUser(id))
        let segment = "\(SCIMSchemas.gdprUser):marketingSegment"
        try await client.patchUser(id, [
            .replace("name.givenName", with: .string("[redacted]")),
            .replace("emails[type eq \"work\"].value", with: .string("erased@erased.invalid")),
            .remove("locale"),
            .remove(segment),
        ], etag: user.etag)
        let verification = try await client.verifyAttributes(id, [
            AttributeExpectation(path: AttributePath(name: "name", subAttribute: "givenName"), expected: .equals(.string("[redacted]"))),
            AttributeExpectation(path: AttributePath(name: "emails", subAttribute: "value"), expected: .equals(.string("erased@erased.invalid"))),
            AttributeExpectation(path: AttributePath(name: "locale"), expected: .absent),
            AttributeExpectation(path: AttributePath(schema: SCIMSchemas.gdprUser, name: "marketingSegment"), expected: .absent),
        ])
        #expect(verification.isVerified, "\(verification)")
        // Checked again over raw HTTP.
        let raw = try #require(try await tenant.user(id))
        #expect(raw["name"]?["givenName"]?.stringValue == "[redacted]")
        #expect(raw["emails"]?.arrayValue?.first?["value"]?.stringValue == "erased@erased.invalid")
        #expect(raw["locale"] == nil)
        #expect(raw[SCIMSchemas.gdprUser]?["marketingSegment"] == nil)
        #expect(raw["userName"]?.stringValue == "pat", "untouched attributes stay")
        await done()
    }

    @Test("If-Match carries the ETag, and a stale ETag is re-read and retried")
    func etags() async throws {
        let id = try await tenant.createUser(userName: "etag", email: "etag@example.com")
        let user = try #require(try await client.getUser(id))
        #expect(user.etag == "W/\"1\"")
        try await client.patchUser(id, [.replace("locale", with: .string("de-DE"))], etag: user.etag)
        #expect(transport.requests.last?.header("If-Match") == "W/\"1\"")
        // The server is now at version 2; an update with the old ETag gets 412, then succeeds.
        try await client.patchUser(id, [.replace("locale", with: .string("fr-FR"))], etag: "W/\"1\"")
        let last = transport.requests.suffix(3)
        #expect(last.map(\.method) == [.patch, .get, .patch])
        #expect(last.last?.header("If-Match") == "W/\"2\"")
        #expect(try await tenant.user(id)?["locale"]?.stringValue == "fr-FR")
        await done()
    }

    @Test("group membership is removed and verified, although the server keeps deleted users as members")
    func groups() async throws {
        let ana = try await tenant.createUser(userName: "ana", email: "ana@example.com")
        let bob = try await tenant.createUser(userName: "bob", email: "bob@example.com")
        let promotions = try await tenant.createGroup("Promotions", members: [ana, bob])
        let newsletter = try await tenant.createGroup("Newsletter", members: [ana])
        _ = try await tenant.createGroup("Staff", members: [bob])
        // Deleting the user leaves it listed as a member.
        #expect(try await client.deleteUser(ana) == .deleted)
        #expect(try await tenant.members(ofGroup: promotions).contains(ana))

        let groups = try await client.groupsContaining(ana, named: ["Promotions", "Newsletter"])
        #expect(Set(groups.groups.map(\.id)) == [promotions, newsletter])
        #expect(groups.unknown.isEmpty)
        for group in groups.groups {
            try await client.removeMember(ana, fromGroup: group.id)
            #expect(try await client.verifyNotMember(ana, ofGroup: group.id).isVerified)
        }
        #expect(try await tenant.members(ofGroup: promotions) == [bob], "only the subject left")
        #expect(try await tenant.members(ofGroup: newsletter).isEmpty)
        await done()
    }

    @Test("a wrong token gets a permanent 401")
    func wrongToken() async throws {
        let bad = try Self.client(for: tenant, token: "wrong-token", transport: live)
        do {
            _ = try await bad.resolve(.email, "ana@example.com")
            Issue.record("accepted a wrong token")
        } catch {
            #expect(error.status == 401)
            #expect(!error.isTransient)
            #expect(!error.description.contains("wrong-token"))
        }
        await done()
    }

    @Test("the service provider config is read")
    func capabilities() async throws {
        let caps = try await client.serviceProviderConfig()
        #expect(caps.patch && caps.filter && caps.etag)
        await done()
    }
}
