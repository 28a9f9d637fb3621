import Foundation
import LetheApp
import LetheCore
import LetheTesting
import Testing

/// `lethe target check` tests what Lethe needs instead of trusting `/ServiceProviderConfig`:
/// real servers misreport their capabilities.
@Suite("lethe target check probes over advertisements")
struct TargetProbeCLITests {
    /// A server whose configuration says filtering and PATCH are unsupported.
    static func understating(_ targets: SandboxTargets) {
        targets.hostile?.rewrite { request, json in
            guard request.target == "crm", request.path == "/ServiceProviderConfig", case .object(var config) = json else { return nil }
            config["filter"] = .object(["supported": .bool(false), "maxResults": .number(0)])
            config["patch"] = .object(["supported": .bool(false)])
            return .object(config)
        }
    }

    @Test("a target that filters correctly but advertises otherwise passes, with the warning; without PATCH it will be changed with PUT")
    func understated() async throws {
        let targets = try await SandboxTargets.start(hostile: true)
        Self.understating(targets)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: targets.environment(stateDir: scratch), workingDirectory: Repository.root)
        let result = try await lethe.run(["target", "check", "crm"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("crm") && result.stdout.contains(" usable "), "\(result.stdout)")
        #expect(result.stdout.contains("warning: advertises filter unsupported, but filtering works"), "\(result.stdout)")
        #expect(result.stdout.contains("changes will be made with PUT") && result.stdout.contains("updates put"), "\(result.stdout)")
        let json = try await lethe.run(["target", "check", "crm", "--json"]).decode([TargetCheck].self)
        #expect(json.first?.filterQueryWorks == true && json.first?.externalIdFilterWorks == true && json.first?.updates == "put")
        await targets.stop()
    }

    @Test("a target that ignores filters is NOT USABLE, whatever it advertises")
    func ignoresFilters() async throws {
        let targets = try await SandboxTargets.start(hostile: true)
        // Every filtered list answers with the first user, as a server ignoring filters would.
        targets.hostile?.add { request, sandbox in
            guard request.target == "crm", request.path == "/Users", request.query.contains("filter=") else { return nil }
            return HostileSCIM.list(totalResults: .number(1), resources: .array(Array(sandbox.users(in: "crm").prefix(1))))
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: targets.environment(stateDir: scratch), workingDirectory: Repository.root)
        let result = try await lethe.run(["target", "check", "crm"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("NOT USABLE") && result.stdout.contains("ignore filters"), "\(result.stdout)")
        #expect(!result.stdout.contains("@example"), "no user's address in the output")
        await targets.stop()
    }
}
