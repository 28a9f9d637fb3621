import ArgumentParser
import Foundation
import LetheApp
import LetheCore

/// `lethe plan`: what a request would do in every target, without filing anything.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what an erasure or a consent withdrawal would do in each target. Changes nothing.",
        discussion: """
            Examples:
              lethe plan --erase --email ana@example.com
              lethe plan --revoke marketing --email ana@example.com --json
              lethe plan --erase --external-id C-1042 --email ana@example.com

            Each target gets one action: delete, anonymize, deactivate, remove_attributes, \
            leave_groups, none, or needs_review (when no identifier it can match on is given). \
            Data kept under a legal obligation is listed with its basis and the date it is kept until.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var subject: SubjectOptions

    @Flag(help: "Plan an erasure (GDPR Art. 17).")
    var erase = false

    @Option(name: .customLong("revoke"), help: ArgumentHelp("Plan a withdrawal of consent for this purpose (repeatable, GDPR Art. 7(3)).", valueName: "purpose"))
    var revoke: [String] = []

    @Option(help: ArgumentHelp("Day the request was received, YYYY-MM-DD (default: today, UTC).", valueName: "date"))
    var received: String?

    @Flag(help: "Print the plan as JSON.")
    var json = false

    func validate() throws {
        guard erase != !revoke.isEmpty else {
            throw ValidationError("say what to plan: --erase, or --revoke PURPOSE (not both)")
        }
        try subject.requireOne()
        if let received, CalendarDate(iso: received) == nil {
            throw ValidationError("--received '\(received)' is not a date; write YYYY-MM-DD")
        }
    }

    func run() async throws {
        let policies: PolicySet
        switch PolicyDirectory.load(global.policyDirectory) {
        case .success(let set): policies = set
        case .failure(let error):
            Output.error(error.description)
            throw ExitStatus.dataError
        }
        // No state directory is needed to plan, so no runtime: the same system clock it would use.
        let today = CalendarDate(secondsSince1970: SystemClock().now().timeIntervalSince1970)
        let day = received.flatMap(CalendarDate.init(iso:)) ?? today
        let kind: RequestKind = erase ? .erasure : .revocation(purposes: revoke.uniqued())
        let request = PlanningRequest(kind: kind, subject: subject.identifiers, received: day, today: today)
        let actions: [PlannedAction]
        do {
            actions = try Planner(policies: policies).plan(request)
        } catch {
            Output.error("lethe plan: \(error)")
            throw ExitStatus.usage
        }
        if json {
            try Output.json(actions.map(PlanJSON.init))
            return
        }
        let title = erase ? "erasure" : "withdrawal of consent for \(kind.purposes.joined(separator: ", "))"
        Output.line("Plan: \(title), received \(day), due \(day.adding(months: 1)). Nothing has been filed.")
        for action in actions {
            Output.line()
            Output.line(PlanText.render(action, task: policies[action.target]?.manual))
        }
    }
}

/// Identifiers of the subject, shared by plan, erase and revoke.
struct SubjectOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The subject's e-mail address.", valueName: "address"))
    var email: String?

    @Option(name: .customLong("external-id"), help: ArgumentHelp("The subject's externalId in the connected systems.", valueName: "id"))
    var externalId: String?

    @Option(name: .customLong("user-name"), help: ArgumentHelp("The subject's SCIM userName.", valueName: "name"))
    var userName: String?

    /// Checks the e-mail's form; whether an identifier is required is the command's call (`requireOne`).
    func validate() throws {
        if let email, !IdentifierSyntax.isPlausibleEmail(email) {
            throw ValidationError("--email is not an e-mail address (expected local@domain)")
        }
    }

    /// Refuses a command that names no subject at all.
    func requireOne() throws {
        guard !identifiers.isEmpty else {
            throw ValidationError("name the subject: --email, --external-id or --user-name")
        }
    }

    var identifiers: SubjectIdentifiers {
        SubjectIdentifiers(email: email, externalId: externalId, userName: userName)
    }
}

/// The human rendering of a planned action.
enum PlanText {
    /// - Parameter task: for a manual target, what the person will be asked.
    static func render(_ action: PlannedAction, task: ManualTask? = nil) -> String {
        var lines = ["\(action.target): \(action.operation.rawValue)" + (action.match.map { " (found by \($0.rawValue))" } ?? "")]
        if !action.attributes.isEmpty {
            lines.append("  attributes: " + action.attributes.map { "\($0.path) → \($0.strategy.rawValue)" }.joined(separator: ", "))
        }
        if !action.groups.isEmpty {
            lines.append("  leaves:     " + action.groups.joined(separator: ", "))
        }
        for kept in action.retained {
            let what = (kept.attributes.map(\.description) + kept.groups).joined(separator: ", ")
            if kept.ended == true {
                lines.append("  erases:     \(what) too: kept under \(kept.basis.rawValue) (\(kept.purpose)) until \(kept.until), which has passed")
            } else {
                lines.append("  keeps:      \(what) under \(kept.basis.rawValue) (\(kept.purpose)) until \(kept.until); erased on \(kept.erasureDue)")
            }
        }
        if !action.pseudonymised.isEmpty {
            lines.append("  note:       \(action.pseudonymised.map(\.description).joined(separator: ", ")) only pseudonymised (GDPR Recital 26)")
        }
        if let task, action.operation != .none, action.operation != .needsReview {
            lines.append("  by a person: \(task.instructions)")
            lines.append("               within \(task.within) of the hand-over; confirmed by an \(task.confirmRole.rawValue)"
                + (task.confirmRole == .officer ? " or admin" : "") + " (`lethe confirm`); recorded as confirmed by a person, not verified")
        }
        lines.append("  why:        \(action.reason)")
        return lines.joined(separator: "\n")
    }
}
