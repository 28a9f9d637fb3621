import Foundation
import GRDB
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

    init(id: String, kind: String, ref: String?, purposes: [String], pseudonym: String, identifiers: SubjectIdentifiers?,
         requestedBy: String?, note: String?, received: CalendarDate, due: CalendarDate, extendedMonths: Int, createdAt: Date,
         completedAt: Date?, state: RequestState, cancelReason: String?) {
        self.id = id
        self.kind = kind
        self.ref = ref
        self.purposes = purposes
        self.pseudonym = pseudonym
        self.identifiers = identifiers
        self.requestedBy = requestedBy
        self.note = note
        self.received = received
        self.due = due
        self.extendedMonths = extendedMonths
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.state = state
        self.cancelReason = cancelReason
    }

    init(row: Row) throws {
        id = row["id"]
        kind = row["kind"]
        ref = row["ref"]
        guard case .array(let items)? = JSONValue.parse(Data((row["purposes"] as String).utf8)) else {
            throw StoreError.corrupt("request \(row["id"] as String) has unreadable purposes")
        }
        purposes = try items.map { item in
            guard let purpose = item.stringValue else { throw StoreError.corrupt("request \(row["id"] as String) has a purpose that is not a string") }
            return purpose
        }
        pseudonym = row["pseudonym"]
        let email: String? = row["email"], externalId: String? = row["external_id"], userName: String? = row["user_name"]
        identifiers = email == nil && externalId == nil && userName == nil
            ? nil : SubjectIdentifiers(email: email, externalId: externalId, userName: userName)
        requestedBy = row["requested_by"]
        note = row["note"]
        received = try Self.date(row["received"])
        due = try Self.date(row["due"])
        extendedMonths = row["extended_months"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        completedAt = (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        guard let state = RequestState(rawValue: row["state"]) else { throw StoreError.corrupt("request \(id) has an unknown state") }
        self.state = state
        cancelReason = row["cancel_reason"]
        if let approval = row["approval"] as String? {
            guard let state = Approval.State(rawValue: approval) else { throw StoreError.corrupt("request \(id) has an unknown approval state") }
            self.approval = Approval(state: state, by: row["decided_by"], at: (row["decided_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                     note: row["decision_note"])
        }
        startsAt = (row["starts_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        if let text = row["filer_identities"] as String? {
            guard case .array(let items)? = JSONValue.parse(Data(text.utf8)) else {
                throw StoreError.corrupt("request \(id) has unreadable filer principals")
            }
            filerIdentities = Set(items.compactMap(\.stringValue))
        } else if let requestedBy {
            filerIdentities = [Principal.identity(name: requestedBy)]
        }
    }

    /// Whether `actor` filed this request (or shares its filing): four eyes refuse them.
    public func isFiled(by actor: Principal) -> Bool {
        actor.isAmong(filerIdentities) || requestedBy.map { actor.isAmong([Principal.identity(name: $0)]) } == true
    }

    static func date(_ text: String) throws -> CalendarDate {
        guard let date = CalendarDate(iso: text) else { throw StoreError.corrupt("bad date \(text)") }
        return date
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
    public var scimId: String?
    /// When the target's id is itself personal data (an e-mail address), only its pseudonym is
    /// kept, here, and `scimId` is nil.
    public var scimIdPseudonym: String?
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

    /// Marks a `scim_id` that holds a pseudonym. A server id never starts with `/` (Lethe refuses
    /// ids that are not one path segment), so no real id can be mistaken for one.
    public static let pseudonymousIdPrefix = "/pseudonym/"

    /// The columns `init(row:)` reads, in its order: select actions with this list (never `*`),
    /// so each column is read by its index. By name, GRDB lowercases and searches for every
    /// column of every row, which was a sixth of a report export's time at 100,000 requests.
    static let selection = "id, request_id, target, plan, state, attempts, budget_start, next_attempt_at, scim_id, outcome, verified, "
        + "verification, last_error, completed_at, follows, not_before, written"

    init(row: Row) throws {
        id = row[0]
        requestId = row[1]
        target = row[2]
        plan = try PlanCodec.decode(row[3])
        guard let state = ActionState(rawValue: row[4]) else { throw StoreError.corrupt("action \(id) has an unknown state") }
        self.state = state
        attempts = row[5]
        budgetStart = row[6]
        nextAttemptAt = Date(timeIntervalSince1970: row[7])
        let recorded: String? = row[8]
        if let recorded, recorded.hasPrefix(Self.pseudonymousIdPrefix) {
            scimIdPseudonym = String(recorded.dropFirst(Self.pseudonymousIdPrefix.count))
        } else {
            scimId = recorded
        }
        outcome = (row[9] as String?).flatMap(ActionOutcome.init(rawValue:))
        verified = row[10]
        verification = row[11]
        lastError = row[12]
        completedAt = (row[13] as Double?).map(Date.init(timeIntervalSince1970:))
        follows = row[14]
        notBefore = (row[15] as String?).flatMap(CalendarDate.init(iso:))
        if let text = row[16] as String?, case .object(let values)? = JSONValue.parse(Data(text.utf8)) {
            written = values
        } else {
            written = [:]
        }
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

    init(row: Row) {
        actionId = row["action_id"]
        number = row["number"]
        startedAt = Date(timeIntervalSince1970: row["started_at"])
        durationMs = row["duration_ms"]
        result = row["result"]
        statusCode = row["status_code"]
        error = row["error"]
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

    init(seq: Int64, at: String, requestId: String?, target: String?, event: String, details: String, prevHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.requestId = requestId
        self.target = target
        self.event = event
        self.details = details
        self.prevHash = prevHash
        self.hash = hash
    }

    init(row: Row) {
        seq = row["seq"]
        at = row["at"]
        requestId = row["request_id"]
        target = row["target"]
        event = row["event"]
        details = row["details"]
        prevHash = row["prev_hash"]
        hash = row["hash"]
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
