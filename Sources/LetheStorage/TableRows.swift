import Foundation

/// A column's value as both stores keep it, for copying a store's rows as they are
/// (`lethe db copy`): no record type in between, so nothing is re-encoded and no audit hash changes.
public enum StoreValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// The tables a deployment's history is in, in an order that satisfies their references, with
/// the columns both stores have. Job leases are not history (they are held by running
/// processes) and are not copied.
public enum StoreTables {
    public static let copied: [(table: String, columns: [String])] = [
        ("meta", ["key", "value"]),
        ("request", ["id", "kind", "ref", "purposes", "pseudonym", "email", "external_id", "user_name", "requested_by", "note", "received", "due",
                     "extended_months", "created_at", "completed_at", "state", "cancel_reason", "approval", "decided_by", "decided_at",
                     "decision_note", "starts_at", "filer_identities"]),
        ("action", ["id", "request_id", "target", "plan", "operation", "state", "attempts", "budget_start", "next_attempt_at", "claimed_at",
                    "claimed_by", "account_ref", "outcome", "verified", "verification", "last_error", "completed_at", "follows", "not_before",
                    "written", "server_message", "lease_expires_at"]),
        ("attempt", ["id", "action_id", "number", "started_at", "finished_at", "duration_ms", "result", "status_code", "error"]),
        ("audit_event", ["seq", "at", "request_id", "target", "event", "details", "prev_hash", "hash"]),
        ("action_final", ["action_id", "seq"]),
        ("sweep_filed", ["pseudonym", "purpose", "changed_at", "request_id", "filed_at"]),
        ("api_token", ["id", "name", "role", "sha256", "created_at", "revoked_at"]),
        ("webhook_cursor", ["url", "last_seq", "attempts", "next_attempt_at", "last_error"]),
        ("webhook_overdue", ["url", "request_id"]),
        ("dashboard_session", ["id_digest", "token_id", "csrf", "expires_at"]),
        ("audit_checkpoint", ["id", "line"]),
    ]

    /// The key column each table is read in order of (rowid order for tables without one).
    public static func order(of table: String) -> String {
        switch table {
        case "audit_event": "seq"
        case "action", "attempt", "audit_checkpoint": "id"
        default: "rowid"
        }
    }
}

/// A store whose tables can be read as rows (the source of a copy).
public protocol TableReading {
    /// The rows of `table`, `batch` at a time, in its key order.
    func readRows(of table: String, columns: [String], batch: Int, _ body: ([[StoreValue]]) throws -> Void) throws
}

/// A store that can take rows as they are (the destination of a copy).
public protocol TableWriting {
    /// True when the store holds no history yet (no request, event or token).
    func isEmpty() throws -> Bool
    /// Inserts rows as they are, in one transaction with the caller's other inserts (`finishCopy` commits).
    func insertRows(into table: String, columns: [String], rows: [[StoreValue]]) throws
    /// After a copy: whatever the store derives from the rows (its id sequences) brought up to date.
    func finishCopy() throws
}
