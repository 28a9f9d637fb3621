import Foundation
import GRDB
import LetheCore
import LetheStorage

extension AppDatabase {
    /// Identities as stored: a sorted JSON array, or NULL for none.
    static func identitiesJSON(_ identities: Set<String>) -> String? { StoredIdentifiers.identitiesJSON(identities) }

    /// Files a request: the request, one action per target and an audit event, in one transaction.
    /// Filing a `ref` again for the same subject and kind returns the existing request.
    public func file(_ new: NewRequest, now: Date) throws -> FilingResult {
        try writer.write { db in try file(new, in: db, now: now) }
    }

    /// Files one request through the group commit: concurrent filings (the API's) share a
    /// transaction and its fsync, each in its own savepoint; the caller resumes once it is durable.
    public func fileGrouped(_ new: NewRequest, now: Date) async throws -> FilingResult {
        try await commits.write { db in try file(new, in: db, now: now) }
    }

    /// Files many requests in one transaction (sweeps); all or nothing.
    public func file(batch: [NewRequest], now: Date) throws -> [FilingResult] {
        try writer.write { db in try batch.map { try file($0, in: db, now: now) } }
    }

    func file(_ new: NewRequest, in db: Database, now: Date) throws -> FilingResult {
        let purposes = new.kind.purposes.sorted()
        let purposesJSON = CanonicalJSON.string(.array(purposes.map(JSONValue.string)))
        if let ref = new.ref, let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM request WHERE ref = ?"), arguments: [ref]) {
            let existing = try StoredRequest(row: row, sealer: sealer)
            guard existing.pseudonym == new.pseudonym, existing.kind == new.kind.name, existing.purposes == purposes else {
                throw StoreError.refConflict(ref: ref, existing: existing.id)
            }
            return .existing(existing)
        }
        let t = now.timeIntervalSince1970
        let startsAt = t + max(0, new.grace)
        let initial = new.initialState
        let identifiers = try stored(new.identifiers, request: new.id)
        try db.cachedStatement(sql: """
            INSERT INTO request (id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by, note,
                                 received, due, created_at, state, approval, starts_at, filer_identities)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [new.id, new.kind.name, new.ref, purposesJSON, new.pseudonym, identifiers[0],
                             identifiers[1], identifiers[2], new.requestedBy, new.note,
                             new.received.description, new.due.description, t, initial.rawValue,
                             new.needsApproval ? Approval.State.awaiting.rawValue : nil, startsAt, Self.identitiesJSON(new.filerIdentities)])
        for action in new.plan {
            let plan = try PlanCodec.encode(action)
            switch action.operation {
            case .none:
                try db.cachedStatement(sql: """
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, outcome, verification, completed_at)
                    VALUES (?, ?, ?, 'none', 'succeeded', ?, 'not_applicable', ?, ?)
                    """).execute(arguments: [new.id, action.target, plan, t, action.reason, t])
            case .needsReview:
                try db.cachedStatement(sql: """
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, last_error, completed_at)
                    VALUES (?, ?, ?, 'needs_review', 'needs_review', ?, ?, ?)
                    """).execute(arguments: [new.id, action.target, plan, t, action.reason, t])
            default:
                try db.cachedStatement(sql: """
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [new.id, action.target, plan, action.operation.rawValue,
                                     (new.needsApproval ? ActionState.held : .pending).rawValue, startsAt])
            }
        }
        try Self.appendAudit(db, at: now, request: new.id, target: nil, event: .requestFiled,
                             details: AuditDetails.filed(new, purposes: purposes, startsAt: startsAt))
        guard !new.settlesAtFiling else {
            // Nothing for Lethe to do, or only things a person must do: the request ends or
            // waits at once, with its own events.
            try Self.refreshState(of: new.id, in: db, now: now)
            return .filed(try request(new.id, in: db))
        }
        // Still as inserted: the request is exactly that (no need to read it back).
        var filed = StoredRequest(
            id: new.id, kind: new.kind.name, ref: new.ref, purposes: purposes, pseudonym: new.pseudonym,
            identifiers: new.identifiers.email == nil && new.identifiers.externalId == nil && new.identifiers.userName == nil ? nil : new.identifiers,
            requestedBy: new.requestedBy, note: new.note, received: new.received, due: new.due, extendedMonths: 0,
            createdAt: Date(timeIntervalSince1970: t), completedAt: nil, state: initial, cancelReason: nil)
        filed.approval = new.needsApproval ? Approval(state: .awaiting) : nil
        filed.filerIdentities = new.filerIdentities
        filed.startsAt = Date(timeIntervalSince1970: startsAt)
        return .filed(filed)
    }

    /// Re-derives a request's state from its actions; on reaching a terminal state, purges the
    /// raw identifiers and records both in the audit chain.
    @discardableResult
    static func refreshState(of requestId: String, in db: Database, now: Date) throws -> RequestState {
        // One statement: the request's own fields, its actions' states and whether any was tried.
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT state, cancel_reason, approval, pseudonym,
                (SELECT group_concat(state) FROM action WHERE request_id = request.id AND follows IS NULL) AS states,
                EXISTS (SELECT 1 FROM action WHERE request_id = request.id AND follows IS NULL AND attempts > 0) AS attempted
            FROM request WHERE id = ?
            """), arguments: [requestId]) else {
            throw StoreError.notFound("no request \(requestId)")
        }
        let old = RequestState(rawValue: row[0]) ?? .received
        // A request's state is its own actions'; follow-ups that end a retention years later do
        // not reopen a completed request (they have their own state, shown with it).
        let states = ((row[4] as String?) ?? "").split(separator: ",").compactMap { ActionState(rawValue: String($0)) }
        let attempted: Bool = row[5]
        let new = RequestState.derive(actions: states, anyAttempt: attempted, cancelled: (row[1] as String?) != nil,
                                      rejected: (row[2] as String?) == Approval.State.rejected.rawValue)
        guard new != old else { return new }
        let t = now.timeIntervalSince1970
        if new.isTerminal {
            try db.cachedStatement(sql: """
                UPDATE request SET state = ?, completed_at = ?, email = NULL, external_id = NULL, user_name = NULL, note = NULL
                WHERE id = ?
                """).execute(arguments: [new.rawValue, t, requestId])
            // What targets said in their own words goes with the identifiers.
            try db.cachedStatement(sql: "UPDATE action SET server_message = NULL WHERE request_id = ? AND server_message IS NOT NULL")
                .execute(arguments: [requestId])
        } else {
            try db.cachedStatement(sql: "UPDATE request SET state = ?, completed_at = NULL WHERE id = ?").execute(arguments: [new.rawValue, requestId])
        }
        let pseudonym: String = row[3]
        try appendAudit(db, at: now, request: requestId, target: nil, event: .requestEntered(new),
                        details: ["from": .string(old.rawValue), "state": .string(new.rawValue), "subject": .string(pseudonym)])
        if new.isTerminal {
            try appendAudit(db, at: now, request: requestId, target: nil, event: .identifiersPurged,
                            details: ["subject": .string(pseudonym), "kept": .string("pseudonym only")])
        }
        return new
    }

    func request(_ id: String, in db: Database) throws -> StoredRequest {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM request WHERE id = ?"), arguments: [id]) else {
            throw StoreError.notFound("no request \(id)")
        }
        return try StoredRequest(row: row, sealer: sealer)
    }

    /// Moves the due date by 1 or 2 months (at most 2 in all, GDPR Art. 12(3)), with the reason in the audit log.
    public func extend(_ requestId: String, months: Int, reason: String, by actor: String?, now: Date) throws -> StoredRequest {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            let (total, due) = try request.extended(by: months)
            try db.execute(sql: "UPDATE request SET extended_months = ?, due = ? WHERE id = ?", arguments: [total, due.description, requestId])
            var details: [String: JSONValue] = ["months": .number(Double(months)), "due": .string(due.description), "reason": .string(reason)]
            if let actor { details["by"] = .string(actor) }
            try Self.appendAudit(db, at: now, request: requestId, target: nil, event: .requestExtended, details: details)
            return try self.request(requestId, in: db)
        }
    }

    /// Cancels an open request: actions not yet started become cancelled ("not carried out");
    /// an action in flight is left to finish, and its real effect is recorded (it may already
    /// have deleted the account); the request is cancelled once nothing is in flight.
    public func cancel(_ requestId: String, reason: String, by actor: String?, now: Date) throws -> StoredRequest {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            guard !request.state.isTerminal else {
                throw StoreError.invalid("request \(requestId) is already \(request.state.rawValue)")
            }
            let t = now.timeIntervalSince1970
            let targets = try String.fetchAll(db, sql: "SELECT target FROM action WHERE request_id = ? AND state IN \(Self.cancellableStates)",
                                              arguments: [requestId])
            try db.execute(sql: """
                UPDATE action SET state = 'cancelled', completed_at = ?, claimed_by = NULL, last_error = ?
                WHERE request_id = ? AND state IN \(Self.cancellableStates)
                """, arguments: [t, ActionStateMachine.notCarriedOut, requestId])
            try db.execute(sql: "UPDATE request SET cancel_reason = ? WHERE id = ?", arguments: [reason, requestId])
            var details: [String: JSONValue] = ["reason": .string(reason)]
            if let actor { details["by"] = .string(actor) }
            try Self.appendAudit(db, at: now, request: requestId, target: nil, event: .cancelRequested, details: details)
            for target in targets {
                try Self.appendAudit(db, at: now, request: requestId, target: target, event: .actionCancelled, details: details)
            }
            try Self.refreshState(of: requestId, in: db, now: now)
            return try self.request(requestId, in: db)
        }
    }

    /// Puts failed and needs_review actions back to pending with a fresh retry budget.
    ///
    /// - Parameters:
    ///   - identifiers: the subject's identifiers, needed again when they were purged; they must
    ///     give the same pseudonym (checked by the caller, who holds the key).
    ///   - replans: new plans for actions planned as needs_review (identifiers were missing).
    /// - Returns: the targets put back.
    public func retry(_ requestId: String, target: String?, identifiers: SubjectIdentifiers?,
                      replans: [String: PlannedAction], by actor: Principal?, now: Date) throws -> [String] {
        try writer.write { db in
            let request = try self.request(requestId, in: db)
            guard request.state != .cancelled else { throw StoreError.invalid("request \(requestId) was cancelled") }
            guard request.state != .rejected else { throw StoreError.invalid("request \(requestId) was rejected") }
            // Not yet approved: what is retried waits for the approval like the rest.
            let resumed: ActionState = request.approval?.state == .awaiting ? .held : .pending
            var sql = "SELECT \(StoredAction.selection) FROM action WHERE request_id = ? AND state IN ('failed', 'needs_review')"
            var args: StatementArguments = [requestId]
            if let target {
                sql += " AND target = ?"
                args += [target]
            }
            let actions = try Row.fetchAll(db, sql: sql, arguments: args).map(StoredAction.init)
            guard !actions.isEmpty else {
                throw StoreError.invalid("request \(requestId) has no failed or needs_review action" + (target.map { " in \($0)" } ?? ""))
            }
            if request.identifiers == nil, identifiers == nil {
                throw StoreError.identifiersPurged(requestId: requestId)
            }
            if let identifiers {
                let given = try stored(identifiers, request: requestId)
                try db.execute(sql: """
                    UPDATE request SET email = COALESCE(?, email), external_id = COALESCE(?, external_id), user_name = COALESCE(?, user_name)
                    WHERE id = ?
                    """, arguments: [given[0], given[1], given[2], requestId])
            }
            let t = now.timeIntervalSince1970
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var put: [String] = []
            for action in actions {
                let plan = replans[action.target] ?? action.plan
                if plan.operation == .needsReview || plan.operation == .none {
                    // Still nothing Lethe can safely do there.
                    continue
                }
                try db.execute(sql: """
                    UPDATE action SET state = ?, budget_start = attempts, next_attempt_at = ?, plan = ?, operation = ?,
                        outcome = NULL, verified = NULL, verification = NULL, completed_at = NULL, claimed_by = NULL
                    WHERE id = ?
                    """, arguments: [resumed.rawValue, max(t, request.startsAt?.timeIntervalSince1970 ?? t),
                                     String(decoding: try encoder.encode(plan), as: UTF8.self), plan.operation.rawValue, action.id])
                var details: [String: JSONValue] = ["from": .string(action.state.rawValue), "operation": .string(plan.operation.rawValue)]
                if let actor { details["by"] = .string(actor.name) }
                try Self.appendAudit(db, at: now, request: requestId, target: action.target, event: .actionRetried, details: details)
                put.append(action.target)
            }
            guard !put.isEmpty else {
                throw StoreError.invalid("nothing to retry: the needs_review actions still lack an identifier their target can match on")
            }
            if let actor, request.approval?.state == .awaiting {
                // Whoever puts work back while it awaits approval shares the filing: they may not approve it.
                try db.execute(sql: "UPDATE request SET filer_identities = ? WHERE id = ?",
                               arguments: [Self.identitiesJSON(request.filerIdentities.union(actor.identities)), requestId])
            }
            try Self.refreshState(of: requestId, in: db, now: now)
            return put
        }
    }
}
