import Foundation
import LetheCore
import LetheStorage
import PostgresNIO

/// The audit log (`AuditLog`), reports' snapshots, and the smaller stores of a deployment:
/// tokens, dashboard sessions, webhook cursors, job leases.
extension PostgresStore {
    public func verifyAuditChain(through lastSeq: Int64?) throws -> ChainVerification {
        try connections.snapshot { session in try Self.verifyAuditChain(session, through: lastSeq) }
    }

    /// Walks the chain a page at a time, recomputing each hash (`AuditChain.hash`).
    static func verifyAuditChain(_ session: PGSession, through lastSeq: Int64?) throws -> ChainVerification {
        var prev = AuditChain.genesisHash
        var expected: Int64 = 1
        var count = 0
        var first: Int64?
        let end = lastSeq ?? Int64.max
        var after: Int64 = 0
        while true {
            let page = try session.rows("""
                SELECT \(unescaped: eventColumns) FROM audit_event WHERE seq > \(after) AND seq <= \(end) ORDER BY seq LIMIT 10000
                """).map(event(from:))
            for event in page {
                first = first ?? event.seq
                count += 1
                if event.seq != expected {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(expected) is missing (found \(event.seq) next)")
                }
                if event.prevHash != prev {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(event.seq) does not link to event \(event.seq - 1) (prev_hash differs)")
                }
                let hash = AuditChain.hash(prev: prev, seq: event.seq, at: event.at, request: event.requestId, target: event.target,
                                           event: event.event, details: event.details)
                if hash != event.hash {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(event.seq) was altered (its hash does not match its content)")
                }
                prev = hash
                expected += 1
            }
            guard let last = page.last, page.count == 10000 else { break }
            after = last.seq
        }
        return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: count == 0 ? nil : expected - 1, problem: nil)
    }

    static func chainHead(_ session: PGSession) throws -> ChainVerification {
        guard let row = try session.row("""
            SELECT COUNT(*), MIN(seq), MAX(seq), (SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1) FROM audit_event
            """) else { return ChainVerification(events: 0, headHash: AuditChain.genesisHash) }
        return ChainVerification(events: Int(try row.at(0, as: Int64.self)), headHash: try row.at(3, as: String?.self) ?? AuditChain.genesisHash,
                                 firstSeq: try row.at(1), lastSeq: try row.at(2), problem: nil)
    }

    public func auditEvents(request: String?) throws -> [AuditEvent] {
        try connections.read { session in
            try session.rows("""
                SELECT \(unescaped: Self.eventColumns) FROM audit_event WHERE (\(request)::text IS NULL OR request_id = \(request)) ORDER BY seq
                """).map(Self.event(from:))
        }
    }

    public func auditEvent(seq: Int64) throws -> AuditEvent? {
        try connections.read { session in
            try session.row("SELECT \(unescaped: Self.eventColumns) FROM audit_event WHERE seq = \(seq)").map(Self.event(from:))
        }
    }

    public func citedEvents(seqs: [Int64]) throws -> [Int64: CitedEvent] {
        try connections.read { session in
            var result: [Int64: CitedEvent] = [:]
            for start in stride(from: 0, to: seqs.count, by: 5000) {
                let chunk = Array(seqs[start..<min(start + 5000, seqs.count)])
                for row in try session.rows("SELECT seq, hash, request_id, target, event, details FROM audit_event WHERE seq = ANY(\(chunk))") {
                    var cited = CitedEvent(seq: try row.at(0), hash: try row.at(1), requestId: try row.at(2), target: try row.at(3), event: try row.at(4))
                    if let details = JSONValue.parse(Data(try row.at(5, as: String.self).utf8)) {
                        cited.state = details["state"]?.stringValue
                        cited.outcome = details["outcome"]?.stringValue
                        cited.attempt = details["attempt"]?.intValue
                    }
                    result[cited.seq] = cited
                }
            }
            return result
        }
    }

    public func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]] {
        try connections.read { session in try Self.finalTargetEvents(session, requestIds: requestIds) }
    }

    static func finalTargetEvents(_ session: PGSession, requestIds: [String]) throws -> [String: [String: AuditEvent]] {
        var result: [String: [String: AuditEvent]] = [:]
        for start in stride(from: 0, to: requestIds.count, by: 1000) {
            let chunk = Array(requestIds[start..<min(start + 1000, requestIds.count)])
            for row in try session.rows("""
                SELECT e.seq, e.at, e.request_id, e.target, e.event, e.details, e.prev_hash, e.hash, a.not_before
                FROM action a JOIN action_final f ON f.action_id = a.id JOIN audit_event e ON e.seq = f.seq
                WHERE a.request_id = ANY(\(chunk))
                """) {
                let event = try event(from: row)
                guard let request = event.requestId, let target = event.target else { continue }
                let followUp = try row.at(8, as: String.self)
                result[request, default: [:]][followUp.isEmpty ? target : "\(target)@\(followUp)"] = event
            }
        }
        return result
    }

    public func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]] {
        try connections.read { session in try Self.changeEvents(session, requestIds: requestIds) }
    }

    static func changeEvents(_ session: PGSession, requestIds: [String]) throws -> [String: [AuditEvent]] {
        var result: [String: [AuditEvent]] = [:]
        let kinds = AuditChain.changeEvents.sorted()
        for start in stride(from: 0, to: requestIds.count, by: 1000) {
            let chunk = Array(requestIds[start..<min(start + 1000, requestIds.count)])
            for row in try session.rows("""
                SELECT \(unescaped: eventColumns) FROM audit_event WHERE request_id = ANY(\(chunk)) AND event = ANY(\(kinds)) ORDER BY seq
                """) {
                let event = try event(from: row)
                if let id = event.requestId { result[id, default: []].append(event) }
            }
        }
        return result
    }

    /// One repeatable-read view of the database for a report.
    struct Snapshot: ReportSnapshot {
        let session: PGSession
        let store: PostgresStore

        func chainHead() throws -> ChainVerification { try PostgresStore.chainHead(session) }

        func requestCount(receivedFrom from: CalendarDate, to: CalendarDate) throws -> Int {
            Int(try session.value("SELECT COUNT(*) FROM request WHERE received >= \(from.description) AND received <= \(to.description)",
                                  as: Int64.self) ?? 0)
        }

        func requests(receivedFrom from: CalendarDate, to: CalendarDate, pageSize size: Int, _ body: ([StoredRequest]) throws -> Void) throws {
            // Keyset pages in (received, created_at, id) order, so no page holds the whole period.
            var after: (received: String, createdAt: Double, id: String)?
            while true {
                let rows = try session.rows("""
                    SELECT \(unescaped: PostgresStore.requestColumns) FROM request
                    WHERE received >= \(from.description) AND received <= \(to.description)
                        AND (\(after?.received)::text IS NULL OR (received, created_at, id COLLATE "C") > (\(after?.received), \(after?.createdAt), \(after?.id)))
                    ORDER BY received, created_at, id COLLATE "C" LIMIT \(size)
                    """)
                let page = try rows.map(store.request(from:))
                if !page.isEmpty { try body(page) }
                guard let last = page.last, page.count == size else { return }
                after = (last.received.description, last.createdAt.timeIntervalSince1970, last.id)
            }
        }

        func actions(of requestIds: [String]) throws -> [String: [StoredAction]] { try PostgresStore.actions(session, of: requestIds) }

        func undecodedActions(of requestIds: [String]) throws -> UndecodedActions {
            let actions = try PostgresStore.actions(session, of: requestIds)
            return UndecodedActions { actions }
        }

        func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]] {
            try PostgresStore.finalTargetEvents(session, requestIds: requestIds)
        }

        func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
            try PostgresStore.followUps(session, completedFrom: from, to: to)
        }

        func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]] { try PostgresStore.changeEvents(session, requestIds: requestIds) }
    }

    public func snapshot<T>(_ body: (any ReportSnapshot) throws -> T) throws -> T {
        try connections.snapshot { session in try body(Snapshot(session: session, store: self)) }
    }
}

// MARK: Tokens

extension PostgresStore {
    public func createToken(name: String, role: TokenRole, now: Date) throws -> (token: APIToken, secret: String) {
        let (id, secret) = try APIToken.new(named: name)
        return try connections.write { session in
            if try session.row("SELECT 1 FROM api_token WHERE name = \(name)") != nil {
                throw StoreError.invalid("a token named '\(name)' exists already; revoke it or choose another name")
            }
            try session.execute("""
                INSERT INTO api_token (id, name, role, sha256, created_at)
                VALUES (\(id), \(name), \(role.rawValue), \(APIToken.digest(secret)), \(now.timeIntervalSince1970))
                """)
            try Self.appendAudit(session, at: now, request: nil, target: nil, event: .tokenCreated,
                                 details: ["token": .string(id), "name": .string(name), "role": .string(role.rawValue)])
            return (APIToken(id: id, name: name, role: role, createdAt: Date(timeIntervalSince1970: now.timeIntervalSince1970), revokedAt: nil), secret)
        }
    }

    public func tokens() throws -> [APIToken] {
        try connections.read { session in
            try session.rows("SELECT \(unescaped: Self.tokenColumns) FROM api_token ORDER BY created_at DESC, id COLLATE \"C\"").map(Self.token(from:))
        }
    }

    public func token(secret: String) throws -> APIToken? {
        try connections.read { session in
            try session.row("SELECT \(unescaped: Self.tokenColumns) FROM api_token WHERE sha256 = \(APIToken.digest(secret))").map(Self.token(from:))
        }
    }

    public func revokeToken(_ idOrName: String, now: Date) throws -> APIToken {
        try connections.write { session in
            guard let row = try session.row("SELECT \(unescaped: Self.tokenColumns) FROM api_token WHERE id = \(idOrName) OR name = \(idOrName)") else {
                throw StoreError.notFound("no token with id or name '\(idOrName)'; `lethe token list` shows them")
            }
            var token = try Self.token(from: row)
            if token.isRevoked { return token }
            try session.execute("UPDATE api_token SET revoked_at = \(now.timeIntervalSince1970) WHERE id = \(token.id)")
            try Self.appendAudit(session, at: now, request: nil, target: nil, event: .tokenRevoked,
                                 details: ["token": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue)])
            token.revokedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970)
            return token
        }
    }
}

// MARK: Dashboard sessions, webhooks, job leases

extension PostgresStore {
    public func openSession(_ record: DashboardSessionRecord, now: Date) throws {
        try connections.write(chain: false) { session in
            try session.execute("DELETE FROM dashboard_session WHERE expires_at <= \(now.timeIntervalSince1970)")
            try session.execute("""
                INSERT INTO dashboard_session (id_digest, token_id, csrf, expires_at)
                VALUES (\(APIToken.digest(record.id)), \(record.tokenId), \(record.csrf), \(record.expires.timeIntervalSince1970))
                """)
        }
    }

    public func session(id: String, now: Date) throws -> DashboardSessionRecord? {
        guard let found = try connections.read({ session in
            try session.row("SELECT token_id, csrf, expires_at FROM dashboard_session WHERE id_digest = \(APIToken.digest(id))")
                .map { (tokenId: try $0.at(0, as: String.self), csrf: try $0.at(1, as: String.self), expires: try $0.at(2, as: Double.self)) }
        }) else { return nil }
        let expires = Date(timeIntervalSince1970: found.expires)
        guard expires > now else {
            try closeSession(id: id)
            return nil
        }
        return DashboardSessionRecord(id: id, tokenId: found.tokenId, csrf: found.csrf, expires: expires)
    }

    public func closeSession(id: String) throws {
        try connections.write(chain: false) { session in
            try session.execute("DELETE FROM dashboard_session WHERE id_digest = \(APIToken.digest(id))")
        }
    }

    public func webhookCursor(url: String) throws -> WebhookCursor {
        try connections.write(chain: false) { session in
            try session.execute("""
                INSERT INTO webhook_cursor (url, last_seq) VALUES (\(url), (SELECT COALESCE(MAX(seq), 0) FROM audit_event)) ON CONFLICT DO NOTHING
                """)
            guard let row = try session.row("SELECT last_seq, attempts, next_attempt_at FROM webhook_cursor WHERE url = \(url)") else {
                throw StoreError.notFound("no webhook cursor for \(url)")
            }
            return WebhookCursor(url: url, lastSeq: try row.at(0), attempts: Int(try row.at(1, as: Int64.self)),
                                 nextAttemptAt: Date(timeIntervalSince1970: try row.at(2)))
        }
    }

    public func nextWebhookEvent(after seq: Int64) throws -> (event: AuditEvent, request: StoredRequest)? {
        try connections.read { session in
            guard let event = try session.row("""
                SELECT \(unescaped: Self.eventColumns) FROM audit_event WHERE seq > \(seq) AND event = ANY(\(AuditChain.webhookEvents)) ORDER BY seq LIMIT 1
                """).map(Self.event(from:)), let id = event.requestId else { return nil }
            return (event, try request(id, in: session))
        }
    }

    public func webhookDelivered(url: String, seq: Int64) throws {
        try connections.write(chain: false) { session in
            try session.execute("UPDATE webhook_cursor SET last_seq = \(seq), attempts = 0, next_attempt_at = 0, last_error = NULL WHERE url = \(url)")
        }
    }

    public func webhookFailed(url: String, error: String, retryAt: Date) throws {
        try connections.write(chain: false) { session in
            try session.execute("""
                UPDATE webhook_cursor SET attempts = attempts + 1, next_attempt_at = \(retryAt.timeIntervalSince1970), last_error = \(error) WHERE url = \(url)
                """)
        }
    }

    public func overdueNotNotified(url: String, today: CalendarDate, limit: Int) throws -> [StoredRequest] {
        try connections.read { session in
            try session.rows("""
                SELECT \(unescaped: Self.requestColumns) FROM request WHERE state = ANY(\(DeadlineStanding.statesThatCanBeOverdue.map(\.rawValue)))
                    AND due < \(today.description) AND id NOT IN (SELECT request_id FROM webhook_overdue WHERE url = \(url))
                ORDER BY due, id COLLATE "C" LIMIT \(limit)
                """).map(request(from:))
        }
    }

    public func overdueNotified(url: String, requestId: String) throws {
        try connections.write(chain: false) { session in
            try session.execute("INSERT INTO webhook_overdue (url, request_id) VALUES (\(url), \(requestId)) ON CONFLICT DO NOTHING")
        }
    }

    public func acquireJob(_ name: String, holder: String, until: Date, now: Date) throws -> Bool {
        try connections.write(chain: false) { session in
            try session.execute("""
                INSERT INTO job_lease (name, holder, expires_at) VALUES (\(name), \(holder), \(until.timeIntervalSince1970))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_lease.holder = excluded.holder OR job_lease.expires_at <= \(now.timeIntervalSince1970)
                """) > 0
        }
    }

    public func releaseJob(_ name: String, holder: String) throws {
        try connections.write(chain: false) { session in
            try session.execute("DELETE FROM job_lease WHERE name = \(name) AND holder = \(holder)")
        }
    }

    public func jobHolders(prefix: String, now: Date) throws -> Int {
        try connections.read { session in
            Int(try session.value("""
                SELECT COUNT(*) FROM job_lease WHERE left(name, \(prefix.count)::int) = \(prefix) AND expires_at > \(now.timeIntervalSince1970)
                """, as: Int64.self) ?? 0)
        }
    }
}

extension PostgresStore {
    public func appendCheckpointLine(_ line: String) throws {
        try connections.write(chain: false) { session in try session.execute("INSERT INTO audit_checkpoint (line) VALUES (\(line))") }
    }

    public func checkpointLines() throws -> [String] {
        try connections.read { session in try session.rows("SELECT line FROM audit_checkpoint ORDER BY id").map { try $0.at(0, as: String.self) } }
    }
}
