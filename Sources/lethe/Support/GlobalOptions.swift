import ArgumentParser
import Foundation

/// Where the policies and the state directory are.
protocol Locations {
    var policies: String? { get }
    var state: String? { get }
}

extension Locations {
    /// The policy directory: the flag, else LETHE_POLICIES, else `policies`.
    var policyDirectory: String {
        policies ?? ProcessInfo.processInfo.environment["LETHE_POLICIES"].flatMap { $0.isEmpty ? nil : $0 } ?? "policies"
    }

    /// The state directory: the flag, else LETHE_STATE, else `.lethe`.
    var stateDirectory: String {
        state ?? ProcessInfo.processInfo.environment["LETHE_STATE"].flatMap { $0.isEmpty ? nil : $0 } ?? ".lethe"
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments, Locations {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of target policies (*.yaml). Env: LETHE_POLICIES.", valueName: "dir"))
    var policies: String?

    @Option(name: [.customLong("state"), .customLong("state-dir")], help: ArgumentHelp(
        "Lethe's state directory (database, keys). Env: LETHE_STATE.", valueName: "dir"))
    var state: String?
}

/// The global options of `lethe status`, whose own `--state` filters by request state.
struct StatusGlobalOptions: ParsableArguments, Locations {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of target policies (*.yaml). Env: LETHE_POLICIES.", valueName: "dir"))
    var policies: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "Lethe's state directory (database, keys). Env: LETHE_STATE.", valueName: "dir"))
    var state: String?
}

/// Exit statuses, after sysexits(3) where one fits.
enum ExitStatus {
    /// The command was used wrongly.
    static let usage = ExitCode(64)
    /// The input (policies, request, ledger) is invalid.
    static let dataError = ExitCode(65)
    /// Try again later (timeout, lock held).
    static let tempFail = ExitCode(75)
}
