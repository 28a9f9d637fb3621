import Foundation
import LetheCore

/// The details of the audit events every store writes, built in one place so that the same
/// change reads the same in every store's log (and a copy between stores keeps every hash).
public enum AuditDetails {
    /// `request_filed`: what was filed, by whom (never the subject: only the pseudonym).
    public static func filed(_ new: NewRequest, purposes: [String], startsAt: Double) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "kind": .string(new.kind.name), "subject": .string(new.pseudonym),
            "received": .string(new.received.description), "due": .string(new.due.description),
            "actions": .array(new.plan.map { .object(["target": .string($0.target), "operation": .string($0.operation.rawValue)]) }),
        ]
        if !purposes.isEmpty { details["purposes"] = .array(purposes.map(JSONValue.string)) }
        if let ref = new.ref { details["ref"] = .string(ref) }
        // Who filed it (a person or an API token's name), never the subject.
        if let actor = new.requestedBy { details["by"] = .string(actor) }
        if new.needsApproval { details["approval"] = .string("required") }
        if new.grace > 0 { details["starts_at"] = .string(Timestamp.iso8601(Date(timeIntervalSince1970: startsAt))) }
        return details
    }

    /// `action_started`: the attempt a claim counted.
    public static func started(_ action: StoredAction) -> [String: JSONValue] {
        var details: [String: JSONValue] = ["attempt": .number(Double(action.attempts)), "operation": .string(action.plan.operation.rawValue)]
        if let due = action.notBefore { details["follow_up"] = .string(due.description) }
        return details
    }

    /// The event of an attempt's transition.
    public static func recorded(_ attempt: AttemptReport, _ transition: ActionStateMachine.Transition, followUp: String?) -> [String: JSONValue] {
        var details: [String: JSONValue] = ["attempt": .number(Double(attempt.number)), "state": .string(transition.state.rawValue)]
        if let outcome = transition.outcome { details["outcome"] = .string(outcome.rawValue) }
        if let verified = transition.verified { details["verified"] = .bool(verified) }
        if let verification = transition.verification { details["verification"] = .string(verification) }
        if let reason = transition.reason { details["reason"] = .string(reason) }
        if let retryIn = transition.retryIn, transition.state == .retrying { details["retry_in_ms"] = .number((retryIn * 1000).rounded()) }
        if let status = attempt.statusCode { details["status"] = .number(Double(status)) }
        if let due = followUp, !due.isEmpty { details["follow_up"] = .string(due) }
        return details
    }

    /// `action_scheduled`: a follow-up that ends a retention.
    public static func scheduled(_ followUp: RetentionFollowUp.Scheduled) -> [String: JSONValue] {
        [
            "follow_up": .string(followUp.due.description),
            "attributes": .array(followUp.plan.attributes.map { .string($0.path.description) } + followUp.plan.groups.map(JSONValue.string)),
            "reason": .string(followUp.plan.reason),
        ]
    }
}
