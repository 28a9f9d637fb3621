import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStore

/// `lethe retry`
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put failed and needs_review actions of a request back to pending, with a fresh retry budget.",
        discussion: """
            Examples:
              lethe retry req-3f2a9c1b7d4e                  every failed or needs_review action
              lethe retry req-3f2a9c1b7d4e --target crm
              lethe retry req-3f2a9c1b7d4e --email ana@example.com

            Identifiers are purged when a request ends; give them again to retry it. They must \
            belong to the request's subject (checked against its pseudonym). Actions planned as \
            needs_review for a missing identifier are planned again with the ones given.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("Only this target.", valueName: "target"))
    var target: String?

    @OptionGroup var subject: SubjectOptions

    func run() async throws {
        let context = try AppContext.open(global)
        let request = try context.request(id)
        let intake = Intake(database: context.database, policies: context.policies, pseudonymizer: context.pseudonymizer)
        do {
            let given = subject.identifiers
            let targets = try intake.retry(request, target: target, identifiers: given.isEmpty ? nil : given, now: Date())
            Output.line("\(request.id): \(targets.joined(separator: ", ")) back to pending. Run `lethe run --until-idle`.")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe cancel`
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel an open request; its unfinished actions are not carried out.",
        discussion: "What was already done in a target stays done. The reason goes to the audit log: no personal data in it."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("Why (recorded in the audit log).", valueName: "text"))
    var reason = "cancelled by operator"

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        do {
            let cancelled = try context.database.cancel(request.id, reason: reason, now: Date())
            Output.line("\(cancelled.id): \(cancelled.state.rawValue)")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe extend`
struct ExtendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extend",
        abstract: "Extend a request's due date by 1 or 2 months (GDPR Art. 12(3): at most 2 in all).",
        discussion: "The subject must be told why within the first month; the reason is recorded in the audit log."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: "1 or 2.")
    var months: Int

    @Option(help: ArgumentHelp("Why the extension is necessary (recorded in the audit log).", valueName: "text"))
    var reason: String

    func validate() throws {
        guard months == 1 || months == 2 else { throw ValidationError("--months must be 1 or 2") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        do {
            let extended = try context.database.extend(request.id, months: months, reason: reason, now: Date())
            Output.line("\(extended.id): due \(extended.due) (extended \(extended.extendedMonths) month\(extended.extendedMonths == 1 ? "" : "s") in all)")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe audit ...`
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Work with the hash-chained audit log.",
        subcommands: [AuditVerifyCommand.self]
    )
}

/// `lethe audit verify`
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the audit chain and recompute every hash. Exit 0 intact, 1 broken.",
        discussion: "Each event's hash is SHA-256 over the previous hash and the event's canonical JSON, so any edit, deletion or reordering breaks the chain from that event on."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let result = try context.database.verifyAuditChain()
        if json {
            try Output.json(ChainJSON(intact: result.problem == nil, events: result.events, headHash: result.headHash,
                                      lastSeq: result.lastSeq, problem: result.problem))
        } else if let problem = result.problem {
            Output.line("audit chain BROKEN: \(problem)")
        } else {
            Output.line("audit chain intact: \(result.events) events, head \(result.headHash)")
        }
        if result.problem != nil { throw ExitCode.failure }
    }
}

private struct ChainJSON: Encodable {
    var intact: Bool
    var events: Int
    var headHash: String
    var lastSeq: Int64?
    var problem: String?

    enum CodingKeys: String, CodingKey {
        case intact, events, problem
        case headHash = "head_hash"
        case lastSeq = "last_seq"
    }
}
