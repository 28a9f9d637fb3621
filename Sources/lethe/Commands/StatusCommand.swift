import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// `lethe status`
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one request in full, or list requests.",
        discussion: """
            Examples:
              lethe status                              the latest requests
              lethe status --overdue                    requests past their due date that still need work
              lethe status --scheduled                  retained data waiting for the end of its retention
              lethe status --state failed               requests in one state
              lethe status --state awaiting_approval    requests waiting for a second person
              lethe status req-6b0e0e003f2a9c1b7d4e     one request, per target (also by --ref value)
              lethe status req-6b0e0e003f2a9c1b7d4e --json

            --state filters by request state (the state directory is --state-dir, as on every \
            command). Subjects are shown by pseudonym only. Exit status 66 for an unknown request.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A request id or reference.")
    var id: String?

    @Flag(help: "Only requests past their due date that still need work (open, failed, needs_review).")
    var overdue = false

    @Flag(help: "Only requests with retained data whose erasure is scheduled (or has not succeeded yet), soonest first.")
    var scheduled = false

    @Option(name: .customLong("state"), help: ArgumentHelp(
        "Only requests in this state: awaiting_approval, received, in_progress, completed, failed, needs_review, cancelled, rejected.",
        valueName: "state"))
    var requestState: String?

    @Option(help: "At most this many requests in a list.")
    var limit = 50

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let requestState, RequestState(rawValue: requestState) == nil {
            throw ValidationError("unknown state '\(requestState)'; use one of \(RequestState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let reading = try context.runtime.reading()
        if let id {
            let request = try context.request(id)
            let view = try reading.view(of: request)
            if json { try Output.json(view) } else { Output.line(Self.detail(view, serverMessages: try reading.serverMessages(of: request))) }
            return
        }
        let views = scheduled
            ? try reading.withOpenFollowUps(limit: limit)
            : try reading.list(state: requestState.flatMap(RequestState.init(rawValue:)), overdue: overdue, limit: limit)
        // Manual tasks past their due time are overdue work too, whatever their request's due day.
        let lateTasks = overdue ? try reading.tasks(now: context.now, overdueOnly: true) : []
        if json {
            try Output.json(views)
            return
        }
        for task in lateTasks {
            Output.line("task overdue: \(task.request) \(task.target) (subject \(task.subject)) was due \(task.due); "
                + "`lethe tasks` shows it, `lethe confirm \(task.request) --target \(task.target) ...` records it")
        }
        if views.isEmpty {
            Output.line(overdue ? "no overdue requests" : scheduled ? "no scheduled erasures of retained data" : "no requests")
            return
        }
        Output.line("ID".padding(26) + "KIND".padding(12) + "STATE".padding(18) + "RECEIVED".padding(12) + "DUE".padding(12) + "TARGETS".padding(10) + "REF")
        for view in views {
            let done = view.actions.filter { $0.state == "succeeded" }.count
            let due = view.due + (view.overdue ? "!" : "")
            let pending = view.retentionErasures.filter { $0.state != "succeeded" && $0.state != "cancelled" }
            let erasures = pending.isEmpty ? "" : "  retained data: erasure \(pending.map { "\($0.target) \($0.due) \($0.state)" }.joined(separator: ", "))"
            Output.line(view.id.padding(26) + view.kind.padding(12) + view.state.padding(18) + view.received.padding(12)
                + due.padding(12) + "\(done)/\(view.actions.count)".padding(10) + (view.ref ?? "") + erasures)
        }
    }

    /// - Parameter serverMessages: what targets said in their own words (open requests only).
    static func detail(_ view: RequestView, serverMessages: [String: String] = [:]) -> String {
        var lines = ["\(view.id)  \(view.kind)  \(view.state)" + (view.overdue ? "  OVERDUE" : "")]
        if let ref = view.ref { lines.append("  reference: \(ref)") }
        if !view.purposes.isEmpty { lines.append("  purposes:  \(view.purposes.joined(separator: ", "))") }
        lines.append("  subject:   \(view.subject) (pseudonym)")
        lines.append("  received:  \(view.received)   due: \(view.due)" + (view.extendedMonths > 0 ? " (extended \(view.extendedMonths) month\(view.extendedMonths == 1 ? "" : "s"))" : ""))
        if let completed = view.completedAt { lines.append("  ended:     \(completed)") }
        if let filer = view.requestedBy { lines.append("  filed by:  \(filer)") }
        if let approval = view.approval {
            switch approval.state {
            case "awaiting":
                lines.append("  approval:  awaiting: nothing runs until someone other than \(view.requestedBy ?? "the filer") runs `lethe approve \(view.id) --by NAME`")
            case "approved":
                lines.append("  approval:  approved by \(approval.by ?? "?") at \(approval.at ?? "?")" + (approval.note.map { ": \($0)" } ?? ""))
            default:
                lines.append("  rejected:  by \(approval.by ?? "?") at \(approval.at ?? "?"): \(approval.reason ?? "")")
            }
        }
        if let starts = view.startsAt { lines.append("  starts at: \(starts) (grace period; `lethe cancel \(view.id)` until then leaves every target untouched)") }
        for erasure in view.retentionErasures where ["scheduled", "pending", "running", "retrying"].contains(erasure.state) {
            lines.append("  retained data scheduled for erasure on \(erasure.due) (\(erasure.target): \(erasure.attributes.joined(separator: ", ")))")
        }
        if let note = view.cancellation { lines.append("  \(note)") } else if let reason = view.cancelReason { lines.append("  cancelling: \(reason)") }
        lines.append("")
        lines.append("  " + "TARGET".padding(12) + "OPERATION".padding(19) + "STATE".padding(13) + "OUTCOME".padding(20) + "VERIFIED".padding(10) + "ATTEMPTS")
        for action in view.actions {
            // Only a read-back is "verified"; a person's or a system's word says so instead.
            let verified = action.verified.map { $0 ? "yes" : "NO" } ?? (action.evidence == Evidence.person.rawValue ? "person" : "-")
            lines.append("  " + action.target.padding(12) + action.operation.padding(19) + action.state.padding(13)
                + (action.outcome ?? "-").padding(20) + verified.padding(10) + "\(action.attempts)")
            if let error = action.lastError { lines.append("      \(action.state == "retrying" ? "retrying: " : "")\(error)") }
            if let said = serverMessages[action.target] {
                // A target's text is untrusted: no escape sequence of its reaches the terminal.
                let printable = String(String.UnicodeScalarView(said.unicodeScalars.map { FreeText.isForbidden($0) ? "?" : $0 }))
                lines.append("      the system said (shown while the request is open): \(printable)")
            }
            if let next = action.nextAttemptAt, action.state == "retrying" { lines.append("      next attempt at \(next)") }
            if let due = action.nextAttemptAt, action.state == ActionState.awaitingConfirmation.rawValue {
                lines.append("      with a person until \(due); once done: lethe confirm \(view.id) --target \(action.target) "
                    + "--outcome erased|anonymized|not_found|cannot_comply --by NAME")
            }
            for kept in action.retained {
                if kept.ended {
                    lines.append("      \(kept.attributes.joined(separator: ", ")) was kept under \(kept.basis) (\(kept.purpose)) until \(kept.until), which had passed: erased with the rest")
                } else {
                    lines.append("      keeps \(kept.attributes.joined(separator: ", ")) under \(kept.basis) (\(kept.purpose)) until \(kept.until)")
                }
            }
            for erasure in view.retentionErasures where erasure.target == action.target {
                switch erasure.state {
                case "succeeded":
                    lines.append("      retained data erased on \(erasure.completedAt ?? "?")" + (erasure.verified == true ? ", verified" : ""))
                case "scheduled", "pending", "running", "retrying":
                    lines.append("      retained data scheduled for erasure on \(erasure.due) (\(erasure.attributes.joined(separator: ", ")))")
                default:
                    lines.append("      the erasure of retained data due \(erasure.due) is \(erasure.state): \(erasure.lastError ?? "")")
                }
            }
            if let how = action.verification, action.state == "succeeded", action.outcome != "not_applicable" { lines.append("      \(how)") }
        }
        return lines.joined(separator: "\n")
    }
}
