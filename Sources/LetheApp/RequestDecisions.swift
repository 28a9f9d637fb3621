import Foundation
import LetheCore
import LetheStorage

/// What a person decides about a filed request: approve, reject, cancel, extend. One door for
/// the CLI, the API and the dashboard, so the rules are decided once: every text is checked by
/// `FreeText`, and the four-eyes check compares principals (`Principal`), not display names.
///
/// Store refusals (`StoreError`) pass through as they are; a text that breaks the rule is a
/// `FreeText.Problem` naming the field, and nothing is changed.
public struct RequestDecisions: Sendable {
    public let database: any RequestLedger & TaskDesk

    public init(database: any RequestLedger & TaskDesk) {
        self.database = database
    }

    /// Approves a request that awaits approval; `actor` must not be among its filers.
    public func approve(_ requestId: String, by actor: Principal, note: String?, now: Date) throws -> StoredRequest {
        try checkActor(actor)
        let note = try FreeText.optional(note, field: "note", limit: FreeText.reasonLimit)
        return try database.approve(requestId, by: actor, note: note, now: now)
    }

    /// Rejects a request nothing was done for (GDPR Art. 12(5)), with the reason.
    public func reject(_ requestId: String, by actor: Principal, reason: String?, now: Date) throws -> StoredRequest {
        try checkActor(actor)
        let reason = try FreeText.required(reason, field: "reason", limit: FreeText.reasonLimit)
        return try database.reject(requestId, by: actor.name, reason: reason, now: now)
    }

    /// Cancels an open request; what was already done stays done.
    public func cancel(_ requestId: String, by actor: Principal?, reason: String?, now: Date) throws -> StoredRequest {
        if let actor { try checkActor(actor) }
        let reason = try FreeText.required(reason, field: "reason", limit: FreeText.reasonLimit)
        return try database.cancel(requestId, reason: reason, by: actor?.name, now: now)
    }

    /// Extends the due date by 1 or 2 months (Art. 12(3)), with the reason told to the subject.
    public func extend(_ requestId: String, months: Int, by actor: Principal?, reason: String?, now: Date) throws -> StoredRequest {
        if let actor { try checkActor(actor) }
        let reason = try FreeText.required(reason, field: "reason", limit: FreeText.reasonLimit)
        return try database.extend(requestId, months: months, reason: reason, by: actor?.name, now: now)
    }

    /// Records a person's confirmation of a manual task: what they did, and for `cannot_comply`
    /// why not (required). The note is free text like any other: no personal data.
    public func confirm(_ requestId: String, target: String, outcome: TaskOutcome, by actor: Principal, note: String?,
                        now: Date) throws -> RequestState {
        try checkActor(actor)
        let note: String? = outcome == .cannotComply
            ? try FreeText.required(note, field: "note", limit: FreeText.reasonLimit)
            : try FreeText.optional(note, field: "note", limit: FreeText.reasonLimit)
        return try database.confirmTask(requestId, target: target, outcome: outcome, by: actor, note: note, now: now)
    }

    /// An actor's name is free text like any other (the CLI's `--by` is typed by a person).
    private func checkActor(_ actor: Principal) throws(FreeText.Problem) {
        try FreeText.required(actor.name, field: "by", limit: FreeText.nameLimit)
    }
}
