import Foundation
import GRDB
import LetheCore
import LetheStorage

// The records of LetheStorage as read from SQLite rows.

extension StoredRequest {
    init(row: Row, sealer: IdentifierSealer?) throws {
        let id: String = row["id"]
        guard case .array(let items)? = JSONValue.parse(Data((row["purposes"] as String).utf8)) else {
            throw StoreError.corrupt("request \(id) has unreadable purposes")
        }
        let purposes = try items.map { item in
            guard let purpose = item.stringValue else { throw StoreError.corrupt("request \(id) has a purpose that is not a string") }
            return purpose
        }
        let identifiers = try AppDatabase.identifiers([row["email"], row["external_id"], row["user_name"]], request: id, sealer: sealer)
        guard let state = RequestState(rawValue: row["state"]) else { throw StoreError.corrupt("request \(id) has an unknown state") }
        var approval: Approval?
        if let decision = row["approval"] as String? {
            guard let state = Approval.State(rawValue: decision) else { throw StoreError.corrupt("request \(id) has an unknown approval state") }
            approval = Approval(state: state, by: row["decided_by"], at: (row["decided_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                note: row["decision_note"])
        }
        let requestedBy: String? = row["requested_by"]
        var filerIdentities: Set<String> = []
        if let text = row["filer_identities"] as String? {
            guard case .array(let items)? = JSONValue.parse(Data(text.utf8)) else {
                throw StoreError.corrupt("request \(id) has unreadable filer principals")
            }
            filerIdentities = Set(items.compactMap(\.stringValue))
        } else if let requestedBy {
            filerIdentities = [Principal.identity(name: requestedBy)]
        }
        self.init(id: id, kind: row["kind"], ref: row["ref"], purposes: purposes, pseudonym: row["pseudonym"], identifiers: identifiers,
                  requestedBy: requestedBy, filerIdentities: filerIdentities, note: row["note"], received: try Self.date(row["received"]),
                  due: try Self.date(row["due"]), extendedMonths: row["extended_months"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                  completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)), state: state,
                  cancelReason: row["cancel_reason"], approval: approval,
                  startsAt: (row["starts_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func date(_ text: String) throws -> CalendarDate {
        guard let date = CalendarDate(iso: text) else { throw StoreError.corrupt("bad date \(text)") }
        return date
    }
}

extension StoredAction {
    /// The columns `init(row:)` reads, in its order: select actions with this list (never `*`),
    /// so each column is read by its index. By name, GRDB lowercases and searches for every
    /// column of every row, which was a sixth of a report export's time at 100,000 requests.
    static let selection = "id, request_id, target, plan, state, attempts, budget_start, next_attempt_at, account_ref, outcome, verified, "
        + "verification, last_error, completed_at, follows, not_before, written, evidence, confirmed_by"

    init(row: Row) throws {
        let id: Int64 = row[0]
        guard let state = ActionState(rawValue: row[4]) else { throw StoreError.corrupt("action \(id) has an unknown state") }
        let recorded: String? = row[8]
        var accountRef: String?, accountRefPseudonym: String?
        if let recorded, recorded.hasPrefix(Self.pseudonymousIdPrefix) {
            accountRefPseudonym = String(recorded.dropFirst(Self.pseudonymousIdPrefix.count))
        } else {
            accountRef = recorded
        }
        var written: [String: JSONValue] = [:]
        if let text = row[16] as String?, case .object(let values)? = JSONValue.parse(Data(text.utf8)) {
            written = values
        }
        self.init(id: id, requestId: row[1], target: row[2], plan: try PlanCodec.decode(row[3]), state: state, attempts: row[5],
                  budgetStart: row[6], nextAttemptAt: Date(timeIntervalSince1970: row[7]), accountRef: accountRef,
                  accountRefPseudonym: accountRefPseudonym, outcome: (row[9] as String?).flatMap(ActionOutcome.init(rawValue:)),
                  verified: row[10], verification: row[11], lastError: row[12],
                  completedAt: (row[13] as Double?).map(Date.init(timeIntervalSince1970:)), follows: row[14],
                  notBefore: (row[15] as String?).flatMap(CalendarDate.init(iso:)), written: written,
                  evidence: (row[17] as String?).flatMap(Evidence.init(rawValue:)), confirmedBy: row[18])
    }
}

extension StoredAttempt {
    init(row: Row) {
        let actionId: Int64 = row["action_id"], number: Int = row["number"], durationMs: Int = row["duration_ms"]
        let result: String = row["result"], statusCode: Int? = row["status_code"], error: String? = row["error"]
        self.init(actionId: actionId, number: number, startedAt: Date(timeIntervalSince1970: row["started_at"]),
                  durationMs: durationMs, result: result, statusCode: statusCode, error: error)
    }
}

extension AuditEvent {
    init(row: Row) {
        self.init(seq: row["seq"], at: row["at"], requestId: row["request_id"], target: row["target"], event: row["event"],
                  details: row["details"], prevHash: row["prev_hash"], hash: row["hash"])
    }
}

extension APIToken {
    init(row: Row) throws {
        let id: String = row["id"]
        guard let role = TokenRole(rawValue: row["role"]) else { throw StoreError.corrupt("token \(id) has an unknown role") }
        self.init(id: id, name: row["name"], role: role, createdAt: Date(timeIntervalSince1970: row["created_at"]),
                  revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
