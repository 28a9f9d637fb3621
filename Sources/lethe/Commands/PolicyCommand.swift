import ArgumentParser
import LetheApp
import LetheCore

/// `lethe policy ...`
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with the attribute-sharing policies.",
        subcommands: [PolicyCheck.self]
    )
}

/// `lethe policy check`: validate every policy, change nothing.
struct PolicyCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the policies and report every problem with FILE:LINE:COL.",
        discussion: """
            Checks every *.yaml in the policy directory: unknown keys, purposes, bases and \
            strategies; malformed durations, rates and attribute paths; duplicate targets; \
            'remove' on a required attribute; ${VAR} with no value and no default. \
            Pseudonymisation and unset secrets are warnings.

            Exit status: 0 valid (warnings allowed), 65 invalid. Nothing is changed.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        let directory = global.policyDirectory
        switch PolicyDirectory.load(directory) {
        case .success(let set):
            if json {
                try Output.json(CheckReport(valid: true, directory: directory, targets: set.policies.map(TargetSummary.init), diagnostics: set.warnings))
            } else {
                for warning in set.warnings { Output.error(warning.description) }
                Output.line("\(directory): \(set.policies.count) target polic\(set.policies.count == 1 ? "y" : "ies") valid"
                    + (set.warnings.isEmpty ? "" : " (\(set.warnings.count) warning\(set.warnings.count == 1 ? "" : "s"))"))
                for policy in set.policies {
                    let purposes = policy.shares.map { "\($0.purpose) (\($0.basis.rawValue))" }.joined(separator: ", ")
                    Output.line("  \(policy.target.padding(12)) erasure: \(policy.erasure.action.rawValue.padding(10)) shares: \(purposes)")
                }
                let settings = set.settings
                let approval = switch settings.approval {
                case .none: "none (requests run once filed)"
                case .erasures: "erasures wait for a second person (`lethe approve`)"
                case .all: "every request waits for a second person (`lethe approve`)"
                }
                Output.line("  approval: \(approval); grace: \(settings.grace.milliseconds == 0 ? "none" : settings.grace.description)"
                    + " (\(settings.sourceFile ?? "no \(LetheSettings.fileName): the defaults"))")
            }
        case .failure(let error):
            if json {
                try Output.json(CheckReport(valid: false, directory: directory, targets: [], diagnostics: error.diagnostics))
            } else {
                Output.error(error.description)
            }
            throw ExitStatus.dataError
        }
    }
}

private struct CheckReport: Encodable {
    var valid: Bool
    var directory: String
    var targets: [TargetSummary]
    var diagnostics: [PolicyDiagnostic]
}

private struct TargetSummary: Encodable {
    var target: String
    var file: String
    var erasure: String
    var purposes: [String]

    init(_ policy: TargetPolicy) {
        target = policy.target
        file = policy.sourceFile
        erasure = policy.erasure.action.rawValue
        purposes = policy.shares.map(\.purpose)
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
