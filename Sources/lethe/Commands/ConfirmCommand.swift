import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// `lethe confirm`
struct ConfirmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Record that a person carried out a manual target's task (kind: manual).",
        discussion: """
            A target of `kind: manual` is a system Lethe cannot reach: `lethe run` hands its \
            action to a person (the policy's manual.instructions) and the request stays open, \
            counting toward its deadline, until someone confirms what they did. `lethe status \
            REQUEST` shows the task; `lethe status --overdue` lists requests whose task is past \
            its due time (manual.within).

            Examples:
              lethe confirm req-6b0e0e003f2a9c1b7d4e --target warehouse --outcome erased --by "Bo Berg"
              lethe confirm req-6b0e0e003f2a9c1b7d4e --target warehouse --outcome erased --by "Bo Berg" \\
                --note "runbook DW-7, ticket OPS-1234"
              lethe confirm req-6b0e0e003f2a9c1b7d4e --target warehouse --outcome cannot_comply --by "Bo Berg" \\
                --note "legal hold until 2027-03"

            Outcomes: erased, anonymized, not_found (the system holds nothing of the subject), \
            cannot_comply (the action fails; --note says why, and is required). The audit log, \
            status, reports and the certificate say "confirmed by a person" with the name given \
            here; never "verified", since nothing was read back. The note is kept: no personal \
            data in it. A request filed under `approval` is confirmed by someone other than its \
            filer (four eyes). A task is confirmed once.

            Exit status: 0 recorded; 64 bad arguments; 65 refused (not waiting for a \
            confirmation, confirmed already, the filer under four eyes; nothing is changed); \
            66 no such request or target.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("The manual target whose task was carried out.", valueName: "target"))
    var target: String

    @Option(help: ArgumentHelp("What was done: erased, anonymized, not_found or cannot_comply.", valueName: "outcome"))
    var outcome: String

    @Option(help: ArgumentHelp("Who carried it out or checks it (recorded as the confirmer).", valueName: "name"))
    var by: String

    @Option(help: ArgumentHelp("Evidence: a ticket, a runbook step; for cannot_comply, why (no personal data).", valueName: "text"))
    var note: String?

    func validate() throws {
        guard let outcome = TaskOutcome(rawValue: outcome) else {
            throw ValidationError("--outcome '\(outcome)' is not an outcome; use \(TaskOutcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try validateActor(by, flag: "--by")
        if let note { try validateText(note, flag: "--note", limit: 500) }
        if outcome == .cannotComply, (note ?? "").allSatisfy(\.isWhitespace) {
            throw ValidationError("--outcome cannot_comply needs --note saying why (no personal data)")
        }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        guard let outcome = TaskOutcome(rawValue: outcome) else { throw ValidationError("unknown --outcome") }
        let state: RequestState
        do {
            state = try context.runtime.decisions().confirm(request.id, target: target, outcome: outcome,
                                                            by: .person(by), note: note, now: context.now)
        } catch {
            throw ExitStatus.report(error)
        }
        Output.line("\(request.id): the \(target) task confirmed by \(by) (\(outcome.rawValue)); the request is \(state.rawValue).")
    }
}
