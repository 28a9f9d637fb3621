import Foundation
import GRDB
import LetheCore
import LetheStorage

/// Manual targets' tasks (`TaskDesk`): handed to a person by the engine, confirmed by them.
extension AppDatabase {
    public func openTasks() throws -> [(request: StoredRequest, action: StoredAction)] {
        try writer.read { db in
            let actions = try Row.fetchAll(db, sql: """
                SELECT \(StoredAction.selection) FROM action WHERE state = 'awaiting_confirmation' ORDER BY id
                """).map { try StoredAction(row: $0) }
            return try actions.map { (request: try self.request($0.requestId, in: db), action: $0) }
        }
    }

    public func confirmTask(_ requestId: String, target: String, outcome: TaskOutcome, by actor: Principal, note: String?,
                            evidence: Evidence, now: Date) throws -> RequestState {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            guard let row = try Row.fetchOne(db, sql: """
                SELECT \(StoredAction.selection) FROM action WHERE request_id = ? AND target = ? AND not_before = ''
                """, arguments: [request.id, target]) else {
                throw StoreError.notFound("request \(request.id) has no action for target \(target)")
            }
            let action = try StoredAction(row: row)
            try action.checkConfirmable()
            if evidence == .person { try request.checkConfirmer(actor) }
            let transition = ActionStateMachine.afterConfirmation(outcome, by: actor.name, note: note, evidence: evidence)
            let t = now.timeIntervalSince1970
            try db.execute(sql: """
                UPDATE action SET state = ?, outcome = ?, verified = NULL, verification = ?, last_error = ?, completed_at = ?,
                    evidence = ?, confirmed_by = ? WHERE id = ?
                """, arguments: [transition.state.rawValue, transition.outcome?.rawValue, transition.verification, transition.reason, t,
                                 transition.evidence?.rawValue, actor.name, action.id])
            try Self.appendAudit(db, at: now, request: request.id, target: target, event: transition.event,
                                 details: StoredAction.confirmationDetails(outcome, transition, by: actor, note: note, evidence: evidence))
            return try Self.refreshState(of: request.id, in: db, now: now)
        }
    }

    public func announceOverdueTasks(now: Date) throws -> [StoredAction] {
        let t = now.timeIntervalSince1970
        return try writer.write { db in
            let overdue = try Row.fetchAll(db, sql: """
                SELECT \(StoredAction.selection) FROM action
                WHERE state = 'awaiting_confirmation' AND task_overdue_at IS NULL AND next_attempt_at <= ? ORDER BY id
                """, arguments: [t]).map { try StoredAction(row: $0) }
            for action in overdue {
                try db.execute(sql: "UPDATE action SET task_overdue_at = ? WHERE id = ?", arguments: [t, action.id])
                try Self.appendAudit(db, at: now, request: action.requestId, target: action.target, event: .taskOverdue,
                                     details: ["due": .string(Timestamp.iso8601(action.nextAttemptAt))])
            }
            return overdue
        }
    }

    public func task(actionId: Int64) throws -> (request: StoredRequest, action: StoredAction)? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(StoredAction.selection) FROM action WHERE id = ?", arguments: [actionId]) else { return nil }
            let action = try StoredAction(row: row)
            return (request: try self.request(action.requestId, in: db), action: action)
        }
    }

    public func recordRefusedCallback(actionId: Int64, reason: String, now: Date) throws {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT request_id, target FROM action WHERE id = ?", arguments: [actionId]) else { return }
            try Self.appendAudit(db, at: now, request: row[0], target: row[1], event: .callbackRefused,
                                 details: ["action": .number(Double(actionId)), "reason": .string(reason)])
        }
    }

    public func expireTask(actionId: Int64, transition: ActionStateMachine.Transition, now: Date) throws {
        let t = now.timeIntervalSince1970
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT request_id, target FROM action WHERE id = ? AND state = 'awaiting_confirmation'",
                                             arguments: [actionId]) else { return }
            try db.execute(sql: """
                UPDATE action SET state = ?, next_attempt_at = ?, last_error = ?, completed_at = ?, task_overdue_at = NULL WHERE id = ?
                """, arguments: [transition.state.rawValue, t + (transition.retryIn ?? 0), transition.reason, transition.state.isTerminal ? t : nil,
                                 actionId])
            try Self.appendAudit(db, at: now, request: row[0], target: row[1], event: transition.event,
                                 details: ["reason": .string(transition.reason ?? "")])
            try Self.refreshState(of: row[0], in: db, now: now)
        }
    }
}
