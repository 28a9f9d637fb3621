import Foundation
import GRDB
import LetheCore
import LetheStorage


extension AppDatabase {
    /// Atomically claims up to `limit` due actions of a target (`pending` or `retrying` with
    /// `next_attempt_at <= now`), counting the attempt at claim time.
    public func claim(target: String, limit: Int, runner: String, now: Date, lease: Double = ClaimedAction.defaultLease) async throws -> [ClaimedAction] {
        try await claim([(target: target, limit: limit)], runner: runner, now: now, lease: lease, caps: [:])
    }

    /// Claims for several targets, each up to its limit, in one transaction (one commit for the
    /// engine's whole turn), shared with the results being recorded meanwhile: a claim is
    /// committed before it returns, like every group commit, with fewer fsyncs (2,350 -> 1,993
    /// for 2,500 actions in `Benchmarks/run-engine.sh 1000`). A cancelled caller claims nothing.
    public func claim(_ wanted: [(target: String, limit: Int)], runner: String, now: Date,
                      lease: Double = ClaimedAction.defaultLease, caps: [String: Int] = [:]) async throws -> [ClaimedAction] {
        let wanted = wanted.filter { $0.limit > 0 }
        guard !wanted.isEmpty else { return [] }
        try Task.checkCancellation()
        return try await commits.write { db in
            let t = now.timeIntervalSince1970
            var claimed: [ClaimedAction] = []
            let update = try db.cachedStatement(sql: """
                UPDATE action SET state = 'running', attempts = attempts + 1, claimed_at = :now, claimed_by = :runner, lease_expires_at = :until
                WHERE id IN (\(Self.oldestDue))
                RETURNING \(StoredAction.selection)
                """)
            let running = try db.cachedStatement(sql: """
                SELECT COUNT(*) FROM action INDEXED BY action_target_due WHERE target = ? AND state = 'running'
                """)
            for (target, wantedLimit) in wanted {
                var limit = wantedLimit
                if let cap = caps[target] {
                    // Every runner's running actions of the target count, in this same transaction.
                    limit = min(limit, cap - (try Int.fetchOne(running, arguments: [target]) ?? 0))
                    guard limit > 0 else { continue }
                }
                let actions = try Row.fetchAll(update, arguments: ["now": t, "runner": runner, "target": target, "limit": limit, "until": t + lease])
                    .map { try StoredAction(row: $0) }
                    .sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
                for action in actions {
                    // Only what the attempt needs: the pseudonym and, while the request is open, the identifiers.
                    guard let request = try Row.fetchOne(db.cachedStatement(sql: """
                        SELECT pseudonym, email, external_id, user_name FROM request WHERE id = ?
                        """), arguments: [action.requestId]) else {
                        throw StoreError.notFound("no request \(action.requestId)")
                    }
                    let identifiers = try Self.identifiers([request[1], request[2], request[3]], request: action.requestId, sealer: sealer)
                    try Self.appendAudit(db, at: now, request: action.requestId, target: target, event: .actionStarted,
                                         details: AuditDetails.started(action))
                    try Self.refreshState(of: action.requestId, in: db, now: now)
                    var claim = ClaimedAction(action: action, requestId: action.requestId, pseudonym: request[0],
                                              identifiers: identifiers, attempt: action.attempts,
                                              attemptsInBudget: action.attempts - action.budgetStart)
                    claim.leaseExpiresAt = Date(timeIntervalSince1970: t + lease)
                    claimed.append(claim)
                }
            }
            return claimed
        }
    }

    /// Records what Lethe is about to write to the account (merged with earlier writes), before
    /// the write: a rerun recognises the account by these values once its identifiers are gone.
    /// With `accountRef`, also records the subject's id in the target (see `recordAccountRef`).
    public func recordWritten(actionId: Int64, values: [String: JSONValue], accountRef: String?, attempt: Int?) async throws {
        guard !values.isEmpty else {
            if let accountRef { try await recordAccountRef(actionId: actionId, accountRef: accountRef, attempt: attempt) }
            return
        }
        try await commits.write { db in
            if let attempt { try Self.requireLease(actionId, attempt: attempt, in: db) }
            if let accountRef { try Self.setAccountRef(accountRef, of: actionId, in: db) }
            let old = try String.fetchOne(db.cachedStatement(sql: "SELECT written FROM action WHERE id = ?"), arguments: [actionId])
            var merged: [String: JSONValue] = [:]
            if let old, case .object(let values)? = JSONValue.parse(Data(old.utf8)) { merged = values }
            merged.merge(values) { _, new in new }
            try db.cachedStatement(sql: "UPDATE action SET written = ? WHERE id = ? AND state = 'running'")
                .execute(arguments: [CanonicalJSON.string(.object(merged)), actionId])
        }
    }

    /// Records the subject's id in the target before the first write, so a rerun after a crash
    /// knows what it was working on.
    public func recordAccountRef(actionId: Int64, accountRef: String, attempt: Int?) async throws {
        try await commits.write { db in
            if let attempt { try Self.requireLease(actionId, attempt: attempt, in: db) }
            try Self.setAccountRef(accountRef, of: actionId, in: db)
        }
    }

    /// Refuses (`StoreError.leaseLost`) when `attempt` no longer holds the action: it was taken
    /// over (a later claim counted another attempt) or taken back (the rescue recorded this
    /// attempt as interrupted). A request cancelled meanwhile still holds: what is under way finishes.
    static func requireLease(_ actionId: Int64, attempt: Int, in db: Database) throws {
        let held = try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT attempts = :attempt AND NOT EXISTS (SELECT 1 FROM attempt WHERE action_id = :id AND number = :attempt)
            FROM action WHERE id = :id
            """), arguments: ["id": actionId, "attempt": attempt]) ?? false
        if !held { throw StoreError.leaseLost(actionId: actionId, attempt: attempt) }
    }

    /// Extends the leases still held; the others are returned as lost.
    public func renew(_ leases: [ClaimedAction.Lease], until: Date) async throws -> Set<Int64> {
        guard !leases.isEmpty else { return [] }
        return try await commits.write { db in
            var lost = Set<Int64>()
            let statement = try db.cachedStatement(sql: """
                UPDATE action SET lease_expires_at = ? WHERE id = ? AND attempts = ? AND state = 'running'
                """)
            // Not renewed and not lost: an action whose result this attempt has just recorded
            // (the engine hears of it a moment later).
            let finished = try db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM action WHERE id = ?1 AND attempts = ?2)
                    AND EXISTS (SELECT 1 FROM attempt WHERE action_id = ?1 AND number = ?2 AND result <> 'interrupted')
                """)
            for lease in leases {
                try statement.execute(arguments: [until.timeIntervalSince1970, lease.actionId, lease.attempt])
                if db.changesCount == 0, try !(Bool.fetchOne(finished, arguments: [lease.actionId, lease.attempt]) ?? false) {
                    lost.insert(lease.actionId)
                }
            }
            return lost
        }
    }

    /// The subject's id in the target, on an action still running (a cancelled or rescued one keeps its own).
    static func setAccountRef(_ accountRef: String, of actionId: Int64, in db: Database) throws {
        try db.cachedStatement(sql: "UPDATE action SET account_ref = ? WHERE id = ? AND state = 'running'").execute(arguments: [accountRef, actionId])
    }

    /// Records an attempt and the transition it led to, with its audit event, in one transaction.
    /// An action cancelled meanwhile keeps its state; the attempt is still recorded.
    /// - Returns: the request's state afterwards.
    @discardableResult
    public func record(_ attempt: AttemptReport, transition: ActionStateMachine.Transition, now: Date) async throws -> RequestState {
        let verified = transition.verified
        return try await commits.write { db in
            try Self.requireLease(attempt.actionId, attempt: attempt.number, in: db)
            guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT action.request_id, action.target, action.state, action.plan, action.account_ref, action.follows, action.not_before,
                    request.cancel_reason FROM action
                JOIN request ON request.id = action.request_id WHERE action.id = ?
                """), arguments: [attempt.actionId]) else {
                throw StoreError.notFound("no action \(attempt.actionId)")
            }
            let requestId: String = row["request_id"], target: String = row["target"], state: String = row["state"]
            // A request cancelled while this attempt ran: what happened stands; nothing runs again.
            let transition = (row["cancel_reason"] as String?) == nil ? transition : ActionStateMachine.afterCancellation(transition)
            try db.cachedStatement(sql: """
                INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result, status_code, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [attempt.actionId, attempt.number, attempt.startedAt.timeIntervalSince1970, attempt.finishedAt.timeIntervalSince1970,
                                 Int((attempt.finishedAt.timeIntervalSince(attempt.startedAt) * 1000).rounded()), attempt.result.rawValue,
                                 attempt.statusCode, attempt.error])
            guard state == ActionState.running.rawValue else {
                try Self.appendAudit(db, at: now, request: requestId, target: target, event: .attemptAfter(ActionState(rawValue: state) ?? .pending),
                                     details: ["attempt": .number(Double(attempt.number)), "result": .string(attempt.result.rawValue)])
                return try Self.refreshState(of: requestId, in: db, now: now)
            }
            let t = now.timeIntervalSince1970
            try db.cachedStatement(sql: """
                UPDATE action SET state = ?, next_attempt_at = ?, outcome = COALESCE(?, outcome), verified = ?, verification = ?,
                    last_error = ?, completed_at = ?, claimed_by = NULL, lease_expires_at = NULL, server_message = ?, evidence = COALESCE(?, evidence)
                WHERE id = ?
                """).execute(arguments: [transition.state.rawValue, t + (transition.retryIn ?? 0), transition.outcome?.rawValue, verified,
                                 transition.verification, transition.reason, transition.state.isTerminal ? t : nil, attempt.serverMessage,
                                 transition.evidence?.rawValue, attempt.actionId])
            try Self.appendAudit(db, at: now, request: requestId, target: target, event: transition.event,
                                 details: AuditDetails.recorded(attempt, transition, followUp: row["not_before"]))
            if transition.state == .succeeded, (row["follows"] as Int64?) == nil {
                try Self.scheduleRetentionEnd(of: attempt.actionId, request: requestId, target: target, plan: row["plan"], accountRef: row["account_ref"],
                                              outcome: transition.outcome, in: db, now: now)
            }
            return try Self.refreshState(of: requestId, in: db, now: now)
        }
    }

    /// After an action that keeps data under a legal obligation succeeds, schedules the erasure
    /// of exactly that data for the day after each retention ends, on the account's recorded id
    /// (the subject's identifiers are purged long before).
    static func scheduleRetentionEnd(of actionId: Int64, request: String, target: String, plan json: String, accountRef: String?,
                                     outcome: ActionOutcome?, in db: Database, now: Date) throws {
        // Nothing was kept where the account is gone or never existed.
        guard let outcome, outcome != .deleted, outcome != .absent, outcome != .notApplicable, let accountRef else { return }
        let plan = try PlanCodec.decode(json)
        for followUp in RetentionFollowUp.followUps(of: plan) {
            let encoded = try PlanCodec.encode(followUp.plan)
            try db.execute(sql: """
                INSERT OR IGNORE INTO action (request_id, target, plan, operation, state, next_attempt_at, account_ref, follows, not_before, written)
                VALUES (?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, (SELECT written FROM action WHERE id = ?))
                """, arguments: [request, target, encoded, followUp.plan.operation.rawValue, followUp.due.secondsSince1970AtMidnightUTC, accountRef,
                                 actionId, followUp.due.description, actionId])
            guard db.changesCount > 0 else { continue }
            try appendAudit(db, at: now, request: request, target: target, event: .actionScheduled, details: AuditDetails.scheduled(followUp))
        }
    }

    /// Returns actions left `running` by a runner that is gone to `pending`, recording the
    /// interrupted attempt. Call only while holding the run lock (no other runner alive).
    @discardableResult
    public func rescueRunning(now: Date) async throws -> Int {
        try await rescue(expiredBefore: nil, now: now)
    }

    /// Takes back the running actions whose lease ran out before `now` (see `WorkQueue.rescueExpired`).
    @discardableResult
    public func rescueExpired(now: Date) async throws -> Int {
        try await rescue(expiredBefore: now, now: now)
    }

    /// Every running action, or (with `expiredBefore`) those whose lease ran out before it.
    private func rescue(expiredBefore: Date?, now: Date) async throws -> Int {
        try await writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT action.id, action.request_id, action.target, action.attempts, action.claimed_at, request.cancel_reason
                FROM action JOIN request ON request.id = action.request_id
                WHERE action.state = 'running' AND (? IS NULL OR action.lease_expires_at < ?)
                """, arguments: [expiredBefore?.timeIntervalSince1970, expiredBefore?.timeIntervalSince1970])
            let t = now.timeIntervalSince1970
            for row in rows {
                let id: Int64 = row["id"], attempts: Int = row["attempts"], claimedAt: Double = row["claimed_at"] ?? t
                // A request cancelled meanwhile must not be carried out by the rescue; whether the
                // interrupted attempt took effect is unknown, so a person must look.
                let cancelled = (row["cancel_reason"] as String?) != nil
                let rescue = cancelled ? ActionStateMachine.rescueCancelled() : ActionStateMachine.rescue()
                try db.execute(sql: """
                    INSERT OR IGNORE INTO attempt (action_id, number, started_at, finished_at, duration_ms, result, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, attempts, claimedAt, t, Int(max(0, t - claimedAt) * 1000), AttemptResultKind.interrupted.rawValue, rescue.reason])
                try db.execute(sql: """
                    UPDATE action SET state = ?, next_attempt_at = ?, claimed_by = NULL, lease_expires_at = NULL,
                        last_error = COALESCE(?, last_error), completed_at = ? WHERE id = ?
                    """, arguments: [rescue.state.rawValue, t, cancelled ? rescue.reason : nil, rescue.state.isTerminal ? t : nil, id])
                try Self.appendAudit(db, at: now, request: row["request_id"], target: row["target"], event: rescue.event,
                                     details: ["attempt": .number(Double(attempts)), "reason": .string(rescue.reason ?? "")])
                if cancelled { try Self.refreshState(of: row["request_id"], in: db, now: now) }
            }
            return rows.count
        }
    }

    /// Work not yet finished: how many actions are running, retrying or pending, and when the
    /// earliest of them is due. With `now`, an action pending for a later time (a grace period
    /// that has not ended) is left out, as scheduled follow-ups are: `lethe run --until-idle`
    /// does not wait a day for it; the next run takes it up. `later` counts those.
    public func openWork(now: Date?) throws -> (count: Int, nextDue: Date?, later: Int) {
        try writer.read { db in
            let t = now?.timeIntervalSince1970 ?? .infinity
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*) AS n, MIN(next_attempt_at) AS next,
                    (SELECT COUNT(*) FROM action WHERE state = 'pending' AND next_attempt_at > :now) AS later
                FROM action WHERE state IN ('running', 'retrying') OR (state = 'pending' AND next_attempt_at <= :now)
                """), arguments: ["now": t])!
            return (row["n"], (row["next"] as Double?).map(Date.init(timeIntervalSince1970:)), row["later"])
        }
    }

    /// The ids of a target's oldest due actions (named arguments `:target`, `:now`, `:limit`). One range read
    /// of `action_target_due` per claimable state, each already in (next_attempt_at, id) order,
    /// then the few rows merged: no scan or sort of every open action.
    static var oldestDue: String {
        let perState = claimable.map { state in
            """
            SELECT * FROM (SELECT id, next_attempt_at FROM action INDEXED BY action_target_due
                WHERE target = :target AND state = '\(state.rawValue)' AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT :limit)
            """
        }
        return "SELECT id FROM (\(perState.joined(separator: " UNION ALL "))) ORDER BY next_attempt_at, id LIMIT :limit"
    }

    /// Of these targets, those that have due actions now (one index probe each).
    public func targetsWithDueWork(now: Date, among targets: [String]) throws -> [String] {
        try writer.read { db in
            try targets.filter { target in
                try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM action INDEXED BY action_target_due
                        WHERE target = ? AND state IN \(Self.claimableStates) AND next_attempt_at <= ?)
                    """), arguments: [target, now.timeIntervalSince1970]) ?? false
            }
        }
    }

    /// Every target with unfinished or scheduled work, whatever the policies say now (read once
    /// per run, so work for a target no policy names any more is still taken up and refused).
    public func targetsWithOpenWork() throws -> [String] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT target FROM action WHERE state IN \(Self.claimableStates) ORDER BY target")
        }
    }
}
