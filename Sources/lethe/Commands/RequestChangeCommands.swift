import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStorage

/// `lethe retry`
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put failed and needs_review actions of a request back to pending, with a fresh retry budget.",
        discussion: """
            Examples:
              lethe retry req-6b0e0e003f2a9c1b7d4e          every failed or needs_review action
              lethe retry req-6b0e0e003f2a9c1b7d4e --target crm
              lethe retry req-6b0e0e003f2a9c1b7d4e --email ana@example.com

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

    @Option(help: ArgumentHelp("Who retries (recorded; while the request awaits approval, they may not approve it).", valueName: "name"))
    var by: String?

    func validate() throws {
        if let by { try validateActor(by, flag: "--by") }
    }

    func run() async throws {
        let context = try AppContext.open(global)
        let request = try context.request(id)
        do {
            let given = subject.identifiers
            let targets = try context.runtime.intake().retry(request, target: target, identifiers: given.isEmpty ? nil : given,
                                                             by: by.map(Principal.person), now: context.now)
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

    @Option(help: ArgumentHelp("Why (recorded in the audit log; no personal data).", valueName: "text"))
    var reason = "cancelled by operator"

    @Option(help: ArgumentHelp("Who cancels (recorded in the audit log).", valueName: "name"))
    var by: String?

    func validate() throws {
        try validateText(reason, flag: "--reason", limit: FreeText.reasonLimit)
        if let by { try validateActor(by, flag: "--by") }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        do {
            let cancelled = try context.runtime.decisions().cancel(request.id, by: by.map(Principal.person), reason: reason,
                                                                   now: context.now)
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

    @Option(help: ArgumentHelp("Who extends it (recorded in the audit log).", valueName: "name"))
    var by: String?

    func validate() throws {
        guard months == 1 || months == 2 else { throw ValidationError("--months must be 1 or 2") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
        try validateText(reason, flag: "--reason", limit: FreeText.reasonLimit)
        if let by { try validateActor(by, flag: "--by") }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        do {
            let extended = try context.runtime.decisions().extend(request.id, months: months, by: by.map(Principal.person), reason: reason,
                                                                  now: context.now)
            Output.line("\(extended.id): due \(extended.due) (extended \(extended.extendedMonths) month\(extended.extendedMonths == 1 ? "" : "s") in all)")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}
