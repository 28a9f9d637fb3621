import Foundation
import LetheCore

/// A request as stored.
public struct StoredRequest: Sendable, Hashable, Codable {
    public var id: String
    public var kind: String
    public var ref: String?
    public var purposes: [String]
    /// Keyed hash of the subject's primary identifier: the only subject reference that leaves the row.
    public var pseudonym: String
    /// Raw identifiers; nil once the request is terminal (purged).
    public var identifiers: SubjectIdentifiers?
    public var requestedBy: String?
    /// Who filed it (and who retried it while it awaited approval), as principals: none of
    /// them may approve it. For a request filed before principals were kept, the filer's name.
    public var filerIdentities: Set<String> = []
    public var note: String?
    public var received: CalendarDate
    public var due: CalendarDate
    public var extendedMonths: Int
    public var createdAt: Date
    public var completedAt: Date?
    public var state: RequestState
    public var cancelReason: String?
    /// Whether a second person must decide, and what they decided (nil: no approval needed).
    public var approval: Approval?
    /// No action starts before this (filing time plus the grace period).
    public var startsAt: Date?

    public var requestKind: RequestKind { kind == "erasure" ? .erasure : .revocation(purposes: purposes) }

    /// What a cancelled request did and did not do, for status and certificates; nil otherwise.
    public func cancellationNote(actions: [StoredAction]) -> String? {
        guard state == .cancelled else { return nil }
        return CancellationNote.text(reason: cancelReason, actions: actions.map(\.cancellationView))
    }

    /// Where the request stands against its due date today.
    public func standing(today: CalendarDate) -> DeadlineStanding {
        DeadlineStanding.of(state: state, due: due, endedOn: completedAt.map { CalendarDate(secondsSince1970: $0.timeIntervalSince1970) },
                            today: today)
    }

    public init(id: String, kind: String, ref: String?, purposes: [String], pseudonym: String, identifiers: SubjectIdentifiers?,
                requestedBy: String?, filerIdentities: Set<String> = [], note: String?, received: CalendarDate, due: CalendarDate,
                extendedMonths: Int, createdAt: Date, completedAt: Date?, state: RequestState, cancelReason: String?,
                approval: Approval? = nil, startsAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.ref = ref
        self.purposes = purposes
        self.pseudonym = pseudonym
        self.identifiers = identifiers
        self.requestedBy = requestedBy
        self.filerIdentities = filerIdentities
        self.note = note
        self.received = received
        self.due = due
        self.extendedMonths = extendedMonths
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.state = state
        self.cancelReason = cancelReason
        self.approval = approval
        self.startsAt = startsAt
    }


    /// Whether `actor` filed this request (or shares its filing): four eyes refuse them.
    public func isFiled(by actor: Principal) -> Bool {
        actor.isAmong(filerIdentities) || requestedBy.map { actor.isAmong([Principal.identity(name: $0)]) } == true
    }

}

/// The four-eyes decision on a request: awaited, or approved or rejected by someone.
public struct Approval: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        case awaiting
        case approved
        case rejected
    }

    public var state: State
    /// Who decided (an approver differs from the person who filed the request).
    public var by: String?
    public var at: Date?
    /// The approver's note, or the reason for a rejection.
    public var note: String?

    public init(state: State, by: String? = nil, at: Date? = nil, note: String? = nil) {
        self.state = state
        self.by = by
        self.at = at
        self.note = note
    }
}

/// An action as stored.
public struct StoredAction: Sendable, Hashable, Codable {
    public var id: Int64
    public var requestId: String
    public var target: String
    public var plan: PlannedAction
    public var state: ActionState
    /// Attempts ever made.
    public var attempts: Int
    /// `attempts` when the current retry budget started (a manual retry starts a new one).
    public var budgetStart: Int
    public var nextAttemptAt: Date
    /// The target's id of the subject, recorded before the first write.
    public var accountRef: String?
    /// When the target's id is itself personal data (an e-mail address), only its pseudonym is
    /// kept, here, and `accountRef` is nil.
    public var accountRefPseudonym: String?
    public var outcome: ActionOutcome?
    public var verified: Bool?
    public var verification: String?
    public var lastError: String?
    public var completedAt: Date?
    /// For a follow-up: the action it follows (nil for a request's own action of the target).
    public var follows: Int64?
    /// For a follow-up: the day it is due.
    public var notBefore: CalendarDate?
    /// What Lethe wrote to the account (attribute path → value), recorded before each write.
    public var written: [String: JSONValue]
    /// How the outcome is known (read back, the system's word, a person's), once there is one.
    /// Nil on rows from before it was recorded: `knownBy` reads those.
    public var evidence: Evidence?
    /// Who confirmed a manual task (a principal's name, never free text alone).
    public var confirmedBy: String?

    /// How the outcome is known; for rows from before `evidence` was kept, a verified outcome
    /// was read back (SCIM was the only kind).
    public var knownBy: Evidence? { evidence ?? (verified == true ? .readBack : nil) }

    /// Marks a `scim_id` that holds a pseudonym. A server id never starts with `/` (Lethe refuses
    /// ids that are not one path segment), so no real id can be mistaken for one.
    public static let pseudonymousIdPrefix = "/pseudonym/"

    public init(id: Int64, requestId: String, target: String, plan: PlannedAction, state: ActionState, attempts: Int, budgetStart: Int,
                nextAttemptAt: Date, accountRef: String? = nil, accountRefPseudonym: String? = nil, outcome: ActionOutcome? = nil, verified: Bool? = nil,
                verification: String? = nil, lastError: String? = nil, completedAt: Date? = nil, follows: Int64? = nil,
                notBefore: CalendarDate? = nil, written: [String: JSONValue] = [:], evidence: Evidence? = nil, confirmedBy: String? = nil) {
        self.evidence = evidence
        self.confirmedBy = confirmedBy
        self.id = id
        self.requestId = requestId
        self.target = target
        self.plan = plan
        self.state = state
        self.attempts = attempts
        self.budgetStart = budgetStart
        self.nextAttemptAt = nextAttemptAt
        self.accountRef = accountRef
        self.accountRefPseudonym = accountRefPseudonym
        self.outcome = outcome
        self.verified = verified
        self.verification = verification
        self.lastError = lastError
        self.completedAt = completedAt
        self.follows = follows
        self.notBefore = notBefore
        self.written = written
    }


}

/// One recorded attempt.
public struct StoredAttempt: Sendable, Hashable, Codable {
    public var actionId: Int64
    public var number: Int
    public var startedAt: Date
    public var durationMs: Int
    public var result: String
    public var statusCode: Int?
    public var error: String?

    public init(actionId: Int64, number: Int, startedAt: Date, durationMs: Int, result: String, statusCode: Int?, error: String?) {
        self.actionId = actionId
        self.number = number
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.result = result
        self.statusCode = statusCode
        self.error = error
    }
}

/// One link of the audit chain.
public struct AuditEvent: Sendable, Hashable, Codable {
    public var seq: Int64
    /// ISO 8601 UTC with milliseconds.
    public var at: String
    public var requestId: String?
    public var target: String?
    public var event: String
    /// Canonical JSON.
    public var details: String
    public var prevHash: String
    public var hash: String

    public init(seq: Int64, at: String, requestId: String?, target: String?, event: String, details: String, prevHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.requestId = requestId
        self.target = target
        self.event = event
        self.details = details
        self.prevHash = prevHash
        self.hash = hash
    }

}

/// The database holds something it should not.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case corrupt(String)
    case notFound(String)
    case refConflict(ref: String, existing: String)
    /// A retry needs the subject's identifiers, which were purged when the request ended.
    case identifiersPurged(requestId: String)
    /// An extension must be 1 or 2 months.
    case invalidExtension(months: Int)
    case invalid(String)
    /// The approver is the person who filed the request: four eyes need two people.
    case selfApproval(requestId: String, filer: String)
    /// The claim on this action is no longer the caller's (its lease ran out and the action was
    /// taken over): nothing was recorded.
    case leaseLost(actionId: Int64, attempt: Int)
    /// The store cannot be reached now (a database server restarting, a network gone): nothing
    /// was changed, and the same call may succeed later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .corrupt(let what): "the database is inconsistent: \(what)"
        case .notFound(let what): what
        case .refConflict(let ref, let existing):
            "reference '\(ref)' is already used by request \(existing) for another subject or kind"
        case .identifiersPurged(let id):
            "the identifiers of request \(id) were purged when it ended; a retry needs them again, and they must match the request's subject"
        case .invalidExtension(let months): "an extension is 1 or 2 months, not \(months)"
        case .invalid(let why): why
        case .unavailable(let why): why
        case .leaseLost(let id, let attempt):
            "action \(id) is no longer held by attempt \(attempt) (its lease ran out and it was taken over); nothing was recorded"
        case .selfApproval(let id, let filer):
            "request \(id) was filed by \(filer); whoever filed it (or retried it while it awaited approval) cannot also approve it: another person must (four eyes); nothing was changed"
        }
    }
}

extension StoredAction {
    /// The action as `CancellationNote` needs it.
    public var cancellationView: CancellationNote.Action {
        CancellationNote.Action(target: target, state: state, outcome: outcome, completedAt: completedAt.map(Timestamp.iso8601))
    }
}
