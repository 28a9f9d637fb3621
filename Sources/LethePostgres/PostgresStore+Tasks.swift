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
                            evidence: Evidence, now: Date) throws -> RequestState {
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
            if evidence == .person { try request.checkConfirmer(actor) }
            let transition = ActionStateMachine.afterConfirmation(outcome, by: actor.name, note: note, evidence: evidence)
            try session.execute("""
                UPDATE action SET state = \(transition.state.rawValue), outcome = \(transition.outcome?.rawValue), verified = NULL,
                    verification = \(transition.verification), last_error = \(transition.reason), completed_at = \(now.timeIntervalSince1970),
                    evidence = \(transition.evidence?.rawValue), confirmed_by = \(actor.name)
                WHERE id = \(action.id)
                """)
            try Self.appendAudit(session, at: now, request: request.id, target: target, event: transition.event,
                                 details: StoredAction.confirmationDetails(outcome, transition, by: actor, note: note, evidence: evidence))
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

    public func task(actionId: Int64) throws -> (request: StoredRequest, action: StoredAction)? {
        try connections.snapshot { session in
            guard let row = try session.row("SELECT \(unescaped: Self.actionColumns) FROM action WHERE id = \(actionId)") else { return nil }
            let action = try Self.action(from: row)
            return (request: try self.request(action.requestId, in: session), action: action)
        }
    }

    public func recordRefusedCallback(actionId: Int64, reason: String, now: Date) throws {
        try connections.write(chain: true) { session in
            guard let row = try session.row("SELECT request_id, target FROM action WHERE id = \(actionId)") else { return }
            try Self.appendAudit(session, at: now, request: try row.at(0), target: try row.at(1), event: .callbackRefused,
                                 details: ["action": .number(Double(actionId)), "reason": .string(reason)])
        }
    }

    public func expireTask(actionId: Int64, transition: ActionStateMachine.Transition, now: Date) throws {
        let t = now.timeIntervalSince1970
        try connections.write(chain: true) { session in
            guard let row = try session.row("""
                UPDATE action SET state = \(transition.state.rawValue), next_attempt_at = \(t + (transition.retryIn ?? 0)),
                    last_error = \(transition.reason), completed_at = \(transition.state.isTerminal ? t : nil), task_overdue_at = NULL
                WHERE id = \(actionId) AND state = 'awaiting_confirmation' RETURNING request_id, target
                """) else { return }
            let requestId: String = try row.at(0)
            try Self.appendAudit(session, at: now, request: requestId, target: try row.at(1), event: transition.event,
                                 details: ["reason": .string(transition.reason ?? "")])
            try Self.refreshState(of: requestId, in: session, now: now)
        }
    }
}
