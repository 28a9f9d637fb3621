import Crypto
import Foundation
import GRDB
import LetheCore

extension AppDatabase {
    /// The hash before the first event.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// Appends an audit event to the chain; call inside the transaction of the change it records.
    /// `details` must hold no raw identifier of the subject: only the pseudonym.
    @discardableResult
    static func appendAudit(_ db: Database, at date: Date, request: String?, target: String?, event kind: AuditEventKind,
                            details: [String: JSONValue]) throws -> AuditEvent {
        let event = kind.rawValue
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"))
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        let prev: String = last?["hash"] ?? genesisHash
        let at = Timestamp.iso8601(date)
        let detailsJSON = CanonicalJSON.string(.object(details))
        let hash = chainHash(prev: prev, seq: seq, at: at, request: request, target: target, event: event, details: detailsJSON)
        try db.cachedStatement(sql: "INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [seq, at, request, target, event, detailsJSON, prev, hash])
        return AuditEvent(seq: seq, at: at, requestId: request, target: target, event: event, details: detailsJSON, prevHash: prev, hash: hash)
    }

    /// SHA-256 over the previous hash, a newline, and the event's canonical JSON (`chainBody`).
    public static func chainHash(prev: String, seq: Int64, at: String, request: String?, target: String?, event: String,
                                 details: String) -> String {
        let body = chainBody(seq: seq, at: at, request: request, target: target, event: event, details: details)
        return Hex.encode(SHA256.hash(data: Data((prev + "\n" + body).utf8)))
    }

    /// The canonical JSON of `{at, details, event, request, seq, target}`: keys in order, the
    /// details (canonical when stored) inserted as they are. Written out for speed; a test proves
    /// it equal to `CanonicalJSON` of the same object.
    public static func chainBody(seq: Int64, at: String, request: String?, target: String?, event: String, details: String) -> String {
        func quoted(_ text: String?) -> String { text.map { CanonicalJSON.string(.string($0)) } ?? "null" }
        return "{\"at\":\(quoted(at)),\"details\":\(details),\"event\":\(quoted(event)),\"request\":\(quoted(request)),"
            + "\"seq\":\(seq),\"target\":\(quoted(target))}"
    }

    /// The result of walking the chain.
    public struct ChainVerification: Sendable, Hashable {
        public var events: Int
        public var headHash: String
        public var firstSeq: Int64?
        public var lastSeq: Int64?
        /// The first problem found, nil when the chain is whole.
        public var problem: String?
    }

    /// Recomputes every hash and checks every link.
    public func verifyAuditChain() throws -> ChainVerification {
        try writer.read { db in try Self.verifyAuditChain(db) }
    }

    static func verifyAuditChain(_ db: Database) throws -> ChainVerification {
        do {
            var prev = Self.genesisHash
            var expectedSeq: Int64 = 1
            var count = 0
            var first: Int64?
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_event ORDER BY seq")
            while let row = try cursor.next() {
                let event = AuditEvent(row: row)
                first = first ?? event.seq
                count += 1
                if event.seq != expectedSeq {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(expectedSeq) is missing (found \(event.seq) next)")
                }
                if event.prevHash != prev {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(event.seq) does not link to event \(event.seq - 1) (prev_hash differs)")
                }
                let recomputed = Self.chainHash(prev: prev, seq: event.seq, at: event.at, request: event.requestId, target: event.target,
                                                event: event.event, details: event.details)
                if recomputed != event.hash {
                    return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: event.seq,
                                             problem: "event \(event.seq) was altered (its hash does not match its content)")
                }
                prev = event.hash
                expectedSeq += 1
            }
            return ChainVerification(events: count, headHash: prev, firstSeq: first, lastSeq: count == 0 ? nil : expectedSeq - 1, problem: nil)
        }
    }

    /// Audit events, optionally only those of one request, in order.
    public func auditEvents(request: String? = nil) throws -> [AuditEvent] {
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
        do {
            var result: [String: [String: AuditEvent]] = [:]
            for start in stride(from: 0, to: requestIds.count, by: 500) {
                let chunk = Array(requestIds[start..<min(start + 500, requestIds.count)])
                let marks = databaseQuestionMarks(count: chunk.count)
                let rows = try Row.fetchAll(db, sql: """
                    SELECT * FROM audit_event WHERE seq IN (
                        SELECT MAX(seq) FROM audit_event WHERE request_id IN (\(marks)) AND target IS NOT NULL
                        GROUP BY request_id, target, json_extract(details, '$.follow_up'))
                    """, arguments: StatementArguments(chunk))
                for event in rows.map(AuditEvent.init) {
                    guard let request = event.requestId, let target = event.target else { continue }
                    result[request, default: [:]][Self.citationKey(target: target, details: event.details)] = event
                }
            }
            return result
        }
    }

    /// Events that record a person changing a request after filing: an approval, a rejection,
    /// a retry, a cancellation, an extension. Reports list them with who (`details.by`) and when.
    public static let changeEvents: Set<String> = [AuditEventKind.actionRetried.rawValue, AuditEventKind.cancelRequested.rawValue,
                                                   AuditEventKind.requestExtended.rawValue, AuditEventKind.approvalGranted.rawValue,
                                                   AuditEventKind.rejectionRecorded.rawValue]

    /// The change events of many requests, by request, in order.
    static func changeEvents(_ db: Database, requestIds: [String]) throws -> [String: [AuditEvent]] {
        var result: [String: [AuditEvent]] = [:]
        let kinds = changeEvents.sorted().map { "'\($0)'" }.joined(separator: ", ")
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

    /// `TARGET`, or `TARGET@DAY` for the events of a follow-up due on DAY.
    public static func citationKey(target: String, details: String) -> String {
        guard let due = JSONValue.parse(Data(details.utf8))?["follow_up"]?.stringValue else { return target }
        return "\(target)@\(due)"
    }

    /// Audit events by sequence number (those that exist).
    public func auditEvents(seqs: [Int64]) throws -> [Int64: AuditEvent] {
        try writer.read { db in
            var result: [Int64: AuditEvent] = [:]
            for start in stride(from: 0, to: seqs.count, by: 500) {
                let chunk = Array(seqs[start..<min(start + 500, seqs.count)])
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_event WHERE seq IN (\(databaseQuestionMarks(count: chunk.count)))",
                                            arguments: StatementArguments(chunk))
                for event in rows.map(AuditEvent.init) { result[event.seq] = event }
            }
            return result
        }
    }

    /// One audit event by sequence number.
    public func auditEvent(seq: Int64) throws -> AuditEvent? {
        try writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM audit_event WHERE seq = ?", arguments: [seq]).map(AuditEvent.init) }
    }
}
