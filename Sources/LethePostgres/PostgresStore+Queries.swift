import Foundation
import LetheCore
import LetheStorage
import PostgresNIO

/// Reading requests and actions (`RequestQueries`).
extension PostgresStore {
    public func request(_ idOrRef: String) throws -> StoredRequest? {
        try connections.read { session in
            let row = try session.row("SELECT \(unescaped: Self.requestColumns) FROM request WHERE id = \(idOrRef)")
                ?? session.row("SELECT \(unescaped: Self.requestColumns) FROM request WHERE ref = \(idOrRef)")
            return try row.map(request(from:))
        }
    }

    public func requests(state: RequestState?, overdueOn today: CalendarDate?, limit: Int?) throws -> [StoredRequest] {
        var states = state.map { [$0] }
        if today != nil { states = DeadlineStanding.statesThatCanBeOverdue.filter { state == nil || $0 == state } }
        if let states, states.isEmpty { return [] }
        var sql = SQLBuilder("SELECT \(Self.requestColumns) FROM request WHERE TRUE")
        if let states { sql.sql += " AND state = ANY(\(sql.bind(states.map(\.rawValue))))" }
        if let today { sql.sql += " AND due < \(sql.bind(today.description))" }
        sql.sql += " ORDER BY created_at DESC, id COLLATE \"C\" DESC" + (limit.map { " LIMIT \($0)" } ?? "")
        return try connections.read { session in try session.rows(sql.query).map(request(from:)) }
    }

    public func requests(_ filter: RequestFilter, limit: Int) throws -> (requests: [StoredRequest], next: RequestCursor?) {
        var sql = SQLBuilder("SELECT \(Self.requestColumns) FROM request WHERE TRUE")
        if let state = filter.state { sql.sql += " AND state = \(sql.bind(state.rawValue))" }
        if let kind = filter.kind { sql.sql += " AND kind = \(sql.bind(kind))" }
        if let ref = filter.ref { sql.sql += " AND ref = \(sql.bind(ref))" }
        if let target = filter.target {
            sql.sql += " AND EXISTS (SELECT 1 FROM action WHERE action.request_id = request.id AND action.target = \(sql.bind(target)))"
        }
        if filter.scheduled {
            sql.sql += " AND EXISTS (SELECT 1 FROM action WHERE action.request_id = request.id AND action.follows IS NOT NULL"
                + " AND action.state NOT IN ('succeeded', 'cancelled'))"
        }
        if let from = filter.receivedFrom { sql.sql += " AND received >= \(sql.bind(from.description))" }
        if let to = filter.receivedTo { sql.sql += " AND received <= \(sql.bind(to.description))" }
        if let today = filter.overdueOn {
            sql.sql += " AND state = ANY(\(sql.bind(DeadlineStanding.statesThatCanBeOverdue.map(\.rawValue)))) AND due < \(sql.bind(today.description))"
        }
        if let after = filter.after {
            let op = filter.newestFirst ? "<" : ">"
            let at = sql.bind(after.createdAt), id = sql.bind(after.id)
            sql.sql += " AND (created_at \(op) \(at) OR (created_at = \(at) AND id COLLATE \"C\" \(op) \(id)))"
        }
        sql.sql += (filter.newestFirst ? " ORDER BY created_at DESC, id COLLATE \"C\" DESC" : " ORDER BY created_at, id COLLATE \"C\"") + " LIMIT \(limit + 1)"
        var rows = try connections.read { session in try session.rows(sql.query).map(request(from:)) }
        var next: RequestCursor?
        if rows.count > limit {
            rows.removeLast()
            next = rows.last.map { RequestCursor(createdAt: $0.createdAt.timeIntervalSince1970, id: $0.id) }
        }
        return (rows, next)
    }

    public func requests(receivedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredRequest] {
        try connections.read { session in
            try session.rows("""
                SELECT \(unescaped: Self.requestColumns) FROM request WHERE received >= \(from.description) AND received <= \(to.description)
                ORDER BY received, created_at, id COLLATE "C"
                """).map(request(from:))
        }
    }

    public func requestsWithOpenFollowUps(limit: Int?) throws -> [StoredRequest] {
        try connections.read { session in
            try session.rows("""
                SELECT \(unescaped: Self.requestColumnsQualified) FROM request JOIN (
                    SELECT request_id, MIN(not_before) AS due FROM action
                    WHERE follows IS NOT NULL AND state NOT IN ('succeeded', 'cancelled') GROUP BY request_id) f ON f.request_id = request.id
                ORDER BY f.due, request.id COLLATE "C" LIMIT \(limit.map(Int64.init))
                """).map(request(from:))
        }
    }

    public func earliestReceived() throws -> CalendarDate? {
        try connections.read { session in try session.value("SELECT MIN(received) FROM request", as: String.self).flatMap(CalendarDate.init(iso:)) }
    }

    public func actions(of requestId: String) throws -> [StoredAction] {
        try connections.read { session in try Self.actions(session, of: [requestId])[requestId] ?? [] }
    }

    public func actions(of requestIds: [String]) throws -> [String: [StoredAction]] {
        try connections.read { session in try Self.actions(session, of: requestIds) }
    }

    public func actionsJustFiled(of requestId: String) throws -> [StoredAction] { try actions(of: requestId) }

    static func actions(_ session: PGSession, of requestIds: [String]) throws -> [String: [StoredAction]] {
        var result: [String: [StoredAction]] = [:]
        for start in stride(from: 0, to: requestIds.count, by: 1000) {
            let chunk = Array(requestIds[start..<min(start + 1000, requestIds.count)])
            for row in try session.rows("""
                SELECT \(unescaped: actionColumns) FROM action WHERE request_id = ANY(\(chunk)) ORDER BY request_id, target COLLATE "C", not_before
                """) {
                let action = try action(from: row)
                result[action.requestId, default: []].append(action)
            }
        }
        return result
    }

    public func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
        try connections.read { session in try Self.followUps(session, completedFrom: from, to: to) }
    }

    static func followUps(_ session: PGSession, completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
        try session.rows("""
            SELECT \(unescaped: actionColumns) FROM action WHERE follows IS NOT NULL AND completed_at >= \(from.secondsSince1970AtMidnightUTC)
                AND completed_at < \(to.adding(days: 1).secondsSince1970AtMidnightUTC) ORDER BY completed_at, id
            """).map(action(from:))
    }

    public func attempts(of actionId: Int64) throws -> [StoredAttempt] {
        try connections.read { session in
            try session.rows("""
                SELECT number, started_at, duration_ms, result, status_code, error FROM attempt WHERE action_id = \(actionId) ORDER BY number
                """).map { row in
                StoredAttempt(actionId: actionId, number: Int(try row.at(0, as: Int64.self)), startedAt: Date(timeIntervalSince1970: try row.at(1)),
                              durationMs: Int(try row.at(2, as: Int64.self)), result: try row.at(3),
                              statusCode: try row.at(4, as: Int64?.self).map(Int.init), error: try row.at(5))
            }
        }
    }

    public func serverMessages(of requestId: String) throws -> [String: String] {
        try connections.read { session in
            var messages: [String: String] = [:]
            for row in try session.rows("""
                SELECT target, server_message FROM action WHERE request_id = \(requestId) AND server_message IS NOT NULL AND follows IS NULL
                """) {
                messages[try row.at(0)] = try row.at(1, as: String.self)
            }
            return messages
        }
    }

    public func states(of requestIds: Set<String>) throws -> [String: RequestState] {
        guard !requestIds.isEmpty else { return [:] }
        return try connections.read { session in
            var result: [String: RequestState] = [:]
            for row in try session.rows("SELECT id, state FROM request WHERE id = ANY(\(Array(requestIds)))") {
                if let state = RequestState(rawValue: try row.at(1)) { result[try row.at(0)] = state }
            }
            return result
        }
    }

    public func count(state: RequestState) throws -> Int {
        try connections.read { session in Int(try session.value("SELECT COUNT(*) FROM request WHERE state = \(state.rawValue)", as: Int64.self) ?? 0) }
    }

    public func gauges(today: CalendarDate) throws -> Gauges {
        try connections.read { session in
            var gauges = Gauges()
            for row in try session.rows("SELECT state, kind, COUNT(*) FROM request GROUP BY state, kind") {
                gauges.requests[try row.at(0), default: [:]][try row.at(1)] = Int(try row.at(2, as: Int64.self))
            }
            for row in try session.rows("SELECT target, state, COUNT(*) FROM action GROUP BY target, state") {
                gauges.actions[try row.at(0), default: [:]][try row.at(1)] = Int(try row.at(2, as: Int64.self))
            }
            let open = DeadlineStanding.statesThatCanBeOverdue.map(\.rawValue)
            gauges.overdue = Int(try session.value("SELECT COUNT(*) FROM request WHERE state = ANY(\(open)) AND due < \(today.description)",
                                                   as: Int64.self) ?? 0)
            gauges.oldestOpenFiledAt = try session.value("""
                SELECT MIN(created_at) FROM request WHERE state IN ('awaiting_approval', 'received', 'in_progress')
                """, as: Double.self).map(Date.init(timeIntervalSince1970:))
            return gauges
        }
    }

    public func overview(today: CalendarDate, weeksBack: Int) throws -> Overview {
        let open = DeadlineStanding.statesThatCanBeOverdue.map(\.rawValue)
        let since = today.adding(days: -7 * weeksBack)
        return try connections.read { session in
            var overview = Overview()
            for row in try session.rows("SELECT state, COUNT(*) FROM request GROUP BY state") {
                overview.byState[try row.at(0)] = Int(try row.at(1, as: Int64.self))
            }
            overview.overdue = Int(try session.value("SELECT COUNT(*) FROM request WHERE state = ANY(\(open)) AND due < \(today.description)",
                                                     as: Int64.self) ?? 0)
            overview.dueSoon = Int(try session.value("""
                SELECT COUNT(*) FROM request WHERE state IN ('awaiting_approval', 'received', 'in_progress')
                    AND due >= \(today.description) AND due <= \(today.adding(days: 7).description)
                """, as: Int64.self) ?? 0)
            overview.scheduledFollowUps = Int(try session.value("SELECT COUNT(*) FROM action WHERE state = 'scheduled'", as: Int64.self) ?? 0)
            for row in try session.rows("SELECT target, COUNT(*) FROM action WHERE state IN ('failed', 'needs_review') GROUP BY target") {
                overview.failingByTarget[try row.at(0)] = Int(try row.at(1, as: Int64.self))
            }
            overview.lastAttemptAt = try session.value("SELECT finished_at FROM attempt ORDER BY id DESC LIMIT 1", as: Double.self)
                .map(Date.init(timeIntervalSince1970:))
            for row in try session.rows("SELECT received, state, COUNT(*) FROM request WHERE received >= \(since.description) GROUP BY received, state") {
                guard let day = CalendarDate(iso: try row.at(0)) else { continue }
                let monday = day.adding(days: -day.weekdayFromMonday)
                overview.weekly[monday.description, default: [:]][try row.at(1), default: 0] += Int(try row.at(2, as: Int64.self))
            }
            return overview
        }
    }
}
