import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// A person's name as `--by` takes it: what the audit log records as the actor. The rule is
/// `FreeText`'s, the same the API and the dashboard apply.
func validateActor(_ name: String, flag: String) throws {
    do throws(FreeText.Problem) {
        try FreeText.required(name, field: flag, limit: FreeText.nameLimit)
    } catch .missing {
        throw ValidationError("\(flag) must name a person")
    } catch {
        throw ValidationError("\(error)")
    }
}

func validateText(_ text: String, flag: String, limit: Int) throws {
    do {
        try FreeText.check(text, field: flag, limit: limit)
    } catch {
        throw ValidationError("\(error)")
    }
}

/// `lethe approve`
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a request that waits for a second person; then `lethe run` carries it out.",
        discussion: """
            With `approval: erasures` or `approval: all` in the policy directory's lethe.yaml, a \
            filed request waits in awaiting_approval and no system is touched until someone \
            other than the person who filed it approves it. Names are compared without case \
            or surrounding blanks.

            Examples:
              lethe status --state awaiting_approval
              lethe approve req-6b0e0e003f2a9c1b7d4e --by "Bo Berg" --note "identity checked by phone"

            Its actions start at once, or when the grace period (`grace` in lethe.yaml, counted \
            from filing) ends. The approval, the approver and the note go to the audit log, the \
            request's status, its certificate and the period report.

            Exit status: 0 approved; 65 self-approval, or a request that does not wait for \
            approval (nothing is changed); 66 no such request.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("Who approves (not the person who filed it).", valueName: "name"))
    var by: String

    @Option(help: ArgumentHelp("Why, or what was checked (recorded in the audit log; no personal data).", valueName: "text"))
    var note: String?

    func validate() throws {
        try validateActor(by, flag: "--by")
        if let note { try validateText(note, flag: "--note", limit: 500) }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        let approved: StoredRequest
        do {
            approved = try context.runtime.decisions().approve(request.id, by: .person(by), note: note, now: context.now)
        } catch {
            throw ExitStatus.report(error)
        }
        var line = "\(approved.id): approved by \(by); \(approved.state.rawValue)"
        if let starts = approved.startsAt, starts > context.now {
            line += "; nothing starts before \(Timestamp.iso8601(starts)) (grace period)"
        }
        Output.line(line + ". Run `lethe run --until-idle` to carry it out.")
    }
}

/// `lethe reject`
struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Refuse a request before anything is done, with the reason (GDPR Art. 12(5)).",
        discussion: """
            For a request that must not be carried out: the subject's identity could not be \
            verified, or the request is manifestly unfounded or excessive. It ends in the \
            state rejected with its reason; its actions are not carried out and its identifiers \
            are purged like any ended request. Tell the subject why within one month (Art. 12(4)).

            Only a request no system was touched for can be rejected (awaiting approval, or \
            still inside its grace period); once work has started, use `lethe cancel`.

            Example:
              lethe reject req-6b0e0e003f2a9c1b7d4e --by "Bo Berg" --reason "identity not verified after two requests"

            Exit status: 0 rejected; 65 the request cannot be rejected (nothing is changed); \
            66 no such request.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("Who rejects it.", valueName: "name"))
    var by: String

    @Option(help: ArgumentHelp("Why (recorded in the audit log, the certificate and the report; no personal data).", valueName: "text"))
    var reason: String

    func validate() throws {
        try validateActor(by, flag: "--by")
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
        try validateText(reason, flag: "--reason", limit: 500)
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let request = try context.request(id)
        do {
            let rejected = try context.runtime.decisions().reject(request.id, by: .person(by), reason: reason, now: context.now)
            Output.line("\(rejected.id): \(rejected.state.rawValue) by \(by): \(reason); no target was touched and its identifiers are purged")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}
