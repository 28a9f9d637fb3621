import Foundation
import LetheSandbox

/// The four reference targets in an in-process sandbox, and the environment that points the
/// reference policies (`policies/`) at them: for CLI tests that need no third-party peer.
public struct SandboxTargets: Sendable {
    public let sandbox: Sandbox
    public let server: SandboxServer
    /// The rules that make the sandbox lie (with `start(hostile: true)`).
    public var hostile: HostileSCIM?
    public let token = "tok"

    public static let names = ["shop", "app", "newsletter", "crm"]

    public static func start(faults: String = "", customers: Int = 4, randomSeed: UInt64 = 3, hostile: Bool = false) async throws -> SandboxTargets {
        let sandbox = Sandbox(Sandbox.Configuration(targets: names, token: "tok", seedCustomers: customers, randomSeed: randomSeed,
                                                    faults: try FaultSpec.parse(faults, targets: names)))
        guard hostile else { return SandboxTargets(sandbox: sandbox, server: try await SandboxServer.start(sandbox)) }
        let liar = HostileSCIM(sandbox)
        return SandboxTargets(sandbox: sandbox, server: try await SandboxServer.start(handler: liar, sandbox: sandbox), hostile: liar)
    }

    /// LETHE_*_URL and LETHE_*_TOKEN for every target, the state directory and the reference policies.
    public func environment(stateDir: URL) -> [String: String] {
        var env = ["LETHE_STATE_DIR": stateDir.path, "LETHE_POLICIES": Repository.path("policies").path]
        for target in Self.names {
            env["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            env["LETHE_\(target.uppercased())_TOKEN"] = token
        }
        return env
    }

    public func stop() async { await server.stop() }
}
