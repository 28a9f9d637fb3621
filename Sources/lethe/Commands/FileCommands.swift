import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// Options shared by `erase` and `revoke`.
struct FilingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("External reference (ticket). Filing the same reference again returns the existing request.", valueName: "ticket"))
    var ref: String?

    @Option(name: .customLong("requested-by"), help: ArgumentHelp("Who files the request (kept in the audit log).", valueName: "name"))
    var requestedBy: String?

    @Option(help: ArgumentHelp("Day the request was received, YYYY-MM-DD (default: today, UTC). The due date is one month later.", valueName: "date"))
    var received: String?

    @Option(help: ArgumentHelp("A note for the request row (purged with the identifiers when the request ends).", valueName: "text"))
    var note: String?

    @Flag(help: "Print the filed request as JSON (as `lethe status ID --json` shows it).")
    var json = false

    func validate() throws {
        if let received, CalendarDate(iso: received) == nil {
            throw ValidationError("--received '\(received)' is not a date; write YYYY-MM-DD")
        }
    }

    func file(_ kind: RequestKind, subject: SubjectIdentifiers, global: GlobalOptions) throws {
        let context = try AppContext.open(global)
        let submission = Intake.Submission(
            kind: kind, subject: subject, ref: ref, requestedBy: requestedBy, note: note,
            received: received.flatMap(CalendarDate.init(iso:)) ?? context.today)
        let filing: Intake.Filing
        do {
            filing = try context.runtime.intake().file(submission, now: context.now)
        } catch {
            throw ExitStatus.report(error)
        }
        let request = filing.request
        if json {
            try Output.json(RequestView(request, actions: filing.actions, today: context.today))
            return
        }
        if !filing.isNew {
            Output.line("\(request.id) (already filed under reference \(request.ref ?? ""); nothing new was stored)")
            return
        }
        Output.line(request.id)
        let actions = filing.actions
        let work = actions.filter { $0.state == .pending || $0.state == .held }.map(\.target)
        let review = actions.filter { $0.state == .needsReview }.map(\.target)
        var summary = "filed \(request.kind) due \(request.due): "
        summary += work.isEmpty ? "nothing to do in any target" : "\(work.count) target\(work.count == 1 ? "" : "s") to process (\(work.joined(separator: ", ")))"
        if !review.isEmpty { summary += "; needs review in \(review.joined(separator: ", "))" }
        if let starts = request.startsAt, starts > request.createdAt, !work.isEmpty {
            summary += "; nothing starts before \(Timestamp.iso8601(starts)) (grace period: `lethe cancel \(request.id)` until then touches no target)"
        }
        if request.state == .awaitingApproval {
            Output.error(summary + ". It waits for approval: someone other than \(request.requestedBy ?? "the filer") runs "
                + "`lethe approve \(request.id) --by NAME` (or `lethe reject \(request.id) --by NAME --reason TEXT`).")
            return
        }
        Output.error(summary + ". Run `lethe run --until-idle` to carry it out.")
    }
}

/// `lethe erase`
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "File an erasure request (GDPR Art. 17) for one subject.",
        discussion: """
            Examples:
              lethe erase --email ana@example.com --ref TICKET-812 --requested-by "DPO desk"
              lethe erase --email ana@example.com --external-id C-1042 --received 2026-11-20

            The request is planned against the policies (see `lethe plan`) and stored with one \
            action per target; `lethe run` carries it out. Prints the request id. \
            Exit status: 0 filed (or already filed), 64 bad usage or unknown purpose, 65 invalid \
            policies or a reference used for another subject, 66 no state directory.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var subject: SubjectOptions
    @OptionGroup var filing: FilingOptions

    func validate() throws {
        try subject.requireOne()
    }

    func run() async throws {
        try filing.file(.erasure, subject: subject.identifiers, global: global)
    }
}

/// `lethe revoke`
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "File a withdrawal of consent (GDPR Art. 7(3)) for one or more purposes.",
        discussion: """
            Examples:
              lethe revoke --email ana@example.com --purpose marketing
              lethe revoke --email ana@example.com --purpose marketing --purpose newsletter --ref CMP-77

            Only what is shared under those purposes with basis consent is removed; data held \
            under another basis stays. Exit statuses as for `lethe erase`.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var subject: SubjectOptions

    @Option(name: .customLong("purpose"), help: ArgumentHelp("A purpose whose consent is withdrawn (repeatable).", valueName: "purpose"))
    var purposes: [String] = []

    @OptionGroup var filing: FilingOptions

    func validate() throws {
        try subject.requireOne()
        guard !purposes.isEmpty else { throw ValidationError("name at least one --purpose") }
    }

    func run() async throws {
        try filing.file(.revocation(purposes: purposes.uniqued()), subject: subject.identifiers, global: global)
    }
}
