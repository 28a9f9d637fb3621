import Foundation
import LetheCore
import LetheStorage
import PostgresNIO

// The records of LetheStorage as read from PostgreSQL rows (the same columns as SQLite's).

extension PostgresStore {
    /// The request columns `request(from:)` reads.
    static let requestColumns = "id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by, note, received, due, "
        + "extended_months, created_at, completed_at, state, cancel_reason, approval, decided_by, decided_at, decision_note, starts_at, filer_identities"

    /// The same columns, each prefixed with `request.` (for joins).
    static let requestColumnsQualified = requestColumns.split(separator: ",").map { "request." + $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: ", ")

    func request(from row: PGRow) throws -> StoredRequest {
        let id: String = try row["id"]
        let purposesText: String = try row["purposes"]
        guard case .array(let items)? = JSONValue.parse(Data(purposesText.utf8)) else {
            throw StoreError.corrupt("request \(id) has unreadable purposes")
        }
        let purposes = try items.map { item in
            guard let purpose = item.stringValue else { throw StoreError.corrupt("request \(id) has a purpose that is not a string") }
            return purpose
        }
        let identifiers = try StoredIdentifiers.opened([try row["email"], try row["external_id"], try row["user_name"]], request: id, sealer: sealer)
        guard let state = RequestState(rawValue: try row["state"]) else { throw StoreError.corrupt("request \(id) has an unknown state") }
        var approval: Approval?
        if let decision: String = try row["approval"] {
            guard let state = Approval.State(rawValue: decision) else { throw StoreError.corrupt("request \(id) has an unknown approval state") }
            approval = Approval(state: state, by: try row["decided_by"], at: (try row["decided_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                note: try row["decision_note"])
        }
        let requestedBy: String? = try row["requested_by"]
        var filerIdentities: Set<String> = []
        if let text: String = try row["filer_identities"] {
            guard case .array(let items)? = JSONValue.parse(Data(text.utf8)) else {
                throw StoreError.corrupt("request \(id) has unreadable filer principals")
            }
            filerIdentities = Set(items.compactMap(\.stringValue))
        } else if let requestedBy {
            filerIdentities = [Principal.identity(name: requestedBy)]
        }
        let extended: Int64 = try row["extended_months"]
        return StoredRequest(
            id: id, kind: try row["kind"], ref: try row["ref"], purposes: purposes, pseudonym: try row["pseudonym"], identifiers: identifiers,
            requestedBy: requestedBy, filerIdentities: filerIdentities, note: try row["note"], received: try Self.day(try row["received"]),
            due: try Self.day(try row["due"]), extendedMonths: Int(extended), createdAt: Date(timeIntervalSince1970: try row["created_at"]),
            completedAt: (try row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)), state: state,
            cancelReason: try row["cancel_reason"], approval: approval,
            startsAt: (try row["starts_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func day(_ text: String) throws -> CalendarDate {
        guard let date = CalendarDate(iso: text) else { throw StoreError.corrupt("bad date \(text)") }
        return date
    }

    /// The action columns `action(from:)` reads, in its order.
    static let actionColumns = "id, request_id, target, plan, state, attempts, budget_start, next_attempt_at, account_ref, outcome, verified, "
        + "verification, last_error, completed_at, follows, not_before, written, evidence, confirmed_by"

    static func action(from row: PGRow) throws -> StoredAction {
        let id = try row.at(0, as: Int64.self)
        guard let state = ActionState(rawValue: try row.at(4, as: String.self)) else { throw StoreError.corrupt("action \(id) has an unknown state") }
        let recorded = try row.at(8, as: String?.self)
        var accountRef: String?, accountRefPseudonym: String?
        if let recorded, recorded.hasPrefix(StoredAction.pseudonymousIdPrefix) {
            accountRefPseudonym = String(recorded.dropFirst(StoredAction.pseudonymousIdPrefix.count))
        } else {
            accountRef = recorded
        }
        var written: [String: JSONValue] = [:]
        if let text = try row.at(16, as: String?.self), case .object(let values)? = JSONValue.parse(Data(text.utf8)) {
            written = values
        }
        return StoredAction(
            id: id, requestId: try row.at(1), target: try row.at(2), plan: try PlanCodec.decode(try row.at(3)), state: state,
            attempts: Int(try row.at(5, as: Int64.self)), budgetStart: Int(try row.at(6, as: Int64.self)),
            nextAttemptAt: Date(timeIntervalSince1970: try row.at(7)), accountRef: accountRef, accountRefPseudonym: accountRefPseudonym,
            outcome: (try row.at(9, as: String?.self)).flatMap(ActionOutcome.init(rawValue:)), verified: try row.at(10), verification: try row.at(11),
            lastError: try row.at(12), completedAt: (try row.at(13, as: Double?.self)).map(Date.init(timeIntervalSince1970:)),
            follows: try row.at(14), notBefore: (try row.at(15, as: String?.self)).flatMap(CalendarDate.init(iso:)), written: written,
            evidence: (try row.at(17, as: String?.self)).flatMap(Evidence.init(rawValue:)), confirmedBy: try row.at(18))
    }

    static let eventColumns = "seq, at, request_id, target, event, details, prev_hash, hash"

    static func event(from row: PGRow) throws -> AuditEvent {
        AuditEvent(seq: try row.at(0), at: try row.at(1), requestId: try row.at(2), target: try row.at(3), event: try row.at(4),
                   details: try row.at(5), prevHash: try row.at(6), hash: try row.at(7))
    }

    static let tokenColumns = "id, name, role, created_at, revoked_at"

    static func token(from row: PGRow) throws -> APIToken {
        let id: String = try row.at(0)
        guard let role = TokenRole(rawValue: try row.at(2)) else { throw StoreError.corrupt("token \(id) has an unknown role") }
        return APIToken(id: id, name: try row.at(1), role: role, createdAt: Date(timeIntervalSince1970: try row.at(3)),
                        revokedAt: (try row.at(4, as: Double?.self)).map(Date.init(timeIntervalSince1970:)))
    }
}

/// SQL put together piece by piece, each value a bound parameter (`$1`, `$2`, ...), never text.
struct SQLBuilder {
    var sql = ""
    private var bindings = PostgresBindings()
    private var count = 0

    init(_ sql: String = "") { self.sql = sql }

    /// Binds a value and returns its placeholder.
    mutating func bind<T: PostgresDynamicTypeEncodable>(_ value: T) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: bindings) }
}
