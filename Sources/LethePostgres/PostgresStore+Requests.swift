import Foundation
import LetheCore
import LetheStorage
import PostgresNIO

/// Filing and deciding (`RequestLedger`), as the SQLite store does it.
extension PostgresStore {
    public func file(_ new: NewRequest, now: Date) throws -> FilingResult {
        try connections.write { session in try file(new, in: session, now: now) }
    }

    public func fileGrouped(_ new: NewRequest, now: Date) async throws -> FilingResult {
        try await connections.writeAsync(chain: true) { session in try self.file(new, in: session, now: now) }
    }

    public func file(batch: [NewRequest], now: Date) throws -> [FilingResult] {
        try connections.write { session in try batch.map { try file($0, in: session, now: now) } }
    }

    public func file(sweep batch: [SweepFiling], now: Date) throws -> [FilingResult] {
        try connections.write { session in
            try batch.map { filing in
                let result = try file(filing.request, in: session, now: now)
                for entry in filing.entries {
                    try session.execute("""
                        INSERT INTO sweep_filed (pseudonym, purpose, changed_at, request_id, filed_at)
                        VALUES (\(filing.request.pseudonym), \(entry.purpose), \(entry.changedAt), \(result.request.id), \(now.timeIntervalSince1970))
                        ON CONFLICT DO NOTHING
                        """)
                }
                return result
            }
        }
    }

    public func sweepHistory() throws -> SweepHistory {
        try connections.read { session in
            var history = SweepHistory(entries: [], pairs: [])
            for row in try session.rows("SELECT pseudonym, purpose, changed_at FROM sweep_filed") {
                let pseudonym: String = try row.at(0), purpose: String = try row.at(1), changedAt: Double = try row.at(2)
                history.entries.insert(SweepHistory.entryKey(pseudonym, purpose, changedAt))
                history.pairs.insert(SweepHistory.pairKey(pseudonym, purpose))
            }
            return history
        }
    }

    func file(_ new: NewRequest, in session: PGSession, now: Date) throws -> FilingResult {
        let purposes = new.kind.purposes.sorted()
        let purposesJSON = CanonicalJSON.string(.array(purposes.map(JSONValue.string)))
        if let ref = new.ref, let row = try session.row("SELECT \(unescaped: Self.requestColumns) FROM request WHERE ref = \(ref)") {
            let existing = try request(from: row)
            guard existing.pseudonym == new.pseudonym, existing.kind == new.kind.name, existing.purposes == purposes else {
                throw StoreError.refConflict(ref: ref, existing: existing.id)
            }
            return .existing(existing)
        }
        let t = now.timeIntervalSince1970
        let startsAt = t + max(0, new.grace)
        let initial = new.initialState
        let identifiers = try stored(new.identifiers, request: new.id)
        let approval: String? = new.needsApproval ? Approval.State.awaiting.rawValue : nil
        try session.execute("""
            INSERT INTO request (id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by, note,
                                 received, due, created_at, state, approval, starts_at, filer_identities)
            VALUES (\(new.id), \(new.kind.name), \(new.ref), \(purposesJSON), \(new.pseudonym), \(identifiers[0]), \(identifiers[1]), \(identifiers[2]),
                    \(new.requestedBy), \(new.note), \(new.received.description), \(new.due.description), \(t), \(initial.rawValue),
                    \(approval), \(startsAt), \(StoredIdentifiers.identitiesJSON(new.filerIdentities)))
            """)
        for action in new.plan {
            let plan = try PlanCodec.encode(action)
            switch action.operation {
            case .none:
                try session.execute("""
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, outcome, verification, completed_at)
                    VALUES (\(new.id), \(action.target), \(plan), 'none', 'succeeded', \(t), 'not_applicable', \(action.reason), \(t))
                    """)
            case .needsReview:
                try session.execute("""
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, last_error, completed_at)
                    VALUES (\(new.id), \(action.target), \(plan), 'needs_review', 'needs_review', \(t), \(action.reason), \(t))
                    """)
            default:
                let state = (new.needsApproval ? ActionState.held : .pending).rawValue
                try session.execute("""
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at)
                    VALUES (\(new.id), \(action.target), \(plan), \(action.operation.rawValue), \(state), \(startsAt))
                    """)
            }
        }
        try Self.appendAudit(session, at: now, request: new.id, target: nil, event: .requestFiled,
                             details: AuditDetails.filed(new, purposes: purposes, startsAt: startsAt))
        // Nothing for Lethe to do, or only things a person must do: the request ends or waits at once.
        if new.settlesAtFiling { try Self.refreshState(of: new.id, in: session, now: now) }
        return .filed(try request(new.id, in: session))
    }

    public func extend(_ requestId: String, months: Int, reason: String, by actor: String?, now: Date) throws -> StoredRequest {
        try connections.write { session in
            let request = try self.request(requestId, in: session)
            let (total, due) = try request.extended(by: months)
            try session.execute("UPDATE request SET extended_months = \(total), due = \(due.description) WHERE id = \(requestId)")
            var details: [String: JSONValue] = ["months": .number(Double(months)), "due": .string(due.description), "reason": .string(reason)]
            if let actor { details["by"] = .string(actor) }
            try Self.appendAudit(session, at: now, request: requestId, target: nil, event: .requestExtended, details: details)
            return try self.request(requestId, in: session)
        }
    }

    public func cancel(_ requestId: String, reason: String, by actor: String?, now: Date) throws -> StoredRequest {
        try connections.write { session in
            let request = try self.request(requestId, in: session)
            guard !request.state.isTerminal else { throw StoreError.invalid("request \(requestId) is already \(request.state.rawValue)") }
            var details: [String: JSONValue] = ["reason": .string(reason)]
            if let actor { details["by"] = .string(actor) }
            let targets = try endUnstarted(of: requestId, because: ActionStateMachine.notCarriedOut, in: session, now: now)
            try session.execute("UPDATE request SET cancel_reason = \(reason) WHERE id = \(requestId)")
            try Self.appendAudit(session, at: now, request: requestId, target: nil, event: .cancelRequested, details: details)
            for target in targets {
                try Self.appendAudit(session, at: now, request: requestId, target: target, event: .actionCancelled, details: details)
            }
            try Self.refreshState(of: requestId, in: session, now: now)
            return try self.request(requestId, in: session)
        }
    }

    /// Cancels a request's actions that have not started; returns their targets.
    private func endUnstarted(of requestId: String, because reason: String, in session: PGSession, now: Date) throws -> [String] {
        try session.rows("""
            UPDATE action SET state = 'cancelled', completed_at = \(now.timeIntervalSince1970), claimed_by = NULL, last_error = \(reason)
            WHERE request_id = \(requestId) AND state IN \(unescaped: Self.cancellableStates)
            RETURNING target
            """).map { try $0.at(0, as: String.self) }.sorted()
    }

    public func retry(_ requestId: String, target: String?, identifiers: SubjectIdentifiers?, replans: [String: PlannedAction],
                      by actor: Principal?, now: Date) throws -> [String] {
        try connections.write { session in
            let request = try self.request(requestId, in: session)
            guard request.state != .cancelled else { throw StoreError.invalid("request \(requestId) was cancelled") }
            guard request.state != .rejected else { throw StoreError.invalid("request \(requestId) was rejected") }
            let resumed: ActionState = request.approval?.state == .awaiting ? .held : .pending
            let actions = try session.rows("""
                SELECT \(unescaped: Self.actionColumns) FROM action WHERE request_id = \(requestId) AND state IN ('failed', 'needs_review')
                    AND (\(target)::text IS NULL OR target = \(target)) ORDER BY id
                """).map(Self.action(from:))
            guard !actions.isEmpty else {
                throw StoreError.invalid("request \(requestId) has no failed or needs_review action" + (target.map { " in \($0)" } ?? ""))
            }
            if request.identifiers == nil, identifiers == nil { throw StoreError.identifiersPurged(requestId: requestId) }
            if let identifiers {
                let given = try stored(identifiers, request: requestId)
                try session.execute("""
                    UPDATE request SET email = COALESCE(\(given[0]), email), external_id = COALESCE(\(given[1]), external_id),
                        user_name = COALESCE(\(given[2]), user_name) WHERE id = \(requestId)
                    """)
            }
            let t = now.timeIntervalSince1970
            var put: [String] = []
            for action in actions {
                let plan = replans[action.target] ?? action.plan
                if plan.operation == .needsReview || plan.operation == .none { continue }
                try session.execute("""
                    UPDATE action SET state = \(resumed.rawValue), budget_start = attempts, next_attempt_at = \(max(t, request.startsAt?.timeIntervalSince1970 ?? t)),
                        plan = \(try PlanCodec.encode(plan)), operation = \(plan.operation.rawValue),
                        outcome = NULL, verified = NULL, verification = NULL, completed_at = NULL, claimed_by = NULL
                    WHERE id = \(action.id)
                    """)
                var details: [String: JSONValue] = ["from": .string(action.state.rawValue), "operation": .string(plan.operation.rawValue)]
                if let actor { details["by"] = .string(actor.name) }
                try Self.appendAudit(session, at: now, request: requestId, target: action.target, event: .actionRetried, details: details)
                put.append(action.target)
            }
            guard !put.isEmpty else {
                throw StoreError.invalid("nothing to retry: the needs_review actions still lack an identifier their target can match on")
            }
            if let actor, request.approval?.state == .awaiting {
                let identities = StoredIdentifiers.identitiesJSON(request.filerIdentities.union(actor.identities))
                try session.execute("UPDATE request SET filer_identities = \(identities) WHERE id = \(requestId)")
            }
            try Self.refreshState(of: requestId, in: session, now: now)
            return put
        }
    }

    public func approve(_ requestId: String, by actor: Principal, note: String?, now: Date) throws -> StoredRequest {
        try connections.write { session in
            let request = try self.request(requestId, in: session)
            let filer = try request.approvalFiler(by: actor)
            let t = now.timeIntervalSince1970
            let startsAt = max(t, request.startsAt?.timeIntervalSince1970 ?? t)
            try session.execute("UPDATE action SET state = 'pending', next_attempt_at = \(startsAt) WHERE request_id = \(requestId) AND state = 'held'")
            try session.execute("""
                UPDATE request SET approval = 'approved', decided_by = \(actor.name), decided_at = \(t), decision_note = \(note) WHERE id = \(requestId)
                """)
            var details: [String: JSONValue] = ["by": .string(actor.name), "filed_by": .string(filer)]
            if let note { details["note"] = .string(note) }
            if startsAt > t { details["starts_at"] = .string(Timestamp.iso8601(Date(timeIntervalSince1970: startsAt))) }
            try Self.appendAudit(session, at: now, request: requestId, target: nil, event: .approvalGranted, details: details)
            try Self.refreshState(of: requestId, in: session, now: now)
            return try self.request(requestId, in: session)
        }
    }

    public func reject(_ requestId: String, by actor: String, reason: String, now: Date) throws -> StoredRequest {
        try connections.write { session in
            let request = try self.request(requestId, in: session)
            try request.checkRejectable()
            let attempted = try session.value("SELECT COALESCE(SUM(attempts), 0)::bigint FROM action WHERE request_id = \(requestId)", as: Int64.self) ?? 0
            try request.checkNothingAttempted(Int(attempted))
            let targets = try endUnstarted(of: requestId, because: AuditChain.notCarriedOutRejected, in: session, now: now)
            try session.execute("""
                UPDATE request SET approval = 'rejected', decided_by = \(actor), decided_at = \(now.timeIntervalSince1970), decision_note = \(reason)
                WHERE id = \(requestId)
                """)
            let details: [String: JSONValue] = ["by": .string(actor), "reason": .string(reason)]
            try Self.appendAudit(session, at: now, request: requestId, target: nil, event: .rejectionRecorded, details: details)
            for target in targets {
                try Self.appendAudit(session, at: now, request: requestId, target: target, event: .actionCancelled, details: details)
            }
            try Self.refreshState(of: requestId, in: session, now: now)
            return try self.request(requestId, in: session)
        }
    }
}
