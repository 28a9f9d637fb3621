import Foundation
import GRDB
import LetheCore
import LetheStorage

extension AppDatabase {
    /// Approves a request that awaits approval: its held actions become pending, due at the end
    /// of its grace period (or now, if that has passed). The approver must not be the person
    /// who filed it: no principal of the approver may be among the filing's (`StoredRequest.isFiled(by:)`).
    public func approve(_ requestId: String, by actor: Principal, note: String?, now: Date) throws -> StoredRequest {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            let filer = try request.approvalFiler(by: actor)
            let t = now.timeIntervalSince1970
            let startsAt = max(t, request.startsAt?.timeIntervalSince1970 ?? t)
            try db.execute(sql: "UPDATE action SET state = 'pending', next_attempt_at = ? WHERE request_id = ? AND state = 'held'",
                           arguments: [startsAt, requestId])
            try db.execute(sql: """
                UPDATE request SET approval = 'approved', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?
                """, arguments: [actor.name, t, note, requestId])
            var details: [String: JSONValue] = ["by": .string(actor.name), "filed_by": .string(filer)]
            if let note { details["note"] = .string(note) }
            if startsAt > t { details["starts_at"] = .string(Timestamp.iso8601(Date(timeIntervalSince1970: startsAt))) }
            try Self.appendAudit(db, at: now, request: requestId, target: nil, event: .approvalGranted, details: details)
            try Self.refreshState(of: requestId, in: db, now: now)
            return try self.request(requestId, in: db)
        }
    }

    /// Rejects a request before anything was attempted (identity not verified, a manifestly
    /// unfounded request: GDPR Art. 12(5)): its actions are not carried out, it ends `rejected`
    /// with the reason, and its identifiers are purged like any ended request. A request some
    /// system already acted on cannot be rejected (that would misstate what happened): cancel it.
    public func reject(_ requestId: String, by actor: String, reason: String, now: Date) throws -> StoredRequest {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            try request.checkRejectable()
            let attempted = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(attempts), 0) FROM action WHERE request_id = ?", arguments: [requestId]) ?? 0
            try request.checkNothingAttempted(attempted)
            let t = now.timeIntervalSince1970
            let targets = try String.fetchAll(db, sql: "SELECT target FROM action WHERE request_id = ? AND state IN \(Self.cancellableStates)",
                                              arguments: [requestId])
            try db.execute(sql: """
                UPDATE action SET state = 'cancelled', completed_at = ?, claimed_by = NULL, last_error = ?
                WHERE request_id = ? AND state IN \(Self.cancellableStates)
                """, arguments: [t, AuditChain.notCarriedOutRejected, requestId])
            try db.execute(sql: """
                UPDATE request SET approval = 'rejected', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?
                """, arguments: [actor, t, reason, requestId])
            let details: [String: JSONValue] = ["by": .string(actor), "reason": .string(reason)]
            try Self.appendAudit(db, at: now, request: requestId, target: nil, event: .rejectionRecorded, details: details)
            for target in targets {
                try Self.appendAudit(db, at: now, request: requestId, target: target, event: .actionCancelled, details: details)
            }
            try Self.refreshState(of: requestId, in: db, now: now)
            return try self.request(requestId, in: db)
        }
    }

    /// How many requests are in a state (an index count).
    public func count(state: RequestState) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM request WHERE state = ?"), arguments: [state.rawValue]) ?? 0
        }
    }

}
