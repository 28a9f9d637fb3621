import ArgumentParser
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of target policies (*.yaml). Env: LETHE_POLICIES.", valueName: "dir"))
    var policies: String?

    @Option(name: .long, help: ArgumentHelp(
        "Lethe's state directory (database, keys). Env: LETHE_STATE.", valueName: "dir"))
    var state: String?

    /// The policy directory: the flag, else LETHE_POLICIES, else `policies`.
    var policyDirectory: String {
        policies ?? ProcessInfo.processInfo.environment["LETHE_POLICIES"].flatMap { $0.isEmpty ? nil : $0 } ?? "policies"
    }

    /// The state directory: the flag, else LETHE_STATE, else `.lethe`.
    var stateDirectory: String {
        state ?? ProcessInfo.processInfo.environment["LETHE_STATE"].flatMap { $0.isEmpty ? nil : $0 } ?? ".lethe"
    }
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
