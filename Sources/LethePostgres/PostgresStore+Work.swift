import Foundation
import LetheCore
import LetheStorage
import PostgresNIO

/// The engine's side (`WorkQueue`): leased claims that several workers share.
extension PostgresStore {
    /// Claims for several targets in one transaction. Rows are locked `FOR UPDATE SKIP LOCKED`:
    /// an action another worker is writing is passed over, never waited for or handed out twice.
    /// The transaction holds the chain lock, so counting a target's running actions against
    /// its cap and claiming are one step for the whole deployment.
    public func claim(_ wanted: [(target: String, limit: Int)], runner: String, now: Date, lease: Double,
                      caps: [String: Int]) async throws -> [ClaimedAction] {
        let wanted = wanted.filter { $0.limit > 0 }.map { Wanted(target: $0.target, limit: $0.limit) }
        guard !wanted.isEmpty else { return [] }
        try Task.checkCancellation()
        let sealer = sealer
        return try await connections.writeAsync(chain: true) { session in
            let t = now.timeIntervalSince1970
            var claimed: [ClaimedAction] = []
            var refreshed = Set<String>()
            for want in wanted {
                var limit = want.limit
                if let cap = caps[want.target] {
                    let running = try session.value("SELECT COUNT(*) FROM action WHERE target = \(want.target) AND state = 'running'", as: Int64.self) ?? 0
                    limit = min(limit, cap - Int(running))
                    guard limit > 0 else { continue }
                }
                // The claim and the requests' columns in one round trip.
                let rows = try session.rows("""
                    WITH claimed AS (
                        UPDATE action SET state = 'running', attempts = attempts + 1, claimed_at = \(t), claimed_by = \(runner), lease_expires_at = \(t + lease)
                        WHERE id IN (
                            SELECT id FROM action WHERE target = \(want.target) AND state IN \(unescaped: Self.claimableStates) AND next_attempt_at <= \(t)
                            ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                        RETURNING \(unescaped: Self.actionColumns))
                    SELECT claimed.*, request.pseudonym, request.email, request.external_id, request.user_name,
                        request.state = 'in_progress' AND request.cancel_reason IS NULL
                    FROM claimed JOIN request ON request.id = claimed.request_id
                    ORDER BY claimed.next_attempt_at, claimed.id
                    """)
                for row in rows {
                    let action = try Self.action(from: row)
                    let request = Self.claimedRequestColumns
                    let identifiers = try StoredIdentifiers.opened([try row.at(request + 1), try row.at(request + 2), try row.at(request + 3)],
                                                                   request: action.requestId, sealer: sealer)
                    try Self.appendAudit(session, at: now, request: action.requestId, target: want.target, event: .actionStarted,
                                         details: AuditDetails.started(action))
                    // Starting an action moves an open request to in_progress and no further: one
                    // already there (or refreshed earlier in this transaction) stays as it is.
                    if try !row.at(request + 4, as: Bool.self), !refreshed.contains(action.requestId) {
                        try Self.refreshState(of: action.requestId, in: session, now: now)
                        refreshed.insert(action.requestId)
                    }
                    var claim = ClaimedAction(action: action, requestId: action.requestId, pseudonym: try row.at(request), identifiers: identifiers,
                                              attempt: action.attempts, attemptsInBudget: action.attempts - action.budgetStart)
                    claim.leaseExpiresAt = Date(timeIntervalSince1970: t + lease)
                    claimed.append(claim)
                }
            }
            return claimed
        }
    }

    /// Where a claim's row has the request's pseudonym (then e-mail, external id, user name):
    /// after the action's columns.
    private static let claimedRequestColumns = actionColumns.split(separator: ",").count

    private struct Wanted: Sendable {
        var target: String
        var limit: Int
    }

    /// One statement for every lease. A row another transaction holds (a result being recorded
    /// in a group) is skipped, not waited for: waiting while holding other rows could close a
    /// cycle with that group. Lost are the leases whose action another attempt holds now, or that
    /// were taken back; not those whose result this attempt has just recorded.
    public func renew(_ leases: [ClaimedAction.Lease], until: Date) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        let ids = leases.map(\.actionId), attempts = leases.map { Int64($0.attempt) }
        return try await connections.writeAsync(chain: false) { session in
            let lost = try session.rows("""
                WITH lease AS (SELECT * FROM unnest(\(ids)::int8[], \(attempts)::int8[]) AS l(id, attempt)),
                renewed AS (
                    UPDATE action SET lease_expires_at = \(until.timeIntervalSince1970)
                    WHERE id IN (SELECT action.id FROM action JOIN lease ON lease.id = action.id
                                 WHERE action.attempts = lease.attempt AND action.state = 'running' FOR UPDATE OF action SKIP LOCKED)
                    RETURNING id)
                SELECT lease.id FROM lease LEFT JOIN action ON action.id = lease.id
                WHERE lease.id NOT IN (SELECT id FROM renewed)
                    AND (action.id IS NULL OR action.attempts <> lease.attempt
                         OR (action.state <> 'running' AND NOT EXISTS (
                             SELECT 1 FROM attempt WHERE action_id = lease.id AND number = lease.attempt AND result <> 'interrupted')))
                """)
            return Set(try lost.map { try $0.at(0, as: Int64.self) })
        }
    }

    /// Refuses (`StoreError.leaseLost`) when `attempt` no longer holds the action. Locks the
    /// action's row until the transaction ends, so a rescue cannot take it back in between.
    static func requireLease(_ actionId: Int64, attempt: Int, in session: PGSession) throws {
        let held = try session.value("""
            SELECT attempts = \(attempt) AND NOT EXISTS (SELECT 1 FROM attempt WHERE action_id = \(actionId) AND number = \(attempt))
            FROM action WHERE id = \(actionId) FOR UPDATE
            """, as: Bool.self) ?? false
        if !held { throw StoreError.leaseLost(actionId: actionId, attempt: attempt) }
    }

    public func recordAccountRef(actionId: Int64, accountRef: String, attempt: Int?) async throws {
        try await connections.writeAsync(chain: false) { session in
            // One statement when the lease holds (the usual case); the lease check only on the way out.
            let changed = try session.execute("""
                UPDATE action SET account_ref = \(accountRef) WHERE id = \(actionId) AND state = 'running'
                    AND (\(attempt)::int8 IS NULL OR (attempts = \(attempt) AND NOT EXISTS (SELECT 1 FROM attempt WHERE action_id = \(actionId) AND number = \(attempt))))
                """)
            if changed == 0, let attempt { try Self.requireLease(actionId, attempt: attempt, in: session) }
        }
    }

    public func recordWritten(actionId: Int64, values: [String: JSONValue], accountRef: String?, attempt: Int?) async throws {
        guard !values.isEmpty else {
            if let accountRef { try await recordAccountRef(actionId: actionId, accountRef: accountRef, attempt: attempt) }
            return
        }
        try await connections.writeAsync(chain: false) { session in
            // The lease check and the values written so far in one read; both columns in one write.
            guard let row = try session.row("""
                SELECT written, \(attempt)::int8 IS NULL OR (attempts = \(attempt)
                    AND NOT EXISTS (SELECT 1 FROM attempt WHERE action_id = action.id AND number = \(attempt)))
                FROM action WHERE id = \(actionId) FOR UPDATE
                """) else {
                if let attempt { throw StoreError.leaseLost(actionId: actionId, attempt: attempt) }
                return
            }
            if let attempt, try !row.at(1, as: Bool.self) { throw StoreError.leaseLost(actionId: actionId, attempt: attempt) }
            var merged: [String: JSONValue] = [:]
            if let old = try row.at(0, as: String?.self), case .object(let values)? = JSONValue.parse(Data(old.utf8)) { merged = values }
            merged.merge(values) { _, new in new }
            try session.execute("""
                UPDATE action SET written = \(CanonicalJSON.string(.object(merged))), account_ref = COALESCE(\(accountRef), account_ref)
                WHERE id = \(actionId) AND state = 'running'
                """)
        }
    }

    @discardableResult
    public func record(_ attempt: AttemptReport, transition: ActionStateMachine.Transition, now: Date) async throws -> RequestState {
        try await connections.writeAsync(chain: true) { session in
            // The lease check, the action, its request and the chain's head in one round trip.
            guard let row = try session.row("""
                SELECT action.request_id, action.target, action.state, action.plan, action.account_ref, action.follows, action.not_before,
                    request.cancel_reason,
                    action.attempts = \(attempt.number) AND NOT EXISTS (SELECT 1 FROM attempt WHERE action_id = action.id AND number = \(attempt.number)),
                    head.seq, head.hash
                FROM action JOIN request ON request.id = action.request_id
                    LEFT JOIN LATERAL (SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1) head ON true
                WHERE action.id = \(attempt.actionId) FOR UPDATE OF action
                """) else {
                throw StoreError.leaseLost(actionId: attempt.actionId, attempt: attempt.number)
            }
            guard try row.at(8, as: Bool.self) else { throw StoreError.leaseLost(actionId: attempt.actionId, attempt: attempt.number) }
            session.chainHead.last = (try row.at(9, as: Int64?.self) ?? 0, try row.at(10, as: String?.self) ?? AuditChain.genesisHash)
            let requestId: String = try row.at(0), target: String = try row.at(1), state: String = try row.at(2)
            let transition = try row.at(7, as: String?.self) == nil ? transition : ActionStateMachine.afterCancellation(transition)
            let durationMs = Int((attempt.finishedAt.timeIntervalSince(attempt.startedAt) * 1000).rounded())
            let insertAttempt: PostgresQuery = """
                INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result, status_code, error)
                VALUES (\(attempt.actionId), \(attempt.number), \(attempt.startedAt.timeIntervalSince1970), \(attempt.finishedAt.timeIntervalSince1970),
                        \(durationMs), \(attempt.result.rawValue), \(attempt.statusCode), \(attempt.error))
                """
            guard state == ActionState.running.rawValue else {
                try session.execute(insertAttempt)
                try Self.appendAudit(session, at: now, request: requestId, target: target, event: .attemptAfter(ActionState(rawValue: state) ?? .pending),
                                     details: ["attempt": .number(Double(attempt.number)), "result": .string(attempt.result.rawValue)])
                return try Self.refreshState(of: requestId, in: session, now: now)
            }
            let t = now.timeIntervalSince1970
            let completedAt: Double? = transition.state.isTerminal ? t : nil
            try session.execute("""
                WITH recorded AS (
                    INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result, status_code, error)
                    VALUES (\(attempt.actionId), \(attempt.number), \(attempt.startedAt.timeIntervalSince1970), \(attempt.finishedAt.timeIntervalSince1970),
                            \(durationMs), \(attempt.result.rawValue), \(attempt.statusCode), \(attempt.error)))
                UPDATE action SET state = \(transition.state.rawValue), next_attempt_at = \(t + (transition.retryIn ?? 0)),
                    outcome = COALESCE(\(transition.outcome?.rawValue), outcome), verified = \(transition.verified), verification = \(transition.verification),
                    last_error = \(transition.reason), completed_at = \(completedAt), claimed_by = NULL, lease_expires_at = NULL,
                    server_message = \(attempt.serverMessage), evidence = COALESCE(\(transition.evidence?.rawValue), evidence)
                WHERE id = \(attempt.actionId)
                """)
            let notBefore = try row.at(6, as: String.self)
            try Self.appendAudit(session, at: now, request: requestId, target: target, event: transition.event,
                                 details: AuditDetails.recorded(attempt, transition, followUp: notBefore))
            if transition.state == .succeeded, try row.at(5, as: Int64?.self) == nil {
                try Self.scheduleRetentionEnd(of: attempt.actionId, request: requestId, target: target, plan: try row.at(3),
                                              accountRef: try row.at(4), outcome: transition.outcome, in: session, now: now)
            }
            return try Self.refreshState(of: requestId, in: session, now: now)
        }
    }

    static func scheduleRetentionEnd(of actionId: Int64, request: String, target: String, plan json: String, accountRef: String?,
                                     outcome: ActionOutcome?, in session: PGSession, now: Date) throws {
        guard let outcome, outcome != .deleted, outcome != .absent, outcome != .notApplicable, let accountRef else { return }
        for followUp in RetentionFollowUp.followUps(of: try PlanCodec.decode(json)) {
            let changed = try session.execute("""
                INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, account_ref, follows, not_before, written)
                VALUES (\(request), \(target), \(try PlanCodec.encode(followUp.plan)), \(followUp.plan.operation.rawValue), 'scheduled',
                        \(followUp.due.secondsSince1970AtMidnightUTC), \(accountRef), \(actionId), \(followUp.due.description),
                        (SELECT written FROM action WHERE id = \(actionId)))
                ON CONFLICT DO NOTHING
                """)
            guard changed > 0 else { continue }
            try appendAudit(session, at: now, request: request, target: target, event: .actionScheduled, details: AuditDetails.scheduled(followUp))
        }
    }

    public func rescueRunning(now: Date) async throws -> Int { try await rescue(expiredBefore: nil, now: now) }

    public func rescueExpired(now: Date) async throws -> Int { try await rescue(expiredBefore: now, now: now) }

    private func rescue(expiredBefore: Date?, now: Date) async throws -> Int {
        try await connections.writeAsync(chain: true) { session in
            let cutoff = expiredBefore?.timeIntervalSince1970
            let rows = try session.rows("""
                SELECT action.id, action.request_id, action.target, action.attempts, action.claimed_at, request.cancel_reason
                FROM action JOIN request ON request.id = action.request_id
                WHERE action.state = 'running' AND (\(cutoff)::float8 IS NULL OR action.lease_expires_at < \(cutoff))
                ORDER BY action.id FOR UPDATE OF action SKIP LOCKED
                """)
            let t = now.timeIntervalSince1970
            for row in rows {
                let id: Int64 = try row.at(0), requestId: String = try row.at(1), target: String = try row.at(2)
                let attempts: Int64 = try row.at(3), claimedAt = try row.at(4, as: Double?.self) ?? t
                let cancelled = try row.at(5, as: String?.self) != nil
                let rescue = cancelled ? ActionStateMachine.rescueCancelled() : ActionStateMachine.rescue()
                try session.execute("""
                    INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result, error)
                    VALUES (\(id), \(attempts), \(claimedAt), \(t), \(Int64(max(0, t - claimedAt) * 1000)), \(AttemptResultKind.interrupted.rawValue), \(rescue.reason))
                    ON CONFLICT DO NOTHING
                    """)
                let completedAt: Double? = rescue.state.isTerminal ? t : nil
                let lastError: String? = cancelled ? rescue.reason : nil
                try session.execute("""
                    UPDATE action SET state = \(rescue.state.rawValue), next_attempt_at = \(t), claimed_by = NULL, lease_expires_at = NULL,
                        last_error = COALESCE(\(lastError), last_error), completed_at = \(completedAt) WHERE id = \(id)
                    """)
                try Self.appendAudit(session, at: now, request: requestId, target: target, event: rescue.event,
                                     details: ["attempt": .number(Double(attempts)), "reason": .string(rescue.reason ?? "")])
                if cancelled { try Self.refreshState(of: requestId, in: session, now: now) }
            }
            return rows.count
        }
    }

    public func openWork(now: Date?) throws -> (count: Int, nextDue: Date?, later: Int) {
        try connections.read { session in
            let t = now?.timeIntervalSince1970 ?? .infinity
            guard let row = try session.row("""
                SELECT COUNT(*), MIN(next_attempt_at),
                    (SELECT COUNT(*) FROM action WHERE state = 'pending' AND next_attempt_at > \(t))
                FROM action WHERE state IN ('running', 'retrying') OR (state = 'pending' AND next_attempt_at <= \(t))
                """) else { return (0, nil, 0) }
            return (Int(try row.at(0, as: Int64.self)), try row.at(1, as: Double?.self).map(Date.init(timeIntervalSince1970:)),
                    Int(try row.at(2, as: Int64.self)))
        }
    }

    public func targetsWithDueWork(now: Date, among targets: [String]) throws -> [String] {
        guard !targets.isEmpty else { return [] }
        return try connections.read { session in
            // One index probe per target (`action_target_due`), not a scan of every action.
            let due = Set(try session.rows("""
                SELECT wanted FROM unnest(\(targets)::text[]) AS wanted WHERE EXISTS (
                    SELECT 1 FROM action WHERE target = wanted AND state IN \(unescaped: Self.claimableStates)
                        AND next_attempt_at <= \(now.timeIntervalSince1970))
                """).map { try $0.at(0, as: String.self) })
            return targets.filter(due.contains)
        }
    }

    public func targetsWithOpenWork() throws -> [String] {
        try connections.read { session in
            try session.rows("SELECT DISTINCT target FROM action WHERE state IN \(unescaped: Self.claimableStates)")
                .map { try $0.at(0, as: String.self) }.sorted()
        }
    }
}
