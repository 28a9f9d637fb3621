import Foundation
import GRDB
import LetheCore
import LetheStorage

extension AppDatabase {
    /// A request by id, or by its external reference.
    public func request(_ idOrRef: String) throws -> StoredRequest? {
        try writer.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM request WHERE id = ?", arguments: [idOrRef])
                ?? Row.fetchOne(db, sql: "SELECT * FROM request WHERE ref = ?", arguments: [idOrRef])
            return try row.map { try StoredRequest(row: $0, sealer: sealer) }
        }
    }

    /// Requests, newest first (as the dashboard lists them), optionally by state, or only the
    /// overdue ones: past their due date and still needing work (open, failed or needs_review;
    /// `DeadlineStanding`).
    ///
    /// Each state is one range of `request(state, created_at, id)` read newest first, so a page of
    /// overdue requests stops after `limit` rows per state instead of sorting every open request
    /// (a million of them took 2 s; `StoreTests.overdueUsesIndex`, `StoreTests.overduePage`).
    public func requests(state: RequestState?, overdueOn today: CalendarDate?, limit: Int?) throws -> [StoredRequest] {
        try writer.read { db in
            var states = state.map { [$0] }
            if today != nil {
                states = DeadlineStanding.statesThatCanBeOverdue.filter { state == nil || $0 == state }
            }
            let page = limit.map { " LIMIT \($0)" } ?? ""
            guard let states else {
                return try Row.fetchAll(db, sql: "SELECT * FROM request ORDER BY created_at DESC, id DESC" + page).map { try StoredRequest(row: $0, sealer: sealer) }
            }
            if states.isEmpty { return [] }
            let args = StatementArguments(states.flatMap { [$0.rawValue] + (today.map { [$0.description] } ?? []) })
            let sql = Self.newestFirst(states: states.count, dueBefore: today != nil, limit: limit)
            return try Row.fetchAll(db, sql: sql, arguments: args).map { try StoredRequest(row: $0, sealer: sealer) }
        }
    }

    /// Requests in some states (one `?` each, then one for the day when `dueBefore`), newest
    /// first: a range of `request(state, created_at, id)` per state, merged.
    static func newestFirst(states: Int, dueBefore: Bool, limit: Int?) -> String {
        let page = limit.map { " LIMIT \($0)" } ?? ""
        let range = """
            SELECT * FROM (SELECT * FROM request INDEXED BY request_state_created WHERE state = ?\(dueBefore ? " AND due < ?" : "")
                ORDER BY created_at DESC, id DESC\(page))
            """
        return "SELECT * FROM (\(Array(repeating: range, count: states).joined(separator: " UNION ALL "))) ORDER BY created_at DESC, id DESC" + page
    }

    /// The day the oldest request was received, if there is any.
    public func earliestReceived() throws -> CalendarDate? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT MIN(received) FROM request").flatMap(CalendarDate.init(iso:))
        }
    }

    /// One consistent view of the database for a long read, such as a report: every query made
    /// through it sees the same committed state, whatever the engine writes meanwhile.
    public struct Snapshot: ReportSnapshot {
        let db: Database
        let sealer: IdentifierSealer?

        /// Recomputes every hash and checks every link of the audit chain.
        /// The chain's head as this snapshot sees it, without walking the chain (see
        /// `AppDatabase.chainHead`); walk it with `verifyAuditChain(through:)`.
        public func chainHead() throws -> ChainVerification { try AppDatabase.chainHead(db) }

        /// How many requests were received within a period (inclusive).
        public func requestCount(receivedFrom from: CalendarDate, to: CalendarDate) throws -> Int {
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request WHERE received >= ? AND received <= ?",
                             arguments: [from.description, to.description]) ?? 0
        }

        /// The requests received within a period (inclusive), oldest first, `size` at a time.
        public func requests(receivedFrom from: CalendarDate, to: CalendarDate, pageSize size: Int,
                             _ body: ([StoredRequest]) throws -> Void) throws {
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM request WHERE received >= ? AND received <= ? ORDER BY received, created_at, id",
                                             arguments: [from.description, to.description])
            var page: [StoredRequest] = []
            page.reserveCapacity(size)
            while let row = try cursor.next() {
                page.append(try StoredRequest(row: row, sealer: sealer))
                if page.count == size {
                    try body(page)
                    page.removeAll(keepingCapacity: true)
                }
            }
            if !page.isEmpty { try body(page) }
        }

        public func actions(of requestIds: [String]) throws -> [String: [StoredAction]] { try AppDatabase.actions(db, of: requestIds) }

        /// The actions of these requests as read, to be decoded later on any thread: a report
        /// export reads on one thread and builds rows on another, and decoding (the plan's JSON,
        /// dates, states) was most of the reading thread's own work.
        public func undecodedActions(of requestIds: [String]) throws -> UndecodedActions { try AppDatabase.undecodedActions(db, of: requestIds) }

        public func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]] {
            try AppDatabase.finalTargetEvents(db, requestIds: requestIds)
        }

        public func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
            try AppDatabase.followUps(db, completedFrom: from, to: to)
        }

        public func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]] {
            try AppDatabase.changeEvents(db, requestIds: requestIds)
        }
    }

    /// Runs `body` on one snapshot of the database (one read transaction).
    public func snapshot<T>(_ body: (any ReportSnapshot) throws -> T) throws -> T {
        try writer.read { db in try body(Snapshot(db: db, sealer: sealer)) }
    }

    /// Requests received within a period (inclusive), oldest first.
    public func requests(receivedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredRequest] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM request WHERE received >= ? AND received <= ? ORDER BY received, created_at, id",
                             arguments: [from.description, to.description]).map { try StoredRequest(row: $0, sealer: sealer) }
        }
    }

    /// The actions of a request, by target; each target's own action first, then its follow-ups
    /// by due day.
    public func actions(of requestId: String) throws -> [StoredAction] {
        try writer.read { db in try Self.actions(db, of: requestId) }
    }

    /// `actions(of:)` read on the writer's connection, for a process that has just filed the
    /// request and reads nothing else (`lethe erase`, `lethe revoke`): it then never opens a
    /// second connection. Waits behind writes, so not for a server's reads.
    public func actionsJustFiled(of requestId: String) throws -> [StoredAction] {
        try writer.writeWithoutTransaction { db in try Self.actions(db, of: requestId) }
    }

    static func actions(_ db: Database, of requestId: String) throws -> [StoredAction] {
        try Row.fetchAll(db, sql: "SELECT \(StoredAction.selection) FROM action WHERE request_id = ? ORDER BY target, not_before", arguments: [requestId])
            .map(StoredAction.init)
    }

    /// Follow-ups (retention ends) that finished within a period, inclusive: a period report lists
    /// the erasures carried out in it, whenever their request was received.
    public func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
        try writer.read { db in try Self.followUps(db, completedFrom: from, to: to) }
    }

    static func followUps(_ db: Database, completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction] {
        do {
            return try Row.fetchAll(db, sql: """
                SELECT \(StoredAction.selection) FROM action WHERE follows IS NOT NULL AND completed_at >= ? AND completed_at < ? ORDER BY completed_at, id
                """, arguments: [from.secondsSince1970AtMidnightUTC, to.adding(days: 1).secondsSince1970AtMidnightUTC]).map(StoredAction.init)
        }
    }

    /// Requests with a follow-up that has not succeeded yet (scheduled, waiting, or failed), by due day.
    public func requestsWithOpenFollowUps(limit: Int?) throws -> [StoredRequest] {
        try writer.read { db in
            var sql = """
                SELECT request.* FROM request JOIN (
                    SELECT request_id, MIN(not_before) AS due FROM action
                    WHERE follows IS NOT NULL AND state NOT IN ('succeeded', 'cancelled') GROUP BY request_id) f ON f.request_id = request.id
                ORDER BY f.due, request.id
                """
            if let limit { sql += " LIMIT \(limit)" }
            return try Row.fetchAll(db, sql: sql).map { try StoredRequest(row: $0, sealer: sealer) }
        }
    }

    /// The actions of many requests at once, by request id.
    public func actions(of requestIds: [String]) throws -> [String: [StoredAction]] {
        try writer.read { db in try Self.actions(db, of: requestIds) }
    }

    static func actions(_ db: Database, of requestIds: [String]) throws -> [String: [StoredAction]] {
        try undecodedActions(db, of: requestIds).decoded()
    }

    static func undecodedActions(_ db: Database, of requestIds: [String]) throws -> UndecodedActions {
        var rows: [Row] = []
        for chunk in stride(from: 0, to: requestIds.count, by: 500).map({ Array(requestIds[$0..<min($0 + 500, requestIds.count)]) }) {
            rows += try Row.fetchAll(db, sql: actionsOfRequests(chunk.count), arguments: StatementArguments(chunk))
        }
        return UndecodedActions(rows: rows)
    }

    /// The actions of `count` requests, by target and due day.
    static func actionsOfRequests(_ count: Int) -> String {
        "SELECT \(StoredAction.selection) FROM action WHERE request_id IN (\(databaseQuestionMarks(count: count))) ORDER BY target, not_before"
    }

    /// What each target of an open request said in its own words about its last failure, by
    /// target (purged when the request ends; see migration v15).
    public func serverMessages(of requestId: String) throws -> [String: String] {
        try writer.read { db in
            var messages: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT target, server_message FROM action WHERE request_id = ? AND server_message IS NOT NULL AND follows IS NULL",
                                        arguments: [requestId]) {
                messages[row["target"]] = row["server_message"]
            }
            return messages
        }
    }

    /// The attempts of an action, in order.
    public func attempts(of actionId: Int64) throws -> [StoredAttempt] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attempt WHERE action_id = ? ORDER BY number", arguments: [actionId]).map(StoredAttempt.init)
        }
    }

    /// States of the given requests.
    public func states(of requestIds: Set<String>) throws -> [String: RequestState] {
        try writer.read { db in
            var result: [String: RequestState] = [:]
            for id in requestIds {
                if let text = try String.fetchOne(db, sql: "SELECT state FROM request WHERE id = ?", arguments: [id]),
                   let state = RequestState(rawValue: text) {
                    result[id] = state
                }
            }
            return result
        }
    }

    /// A value kept in the meta table (marker, settings).
    public func meta(_ key: String) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try writer.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }
}

extension AppDatabase {


    /// A page of requests in filing order, and the cursor of the next page (nil on the last).
    public func requests(_ filter: RequestFilter, limit: Int) throws -> (requests: [StoredRequest], next: RequestCursor?) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let state = filter.state { conditions.append("state = ?"); arguments.append(state.rawValue) }
        if let kind = filter.kind { conditions.append("kind = ?"); arguments.append(kind) }
        if let ref = filter.ref { conditions.append("ref = ?"); arguments.append(ref) }
        // Per request, a point lookup in the (request_id, target, not_before) index: a page
        // stops after `limit` matches instead of first collecting every matching action.
        if let target = filter.target {
            conditions.append("EXISTS (SELECT 1 FROM action WHERE action.request_id = request.id AND action.target = ?)")
            arguments.append(target)
        }
        if filter.scheduled {
            conditions.append("EXISTS (SELECT 1 FROM action WHERE action.request_id = request.id AND action.follows IS NOT NULL"
                + " AND action.state NOT IN ('succeeded', 'cancelled'))")
        }
        if let from = filter.receivedFrom { conditions.append("received >= ?"); arguments.append(from.description) }
        if let to = filter.receivedTo { conditions.append("received <= ?"); arguments.append(to.description) }
        if let today = filter.overdueOn {
            conditions.append("state IN (\(DeadlineStanding.statesThatCanBeOverdue.map { "'\($0.rawValue)'" }.joined(separator: ", "))) AND due < ?")
            arguments.append(today.description)
        }
        if let after = filter.after {
            let op = filter.newestFirst ? "<" : ">"
            conditions.append("(created_at \(op) ? OR (created_at = ? AND id \(op) ?))")
            arguments += [after.createdAt, after.createdAt, after.id]
        }
        let sql = "SELECT * FROM request" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + (filter.newestFirst ? " ORDER BY created_at DESC, id DESC" : " ORDER BY created_at, id") + " LIMIT \(limit + 1)"
        return try writer.read { db in
            var rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { try StoredRequest(row: $0, sealer: sealer) }
            var next: RequestCursor?
            if rows.count > limit {
                rows.removeLast()
                next = rows.last.map { RequestCursor(createdAt: $0.createdAt.timeIntervalSince1970, id: $0.id) }
            }
            return (rows, next)
        }
    }
}

extension AppDatabase {

    public func gauges(today: CalendarDate) throws -> Gauges {
        try writer.read { db in
            var gauges = Gauges()
            for row in try Row.fetchAll(db, sql: "SELECT state, kind, COUNT(*) AS n FROM request GROUP BY state, kind") {
                gauges.requests[row["state"], default: [:]][row["kind"]] = row["n"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT target, state, COUNT(*) AS n FROM action GROUP BY target, state") {
                gauges.actions[row["target"], default: [:]][row["state"]] = row["n"]
            }
            let states = DeadlineStanding.statesThatCanBeOverdue.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            gauges.overdue = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request WHERE state IN (\(states)) AND due < ?",
                                              arguments: [today.description]) ?? 0
            gauges.oldestOpenFiledAt = try Double.fetchOne(db, sql: "SELECT MIN(created_at) FROM request WHERE state IN ('awaiting_approval', 'received', 'in_progress')")
                .map(Date.init(timeIntervalSince1970:))
            return gauges
        }
    }
}

extension AppDatabase {

    public func overview(today: CalendarDate, weeksBack: Int) throws -> Overview {
        let open = DeadlineStanding.statesThatCanBeOverdue.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let since = today.adding(days: -7 * weeksBack)
        return try writer.read { db in
            var overview = Overview()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM request GROUP BY state") {
                overview.byState[row["state"]] = row["n"]
            }
            overview.overdue = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request WHERE state IN (\(open)) AND due < ?",
                                                arguments: [today.description]) ?? 0
            overview.dueSoon = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM request WHERE state IN ('awaiting_approval', 'received', 'in_progress') AND due >= ? AND due <= ?
                """, arguments: [today.description, today.adding(days: 7).description]) ?? 0
            overview.scheduledFollowUps = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM action WHERE state = 'scheduled'") ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT target, COUNT(*) AS n FROM action WHERE state IN ('failed', 'needs_review') GROUP BY target") {
                overview.failingByTarget[row["target"]] = row["n"]
            }
            overview.lastAttemptAt = try Double.fetchOne(db, sql: "SELECT finished_at FROM attempt ORDER BY id DESC LIMIT 1")
                .map(Date.init(timeIntervalSince1970:))
            for row in try Row.fetchAll(db, sql: "SELECT received, state, COUNT(*) AS n FROM request WHERE received >= ? GROUP BY received, state",
                                        arguments: [since.description]) {
                guard let day = CalendarDate(iso: row["received"]) else { continue }
                let monday = day.adding(days: -day.weekdayFromMonday)
                overview.weekly[monday.description, default: [:]][row["state"], default: 0] += row["n"] as Int
            }
            return overview
        }
    }
}

/// Rows read by `Row.fetchAll`, handed to another thread to decode.
///
/// Unchecked: GRDB's `Row` is not `Sendable` because a row read from a live statement changes
/// as the statement steps; these come from `Row.fetchAll`, which copies every value into an
/// immutable row that no statement touches again, so handing them to another thread is safe.
/// Only this file makes one, and only from `fetchAll`.
private struct FetchedRows: @unchecked Sendable {
    let rows: [Row]
}

extension UndecodedActions {
    fileprivate init(rows: [Row]) {
        let fetched = FetchedRows(rows: rows)
        self.init {
            var result: [String: [StoredAction]] = [:]
            for row in fetched.rows {
                let action = try StoredAction(row: row)
                result[action.requestId, default: []].append(action)
            }
            return result
        }
    }
}
