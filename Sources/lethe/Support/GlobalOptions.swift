import ArgumentParser
import Foundation

/// Where the policies and the state directory are.
protocol Locations {
    var policies: String? { get }
    var stateDir: String? { get }
}

extension Locations {
    /// The policy directory: the flag, else LETHE_POLICIES, else `policies`.
    var policyDirectory: String {
        policies ?? Self.environment("LETHE_POLICIES") ?? "policies"
    }

    /// The state directory: `--state-dir`, else LETHE_STATE_DIR, else LETHE_STATE (its older
    /// name), else `.lethe`.
    var stateDirectory: String {
        stateDir ?? Self.environment("LETHE_STATE_DIR") ?? Self.environment("LETHE_STATE") ?? ".lethe"
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments, Locations {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of target policies (*.yaml). Env: LETHE_POLICIES.", valueName: "dir"))
    var policies: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "Lethe's state directory (database, keys). Env: LETHE_STATE_DIR (or LETHE_STATE, its older name).", valueName: "dir"))
    var stateDir: String?
}
