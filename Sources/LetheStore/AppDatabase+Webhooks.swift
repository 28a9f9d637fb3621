import Foundation
import GRDB
import LetheCore
import LetheStorage

/// The store side of webhooks: the audit log is the outbox, each URL has a cursor.
extension AppDatabase {


    public func webhookCursor(url: String) throws -> WebhookCursor {
        try writer.write { db in
            let head = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM audit_event") ?? 0
            try db.execute(sql: "INSERT OR IGNORE INTO webhook_cursor (url, last_seq) VALUES (?, ?)", arguments: [url, head])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_cursor WHERE url = ?", arguments: [url])!
            return WebhookCursor(url: url, lastSeq: row["last_seq"], attempts: row["attempts"],
                                 nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]))
        }
    }

    /// The next event after the cursor a webhook is told of, with its request.
    public func nextWebhookEvent(after seq: Int64) throws -> (event: AuditEvent, request: StoredRequest)? {
        try writer.read { db in
            let kinds = AuditChain.webhookEvents.map { "'\($0)'" }.joined(separator: ", ")
            guard let event = try Row.fetchOne(db, sql: "SELECT * FROM audit_event WHERE seq > ? AND event IN (\(kinds)) ORDER BY seq LIMIT 1",
                                               arguments: [seq]).map(AuditEvent.init),
                  let id = event.requestId else { return nil }
            return (event, try request(id, in: db))
        }
    }

    /// After a 2xx: the cursor moves past `seq`.
    public func webhookDelivered(url: String, seq: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE webhook_cursor SET last_seq = ?, attempts = 0, next_attempt_at = 0, last_error = NULL WHERE url = ?",
                           arguments: [seq, url])
        }
    }

    /// After a failure: the same event again at `retryAt`.
    public func webhookFailed(url: String, error: String, retryAt: Date) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE webhook_cursor SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE url = ?",
                           arguments: [retryAt.timeIntervalSince1970, error, url])
        }
    }

    /// Requests overdue on `today` that `url` was not told of yet.
    public func overdueNotNotified(url: String, today: CalendarDate, limit: Int) throws -> [StoredRequest] {
        try writer.read { db in
            let states = DeadlineStanding.statesThatCanBeOverdue.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            return try Row.fetchAll(db, sql: """
                SELECT * FROM request WHERE state IN (\(states)) AND due < ?
                AND id NOT IN (SELECT request_id FROM webhook_overdue WHERE url = ?) ORDER BY due, id LIMIT \(limit)
                """, arguments: [today.description, url]).map { try StoredRequest(row: $0, sealer: sealer) }
        }
    }

    public func overdueNotified(url: String, requestId: String) throws {
        try writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO webhook_overdue (url, request_id) VALUES (?, ?)", arguments: [url, requestId])
        }
    }
}
