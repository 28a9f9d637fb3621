import Foundation
import LetheApp
import LetheCore
import LetheTesting
import Testing

@Suite("lethe target check and find against scim2-server", .enabled(if: SCIM2ServerPeer.shouldRun))
struct TargetCommandTests {
    static let root = Repository.root
    let peer: SCIM2ServerPeer
    let tenants: [String: SCIMTenant]

    init() throws {
        let peer = try SCIM2ServerPeer.running()
        self.peer = peer
        tenants = Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) })
    }

    /// The example policies pointed at fresh tenants, with the peer's token.
    func lethe(token: String? = nil, overrides: [String: String] = [:]) -> CommandRunner {
        var env: [String: String] = [:]
        for (target, tenant) in tenants {
            env["LETHE_\(target.uppercased())_URL"] = tenant.baseURL
            env["LETHE_\(target.uppercased())_TOKEN"] = token ?? peer.token
        }
        return CommandRunner(environment: env.merging(overrides) { _, new in new }, workingDirectory: Self.root)
    }

    @Test("all four example targets are usable when their URLs point at scim2-server tenants")
    func allUsable() async throws {
        let result = try await lethe().run(["target", "check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for target in ["shop", "app", "newsletter", "crm"] {
            #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix(target) && $0.contains(" usable ") })
        }
        let json = try await lethe().run(["target", "check", "--json", "crm"])
        let checks = try json.decode([TargetCheck].self)
        #expect(checks.count == 1 && checks[0].usable && checks[0].filterQueryWorks)
    }

    @Test("a wrong token is a clear failure that never prints the token")
    func wrongToken() async throws {
        let result = try await lethe(token: "not-the-token").run(["target", "check", "shop"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("401"))
        #expect(result.stdout.contains("check the credentials"))
        #expect(!result.stdout.contains("not-the-token") && !result.stderr.contains("not-the-token"))
    }

    @Test("a closed port is reported unreachable; the other targets are still checked")
    func closedPort() async throws {
        let result = try await lethe(overrides: ["LETHE_CRM_URL": "http://127.0.0.1:9/v2"]).run(["target", "check"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("crm") && $0.contains("UNREACHABLE") })
        #expect(lines.contains { $0.hasPrefix("shop") && $0.contains("usable") })
        #expect(result.stdout.contains("connection refused"))
    }

    @Test("an unset token names the variable")
    func unsetToken() async throws {
        var runner = lethe()
        runner.environment["LETHE_APP_TOKEN"] = nil
        let result = try await runner.run(["target", "check", "app"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("LETHE_APP_TOKEN is not set"))
    }

    @Test("target find: 0 exits 1, 1 exits 0 with the id only, 2 exits 2")
    func find() async throws {
        let crm = try #require(tenants["crm"])
        let id = try await crm.createUser(userName: "ana", email: "ana@example.com", externalId: "C-1")
        _ = try await crm.createUser(userName: "twin1", email: "twin@example.com")
        _ = try await crm.createUser(userName: "twin2", email: "twin@example.com")

        let one = try await lethe().run(["target", "find", "crm", "--email", "ana@example.com"])
        #expect(one.status == 0)
        #expect(one.stdout.contains(id))
        #expect(one.stdout.contains("(the address is its only e-mail)") || one.stdout.contains("(the address is its primary e-mail)"), "\(one.stdout)")
        #expect(!one.stdout.contains("ana@example.com") && !one.stdout.contains("Silva"))

        let json = try await lethe().run(["target", "find", "crm", "--external-id", "C-1", "--json"])
        let found = try json.decode(CLIJSON.Find.self)
        #expect(found.matches == 1 && found.ids == [id])

        #expect(try await lethe().run(["target", "find", "crm", "--email", "nobody@example.com"]).status == 1)
        let twins = try await lethe().run(["target", "find", "crm", "--email", "twin@example.com"])
        #expect(twins.status == 2)
        #expect(twins.stdout.contains("ambiguous"))
        #expect(try await lethe().run(["target", "find", "crm"]).status == 64)
        #expect(try await lethe().run(["target", "find", "crmm", "--email", "a@x.org"]).stderr.contains("Did you mean 'crm'?"))
    }
}
