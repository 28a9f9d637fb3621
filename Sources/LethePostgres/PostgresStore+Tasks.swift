import Foundation
import LetheCore
import LetheStorage

/// Manual targets' tasks (`TaskDesk`), as in the SQLite store.
extension PostgresStore {
    public func openTasks() throws -> [(request: StoredRequest, action: StoredAction)] {
        try connections.snapshot { session in
            let actions = try session.rows("""
                SELECT \(unescaped: Self.actionColumns) FROM action WHERE state = 'awaiting_confirmation' ORDER BY id
                """).map(Self.action(from:))
            return try actions.map { (request: try self.request($0.requestId, in: session), action: $0) }
        }
    }

    public func confirmTask(_ requestId: String, target: String, outcome: TaskOutcome, by actor: Principal, note: String?,
                            now: Date) throws -> RequestState {
        try connections.write(chain: true) { session in
            let request = try self.request(requestId, in: session)
            guard let row = try session.row("""
                SELECT \(unescaped: Self.actionColumns) FROM action WHERE request_id = \(request.id) AND target = \(target) AND not_before = ''
                FOR UPDATE
                """) else {
                throw StoreError.notFound("request \(request.id) has no action for target \(target)")
            }
            let action = try Self.action(from: row)
            try action.checkConfirmable()
            try request.checkConfirmer(actor)
            let transition = ActionStateMachine.afterConfirmation(outcome, by: actor.name, note: note)
            try session.execute("""
                UPDATE action SET state = \(transition.state.rawValue), outcome = \(transition.outcome?.rawValue), verified = NULL,
                    verification = \(transition.verification), last_error = \(transition.reason), completed_at = \(now.timeIntervalSince1970),
                    evidence = \(transition.evidence?.rawValue), confirmed_by = \(actor.name)
                WHERE id = \(action.id)
                """)
            try Self.appendAudit(session, at: now, request: request.id, target: target, event: transition.event,
                                 details: StoredAction.confirmationDetails(outcome, transition, by: actor, note: note))
            return try Self.refreshState(of: request.id, in: session, now: now)
        }
    }

    public func announceOverdueTasks(now: Date) throws -> [StoredAction] {
        let t = now.timeIntervalSince1970
        return try connections.write(chain: true) { session in
            let overdue = try session.rows("""
                UPDATE action SET task_overdue_at = \(t)
                WHERE state = 'awaiting_confirmation' AND task_overdue_at IS NULL AND next_attempt_at <= \(t)
                RETURNING \(unescaped: Self.actionColumns)
                """).map(Self.action(from:)).sorted { $0.id < $1.id }
            for action in overdue {
                try Self.appendAudit(session, at: now, request: action.requestId, target: action.target, event: .taskOverdue,
                                     details: ["due": .string(Timestamp.iso8601(action.nextAttemptAt))])
            }
            return overdue
        }
    }
}
