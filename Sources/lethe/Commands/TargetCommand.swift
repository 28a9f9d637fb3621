import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSCIM

/// `lethe target ...`
struct TargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "target",
        abstract: "Check connected systems and look subjects up in them. Writes nothing.",
        subcommands: [TargetCheckCommand.self, TargetFindCommand.self]
    )
}

/// `lethe target check`: is each target reachable and usable?
struct TargetCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Connect to each target, authenticate, and probe what Lethe needs with harmless queries.",
        discussion: """
            Run this before trusting a target. For each one it reads /ServiceProviderConfig \
            (PATCH, filter and ETag support), then tests what matters instead of trusting it: \
            a filter for a userName nobody has and one for an externalId nobody has must each \
            answer a well-formed empty list (a server that ignores filters is refused). Where \
            the configuration and the probes disagree, it warns ("advertises filter \
            unsupported, but filtering works"). A target is NOT USABLE only when what Lethe \
            needs does not work. A target without PATCH is usable: changes are made with PUT \
            (connection.update). Nothing is written.

            Exit status: 0 when every checked target is reachable and usable, 1 otherwise, \
            65 when the policies are invalid.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Targets to check (default: all).")
    var targets: [String] = []

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        let policies = try loadPolicies(global)
        let chosen = try select(targets, from: policies)
        let checks = try await Runtime.with(Runtime.Configuration(policies: policies)) { runtime in
            let clients = try runtime.clients
            return await withTaskGroup(of: TargetCheck.self) { group in
                for policy in chosen { group.addTask { await TargetCheck.run(policy, clients: clients) } }
                var all: [TargetCheck] = []
                for await check in group { all.append(check) }
                return all.sorted { $0.target < $1.target }
            }
        }
        if json {
            try Output.json(checks)
        } else {
            for check in checks {
                let verdict = check.usable ? "usable" : check.reachable ? "NOT USABLE" : "UNREACHABLE"
                var line = "\(check.target.padding(12)) \(verdict.padding(12)) \(check.baseURL)"
                if check.reachable {
                    line += "  filter \(mark(check.filterQueryWorks)) updates \(check.updates)"
                    if let caps = check.capabilities { line += " etag \(mark(caps.etag))" }
                }
                line += "  (\(check.milliseconds) ms)"
                Output.line(line)
                for problem in check.problems { Output.line("    \(problem)") }
                for warning in check.warnings { Output.line("    warning: \(warning)") }
            }
        }
        if checks.contains(where: { !$0.usable }) { throw ExitCode.failure }
    }

    private func mark(_ ok: Bool) -> String { ok ? "yes" : "no" }
}

/// `lethe target find`: how many accounts match an identifier in one target.
struct TargetFindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Look a subject up in one target and print how many accounts match and their SCIM ids.",
        discussion: """
            Examples:
              lethe target find crm --email ana@example.com
              lethe target find app --external-id C-1042 --json

            Only SCIM ids are printed, never other attributes. For --email it says whether the \
            address is the account's only, primary or a secondary e-mail. Exit status: 0 exactly \
            one match Lethe would act on, 1 none, 2 ambiguous or a secondary e-mail (Lethe would \
            not act), 69 the target could not be asked, 65 invalid policies.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The target to search.")
    var target: String

    @Option(help: ArgumentHelp("Find by emails.value.", valueName: "address"))
    var email: String?

    @Option(name: .customLong("external-id"), help: ArgumentHelp("Find by externalId.", valueName: "id"))
    var externalId: String?

    @Option(name: .customLong("user-name"), help: ArgumentHelp("Find by userName.", valueName: "name"))
    var userName: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        let given = [email, externalId, userName].compactMap { $0 }
        guard given.count == 1, let value = given.first, !value.isEmpty else {
            throw ValidationError("give exactly one of --email, --external-id, --user-name")
        }
        if let email, !IdentifierSyntax.isPlausibleEmail(email) {
            throw ValidationError("--email is not an e-mail address (expected local@domain)")
        }
    }

    func run() async throws {
        let policies = try loadPolicies(global)
        guard let policy = try select([target], from: policies).first else { return }
        let (attribute, value): (MatchAttribute, String) =
            if let email { (.email, email) } else if let externalId { (.externalId, externalId) } else { (.userName, userName ?? "") }
        let resolution: SCIMClient.Resolution
        do {
            resolution = try await Runtime.with(Runtime.Configuration(policies: policies)) { runtime in
                try await runtime.clients.client(for: policy.target).resolve(attribute, value)
            }
        } catch {
            Output.error("lethe target find: \(error)")
            throw ExitStatus.unavailable
        }
        let ids: [String]
        var kind: SCIMResource.EmailMatch?
        switch resolution {
        case .absent: ids = []
        case .found(let user):
            ids = [user.id]
            if let email { kind = user.emailMatch(email) }
        case .ambiguous(let all): ids = all
        }
        if json {
            try Output.json(FindResult(target: policy.target, attribute: attribute.rawValue, matches: ids.count, ids: ids,
                                       ambiguous: ids.count > 1, match: kind?.rawValue))
        } else {
            let noun = ids.count == 1 ? "account matches" : "accounts match"
            Output.line("\(policy.target): \(ids.count) \(noun) by \(attribute.rawValue)" + (ids.isEmpty ? "" : ": " + ids.joined(separator: ", "))
                + (kind.map { " (the address is its \($0 == .only ? "only" : $0 == .primary ? "primary" : "secondary") e-mail)" } ?? ""))
            if ids.count > 1 { Output.line("ambiguous: Lethe will not write to any of them; a person must decide which is the subject") }
            if kind == .secondary {
                Output.line("a secondary e-mail is not an identity: Lethe will not act on this account (needs_review)")
            }
        }
        if kind == .secondary { throw ExitCode(2) }  // like ambiguous: a person must decide
        switch ids.count {
        case 1: return
        case 0: throw ExitCode.failure
        default: throw ExitCode(2)  // documented: ambiguous
        }
    }

    private struct FindResult: Encodable {
        var target: String
        var attribute: String
        var matches: Int
        var ids: [String]
        var ambiguous: Bool
        /// For --email: only, primary or secondary (Lethe acts on only and primary).
        var match: String?
    }
}

/// Loads the policies or exits 65 with every diagnostic.
func loadPolicies(_ global: some Locations) throws -> PolicySet {
    switch PolicyDirectory.load(global.policyDirectory) {
    case .success(let set): return set
    case .failure(let error):
        Output.error(error.description)
        throw ExitStatus.dataError
    }
}

/// The named targets (all when none are named), or a usage error naming the known ones.
func select(_ names: [String], from policies: PolicySet) throws -> [TargetPolicy] {
    if names.isEmpty { return policies.policies }
    return try names.map { name in
        guard let policy = policies[name] else {
            let hint = Suggest.closest(to: name, in: policies.targetNames).map { " Did you mean '\($0)'?" } ?? ""
            Output.error("lethe: no target named '\(name)' (targets: \(policies.targetNames.joined(separator: ", "))).\(hint)")
            throw ExitStatus.usage
        }
        return policy
    }
}
