import Crypto
import Foundation
import GRDB
import GRDBSQLite
import LetheCore
import LetheStorage

extension AppDatabase {

    /// Appends an audit event to the chain; call inside the transaction of the change it records.
    /// `details` must hold no raw identifier of the subject: only the pseudonym.
    @discardableResult
    static func appendAudit(_ db: Database, at date: Date, request: String?, target: String?, event kind: AuditEventKind,
                            details: [String: JSONValue]) throws -> AuditEvent {
        let event = kind.rawValue
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"))
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        let prev: String = last?["hash"] ?? AuditChain.genesisHash
        let at = Timestamp.iso8601(date)
        let detailsJSON = CanonicalJSON.string(.object(details))
        let hash = AuditChain.hash(prev: prev, seq: seq, at: at, request: request, target: target, event: event, details: detailsJSON)
        try db.cachedStatement(sql: "INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [seq, at, request, target, event, detailsJSON, prev, hash])
        if let request, let target {
            // The action this event is about now cites it: a report reads each action's final
            // event by its number instead of grouping all of a request's events (issue #13). The
            // action is the target's own, or its follow-up when the details name one. A narrow
            // table of its own: rewriting the action's wide row for every event cost the engine
            // 10-15 % more CPU (Benchmarks/README.md, "Seventh round").
            try db.cachedStatement(sql: """
                INSERT INTO action_final (action_id, seq) SELECT id, ? FROM action WHERE request_id = ? AND target = ? AND not_before = ?
                ON CONFLICT (action_id) DO UPDATE SET seq = excluded.seq
                """).execute(arguments: [seq, request, target, details["follow_up"]?.stringValue ?? ""])
        }
        return AuditEvent(seq: seq, at: at, requestId: request, target: target, event: event, details: detailsJSON, prevHash: prev, hash: hash)
    }



    /// Columns of the row a statement stands on, read as bytes.
    private enum ChainColumns {
        /// The text of column `index`, or nil for NULL.
        static func text(_ statement: SQLiteStatement, _ index: Int32) -> UnsafeRawBufferPointer? {
            guard sqlite3_column_type(statement, index) != SQLITE_NULL, let text = sqlite3_column_text(statement, index) else { return nil }
            return UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index)))
        }

        /// The column as a canonical JSON string, or null.
        static func quoted(_ statement: SQLiteStatement, _ index: Int32, to out: inout [UInt8]) {
            if let text = text(statement, index) { CanonicalJSON.appendString(text, to: &out) } else { out.append(contentsOf: "null".utf8) }
        }

        static func equal(_ statement: SQLiteStatement, _ index: Int32, _ bytes: [UInt8]) -> Bool {
            guard let text = text(statement, index), text.count == bytes.count else { return false }
            return bytes.withUnsafeBytes { memcmp($0.baseAddress!, text.baseAddress!, bytes.count) == 0 }
        }
    }


    /// Recomputes every hash and checks every link (of the events up to `lastSeq`, when given).
    public func verifyAuditChain(through lastSeq: Int64?) throws -> ChainVerification {
        try writer.read { db in try Self.verifyAuditChain(db, through: lastSeq) }
    }

    /// What a whole chain ending at the log's last event would be, read without walking it:
    /// `verifyAuditChain(through: lastSeq)` returns exactly this when the chain is whole.
    static func chainHead(_ db: Database) throws -> ChainVerification {
        let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), MIN(seq), MAX(seq), (SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1) FROM audit_event")
        return ChainVerification(events: row?[0] ?? 0, headHash: row?[3] ?? AuditChain.genesisHash, firstSeq: row?[1], lastSeq: row?[2], problem: nil)
    }

    /// The walk reads each event's columns as bytes and hashes them in one reused buffer: it
    /// visits every event of the log (over a million behind 100,000 requests) on every report
    /// export and verification, where making strings and an `AuditEvent` of each was most of
    /// its time. `AuditChain.hash` is the same computation over strings; a test holds them equal.
    static func verifyAuditChain(_ db: Database, through lastSeq: Int64? = nil) throws -> ChainVerification {
        let statement = try db.makeStatement(sql: "SELECT seq, at, request_id, target, event, details, prev_hash, hash FROM audit_event "
            + (lastSeq == nil ? "" : "WHERE seq <= ? ") + "ORDER BY seq")
        let cursor = try Row.fetchCursor(statement, arguments: lastSeq.map { [$0] } ?? [])
        let sqlite = statement.sqliteStatement
        var prev = Array(AuditChain.genesisHash.utf8)
        var expectedSeq: Int64 = 1
        var count = 0
        var first: Int64?
        var body: [UInt8] = []
        body.reserveCapacity(1024)
        var hex = [UInt8](repeating: 0, count: 64)
        var head: String { String(decoding: prev, as: UTF8.self) }
        while try cursor.next() != nil {
            let seq = sqlite3_column_int64(sqlite, 0)
            first = first ?? seq
            count += 1
            if seq != expectedSeq {
                return ChainVerification(events: count, headHash: head, firstSeq: first, lastSeq: seq,
                                         problem: "event \(expectedSeq) is missing (found \(seq) next)")
            }
            if !ChainColumns.equal(sqlite, 6, prev) {
                return ChainVerification(events: count, headHash: head, firstSeq: first, lastSeq: seq,
                                         problem: "event \(seq) does not link to event \(seq - 1) (prev_hash differs)")
            }
            // prev, a newline, then AuditChain.body: {"at":…,"details":…,"event":…,"request":…,"seq":…,"target":…}
            body.removeAll(keepingCapacity: true)
            body.append(contentsOf: prev)
            body.append(contentsOf: "\n{\"at\":".utf8)
            ChainColumns.quoted(sqlite, 1, to: &body)
            body.append(contentsOf: ",\"details\":".utf8)
            if let details = ChainColumns.text(sqlite, 5) { body.append(contentsOf: details) }
            body.append(contentsOf: ",\"event\":".utf8)
            ChainColumns.quoted(sqlite, 4, to: &body)
            body.append(contentsOf: ",\"request\":".utf8)
            ChainColumns.quoted(sqlite, 2, to: &body)
            body.append(contentsOf: ",\"seq\":".utf8)
            body.append(contentsOf: String(seq).utf8)
            body.append(contentsOf: ",\"target\":".utf8)
            ChainColumns.quoted(sqlite, 3, to: &body)
            body.append(UInt8(ascii: "}"))
            var index = 0
            for byte in SHA256.hash(data: body) {
                hex[index] = Hex.digit(byte >> 4)
                hex[index + 1] = Hex.digit(byte & 0x0F)
                index += 2
            }
            if !ChainColumns.equal(sqlite, 7, hex) {
                return ChainVerification(events: count, headHash: head, firstSeq: first, lastSeq: seq,
                                         problem: "event \(seq) was altered (its hash does not match its content)")
            }
            swap(&prev, &hex)  // hex is written again before it is read
            expectedSeq += 1
        }
        return ChainVerification(events: count, headHash: head, firstSeq: first, lastSeq: count == 0 ? nil : expectedSeq - 1, problem: nil)
    }

    /// Audit events, optionally only those of one request, in order.
    public func auditEvents(request: String?) throws -> [AuditEvent] {
        try writer.read { db in
            if let request {
                return try Row.fetchAll(db, sql: "SELECT * FROM audit_event WHERE request_id = ? ORDER BY seq", arguments: [request]).map(AuditEvent.init)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM audit_event ORDER BY seq").map(AuditEvent.init)
        }
    }
}

extension AppDatabase {
    /// Per request and target, the last audit event: the one that recorded the target's final
    /// transition so far. Reports cite it so every row can be checked against the log. A
    /// follow-up's events (`details.follow_up` = its due day) are keyed `TARGET@DAY`.
    public func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]] {
        try writer.read { db in try Self.finalTargetEvents(db, requestIds: requestIds) }
    }

    static func finalTargetEvents(_ db: Database, requestIds: [String]) throws -> [String: [String: AuditEvent]] {
        var result: [String: [String: AuditEvent]] = [:]
        // Each action's last event is recorded as events are appended (`action_final`): one
        // lookup per action, where grouping every event of the requests read them all (issue #13).
        for start in stride(from: 0, to: requestIds.count, by: 500) {
            let chunk = Array(requestIds[start..<min(start + 500, requestIds.count)])
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT e.seq, e.at, e.request_id, e.target, e.event, e.details, e.prev_hash, e.hash, a.not_before
                FROM action a JOIN action_final f ON f.action_id = a.id JOIN audit_event e ON e.seq = f.seq
                WHERE a.request_id IN (\(databaseQuestionMarks(count: chunk.count)))
                """, arguments: StatementArguments(chunk))
            while let row = try cursor.next() {
                let event = AuditEvent(seq: row[0], at: row[1], requestId: row[2], target: row[3], event: row[4], details: row[5],
                                       prevHash: row[6], hash: row[7])
                guard let request = event.requestId, let target = event.target else { continue }
                let followUp: String = row[8]
                result[request, default: [:]][followUp.isEmpty ? target : "\(target)@\(followUp)"] = event
            }
        }
        return result
    }

    /// `finalTargetEvents` from the log alone, without `action_final`: every event of the
    /// requests grouped by target and follow-up. What the column must always agree with (tests).
    static func finalTargetEventsFromLog(_ db: Database, requestIds: [String]) throws -> [String: [String: AuditEvent]] {
        do {
            var result: [String: [String: AuditEvent]] = [:]
            // One pass over the requests' events: SQLite takes the other columns of a group from
            // its MAX(seq) row, and names the follow-up, so no event is looked up twice. Details
            // are parsed only when they mention a follow-up (most events do not).
            let followUp = followUpOfDetails
            for start in stride(from: 0, to: requestIds.count, by: 500) {
                let chunk = Array(requestIds[start..<min(start + 500, requestIds.count)])
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT MAX(seq), at, request_id, target, event, details, prev_hash, hash, \(followUp) FROM audit_event
                    WHERE request_id IN (\(databaseQuestionMarks(count: chunk.count))) AND target IS NOT NULL
                    GROUP BY request_id, target, \(followUp)
                    """, arguments: StatementArguments(chunk))
                while let row = try cursor.next() {
                    let event = AuditEvent(seq: row[0], at: row[1], requestId: row[2], target: row[3], event: row[4], details: row[5],
                                           prevHash: row[6], hash: row[7])
                    guard let request = event.requestId, let target = event.target else { continue }
                    result[request, default: [:]][(row[8] as String?).map { "\(target)@\($0)" } ?? target] = event
                }
            }
            return result
        }
    }

    /// SQL for the follow-up day an event's `details` name, or NULL.
    static let followUpOfDetails = "CASE WHEN instr(details, '\"follow_up\"') > 0 AND json_type(details, '$.follow_up') = 'text' "
        + "THEN json_extract(details, '$.follow_up') END"


    /// The change events of many requests, by request, in order.
    static func changeEvents(_ db: Database, requestIds: [String]) throws -> [String: [AuditEvent]] {
        var result: [String: [AuditEvent]] = [:]
        let kinds = AuditChain.changeEvents.sorted().map { "'\($0)'" }.joined(separator: ", ")
        for start in stride(from: 0, to: requestIds.count, by: 500) {
            let chunk = Array(requestIds[start..<min(start + 500, requestIds.count)])
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM audit_event WHERE request_id IN (\(databaseQuestionMarks(count: chunk.count))) AND event IN (\(kinds)) ORDER BY seq
                """, arguments: StatementArguments(chunk))
            for event in rows.map(AuditEvent.init) { if let id = event.requestId { result[id, default: []].append(event) } }
        }
        return result
    }

    public func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]] {
        try writer.read { db in try Self.changeEvents(db, requestIds: requestIds) }
    }



    /// The cited events among `seqs` (those that exist). Verifying a report looks up one event per target row, 325,000 behind 100,000 requests.
    public func citedEvents(seqs: [Int64]) throws -> [Int64: CitedEvent] {
        try writer.read { db in
            var result: [Int64: CitedEvent] = [:]
            result.reserveCapacity(seqs.count)
            var tape = CanonicalTape()
            for start in stride(from: 0, to: seqs.count, by: 500) {
                let chunk = Array(seqs[start..<min(start + 500, seqs.count)])
                let cursor = try Row.fetchCursor(db, sql: "SELECT seq, hash, request_id, target, event, details FROM audit_event WHERE seq IN (\(databaseQuestionMarks(count: chunk.count)))",
                                                 arguments: StatementArguments(chunk))
                while let row = try cursor.next() {
                    var cited = CitedEvent(seq: row[0], hash: row[1], requestId: row[2], target: row[3], event: row[4])
                    // Details are canonical JSON, read in place; anything else is parsed.
                    try row.withUnsafeData(atIndex: 5) { data in
                        guard let data else { return }
                        func read(_ details: some JSONReading) {
                            cited.state = details["state"]?.stringValue
                            cited.outcome = details["outcome"]?.stringValue
                            cited.attempt = details["attempt"]?.intValue
                        }
                        if data.withUnsafeBytes({ tape.read($0, 0..<data.count) }) {
                            read(CanonicalTape.Value(root: tape, in: data))
                        } else if let details = JSONValue.parse(data) {
                            read(details)
                        }
                    }
                    result[cited.seq] = cited
                }
            }
            return result
        }
    }

    /// One audit event by sequence number.
    public func auditEvent(seq: Int64) throws -> AuditEvent? {
        try writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM audit_event WHERE seq = ?", arguments: [seq]).map(AuditEvent.init) }
    }
}

extension AppDatabase {
    public func appendCheckpointLine(_ line: String) throws {
        try writer.write { db in try db.execute(sql: "INSERT INTO audit_checkpoint (line) VALUES (?)", arguments: [line]) }
    }

    public func checkpointLines() throws -> [String] {
        try writer.read { db in try String.fetchAll(db, sql: "SELECT line FROM audit_checkpoint ORDER BY id") }
    }
}
