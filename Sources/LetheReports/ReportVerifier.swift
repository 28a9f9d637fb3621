import Foundation
import LetheCore
import LetheStorage

/// Checks a signed report: canonical form, key id, Ed25519 signature, and (with the database)
/// that the audit chain range it names matches the log.
public enum ReportVerifier {
    /// What was checked, and the first problem if any.
    public struct Result: Sendable, Hashable {
        public var passed: [String]
        public var problem: String?
        public var isValid: Bool { problem == nil }
    }

    public static func verify(json: Data, signature: Data?, publicKey: ReportPublicKey, database: (any AuditLog)?) throws -> Result {
        var passed: [String] = []
        // The signature is checked, then the chain walked, on another thread while the rows are
        // read and checked against the log on this one: at 100,000 requests Ed25519's two SHA-512
        // passes over the report take about a second, the walk one and a half, the rows about
        // three and a half. The rows' findings count only once the signature holds and the chain
        // is whole; the findings are reported in the order below. No row is kept.
        let background = ThreadWork { () throws -> (signatureHolds: Bool, chain: ChainVerification?) in
            let holds = signature.map { $0.count == 64 && publicKey.isValidSignature($0, for: json) } ?? false
            return (holds, holds ? try database?.verifyAuditChain() : nil)
        }
        var rowProblem: String?
        var pending: [Citation] = []
        func checkPending() throws {
            if let database, rowProblem == nil, !pending.isEmpty { rowProblem = try check(pending[...], database: database) }
            pending.removeAll(keepingCapacity: true)
        }
        let reading = try Layout.read(json) { cited in
            guard database != nil, rowProblem == nil else { return }
            pending += cited
            if pending.count >= 5000 { try checkPending() }
        }
        try checkPending()
        let (signatureHolds, chain) = try background.join()
        let report: Layout
        switch reading {
        case .notJSON: return Result(passed: passed, problem: "the file is not JSON")
        case .notCanonical:
            return Result(passed: passed, problem: "the JSON is not in canonical form: it was edited or re-formatted after signing")
        case .read(let layout): report = layout
        }
        passed.append("canonical JSON")
        guard let signature else { return Result(passed: passed, problem: "no signature file (.sig) next to the report") }
        guard signature.count == 64 else {
            return Result(passed: passed, problem: "the signature is \(signature.count) bytes; an Ed25519 signature is 64")
        }
        let keyId = report.header["key_id"]?.stringValue ?? ""
        guard keyId == publicKey.keyId else {
            return Result(passed: passed, problem: "the report names signing key \(keyId), but the key given is \(publicKey.keyId); "
                + "verify it with that key's PEM")
        }
        passed.append("key id \(keyId)")
        guard signatureHolds else {
            return Result(passed: passed, problem: "the Ed25519 signature does not match: the report or its signature was changed")
        }
        passed.append("Ed25519 signature")
        guard let database, let chain else { return Result(passed: passed, problem: nil) }
        if let problem = chain.problem {
            return Result(passed: passed, problem: "the audit log is broken: \(problem)")
        }
        let head = report.header["audit_chain"]?["head_hash"]?.stringValue ?? ""
        if let lastSeq = report.header["audit_chain"]?["last_seq"]?.intValue {
            guard let event = try database.auditEvent(seq: Int64(lastSeq)) else {
                return Result(passed: passed, problem: "the audit log has no event \(lastSeq), which the report names as its last")
            }
            guard event.hash == head else {
                return Result(passed: passed, problem: "audit event \(lastSeq) has hash \(event.hash), but the report names \(head): "
                    + "the report comes from another log, or the log was rewritten")
            }
            passed.append("audit chain up to event \(lastSeq) matches the log (head \(head.prefix(16))…)")
        } else if head != AuditChain.genesisHash {
            return Result(passed: passed, problem: "the report names no audit event but a head hash")
        }
        if let rowProblem { return Result(passed: passed, problem: rowProblem) }
        passed.append("each of \(report.rows) request row\(report.rows == 1 ? "" : "s") matches the audit event it cites per target")
        return Result(passed: passed, problem: nil)
    }

    /// The name of the key a report says signed it, read without parsing the whole report.
    /// Canonical order puts `key_id` before the rows, so they are not even crossed.
    public static func namedKeyId(_ json: Data) -> String? {
        var keyId: String?
        let walk = CanonicalJSON.walkTopLevelMembers(json) { name, valueStart in
            guard let end = CanonicalJSON.valueEnd(in: json, from: valueStart) else { return .invalid }
            guard json[json.startIndex + name.lowerBound ..< json.startIndex + name.upperBound].elementsEqual("\"key_id\"".utf8) else {
                return .next(valueEnd: end)
            }
            keyId = JSONValue.parse(Data(json[json.startIndex + valueStart ..< json.startIndex + end]))?.stringValue
            return .stop
        }
        return walk == .invalid ? JSONValue.parse(json)?["key_id"]?.stringValue : keyId
    }

    /// A signed report read for checking, one member and one request row at a time: its
    /// members other than the rows, and how many rows it has; what each row cites goes to
    /// `cites` as it is read. A report of any size is never held parsed whole.
    struct Layout {
        var header: [String: JSONValue] = [:]
        var rows = 0

        enum Reading {
            case read(Layout)
            case notJSON
            case notCanonical
        }

        static func read(_ json: Data, cites: ([Citation]) throws -> Void) rethrows -> Reading {
            // Bytes that are not laid out as a whitespace-free object are either not JSON or not canonical.
            func slice(_ range: Range<Int>) -> Data { Data(json[json.startIndex + range.lowerBound ..< json.startIndex + range.upperBound]) }
            func byte(_ offset: Int) -> UInt8 { json[json.startIndex + offset] }
            /// The value at `range` when it is JSON in canonical form.
            func canonical(_ range: Range<Int>) -> JSONValue? {
                let bytes = slice(range)
                guard let value = JSONValue.parse(bytes), CanonicalJSON.encode(value) == bytes else { return nil }
                return value
            }
            var layout = Layout()
            var previous: String?
            // One pass: the rows are read where they are, and where the last one ends is where
            // the array ends, so the 243 MiB of rows at 100,000 requests are not skipped first.
            let walk = try CanonicalJSON.walkTopLevelMembers(json) { nameRange, valueStart -> CanonicalJSON.MemberStep in
                guard case .string(let name)? = canonical(nameRange) else { return .invalid }
                if let previous, !CanonicalJSON.precedes(previous, name) { return .invalid }  // out of order, or twice
                previous = name
                if name == "requests", byte(valueStart) == UInt8(ascii: "[") {
                    // Each row is checked and read in place, one after the other: at 100,000
                    // requests, parsing every row and encoding it again took most of the time.
                    var tape = CanonicalTape()
                    var i = valueStart + 1
                    guard i < json.count else { return .invalid }
                    layout.header[name] = .array([])
                    if byte(i) == UInt8(ascii: "]") { return .next(valueEnd: i + 1) }
                    while true {
                        guard let rowEnd = json.withUnsafeBytes({ tape.read($0, from: i, before: json.count) }), rowEnd < json.count else {
                            return .invalid
                        }
                        layout.rows += 1
                        try cites(ReportVerifier.citations(of: CanonicalTape.Value(root: tape, in: json)))
                        switch byte(rowEnd) {
                        case UInt8(ascii: "]"): return .next(valueEnd: rowEnd + 1)
                        case UInt8(ascii: ","): i = rowEnd + 1  // a comma before the bracket fails the next read
                        default: return .invalid
                        }
                    }
                }
                guard let end = CanonicalJSON.valueEnd(in: json, from: valueStart), let value = canonical(valueStart..<end) else { return .invalid }
                if name == "request" {
                    layout.rows += 1
                    try cites(ReportVerifier.citations(of: value))
                }
                layout.header[name] = value
                return .next(valueEnd: end)
            }
            return walk == .finished ? .read(layout) : wholly(json)
        }

        /// Classifies bytes the member-by-member reading refused, by parsing them whole.
        static func wholly(_ json: Data) -> Reading {
            // Canonical bytes always read member by member, so these are not canonical.
            guard let value = JSONValue.parse(json), case .object = value else { return .notJSON }
            return .notCanonical
        }
    }

    /// What one target row (or a follow-up of it) cites: the audit event of its final
    /// transition, and what the row says that event recorded.
    struct Citation {
        var request: String
        var target: String
        var seq: Int64 = 0
        var hash = ""
        var state: String?
        var outcome: String?
        var attempts: Int?
        /// The row cites nothing though it must: `message` says which.
        var message: String?
    }

    /// The citations of one request row; a row that must cite an event and does not becomes a
    /// citation carrying its problem, reported in order with the others.
    static func citations<Row: JSONReading>(of row: Row) -> [Citation] {
        var cited: [Citation] = []
        let request = row["id"]?.stringValue ?? "?"
        for target in row["targets"]?.arrayValue ?? [] {
            let name = target["target"]?.stringValue ?? "?"
            guard let seq = target["audit"]?["seq"]?.intValue, let hash = target["audit"]?["hash"]?.stringValue else {
                if target["operation"]?.stringValue == PlannedOperation.none.rawValue || target["operation"]?.stringValue == PlannedOperation.needsReview.rawValue,
                   target["attempts"]?.intValue == 0, target["state"]?.stringValue != ActionState.cancelled.rawValue {
                    continue  // settled at filing: no transition of its own to cite
                }
                if target["attempts"]?.intValue == 0,
                   [ActionState.held.rawValue, ActionState.pending.rawValue].contains(target["state"]?.stringValue ?? "") {
                    continue  // not started (awaiting approval, or its grace period): nothing done to cite
                }
                cited.append(Citation(request: request, target: name, message: "request \(request), \(name): the row cites no audit event"))
                return cited
            }
            cited.append(Citation(request: request, target: name, seq: Int64(seq), hash: hash, state: target["state"]?.stringValue,
                                  outcome: target["outcome"]?.stringValue, attempts: target["attempts"]?.intValue))
            // A follow-up that ended a retention cites its own last event.
            for followUp in target["retention_end"]?.arrayValue ?? [] {
                guard let seq = followUp["audit"]?["seq"]?.intValue, let hash = followUp["audit"]?["hash"]?.stringValue else {
                    if followUp["state"]?.stringValue == ActionState.scheduled.rawValue, followUp["attempts"]?.intValue == 0 { continue }
                    cited.append(Citation(request: request, target: name,
                                          message: "request \(request), \(name): the follow-up due \(followUp["due"]?.stringValue ?? "?") cites no audit event"))
                    return cited
                }
                cited.append(Citation(request: request, target: name, seq: Int64(seq), hash: hash, state: followUp["state"]?.stringValue,
                                      outcome: followUp["outcome"]?.stringValue, attempts: followUp["attempts"]?.intValue))
            }
        }
        return cited
    }

    /// Every target row must cite an audit event that exists, has the cited hash, belongs to
    /// that request and target, and agrees with the row's state, outcome and attempts.
    public static func checkRows(_ report: JSONValue, database: any AuditLog) throws -> String? {
        let rows = report["requests"]?.arrayValue ?? report["request"].map { [$0] } ?? []
        return try check(rows.flatMap(citations)[...], database: database)
    }

    static func check(_ cited: ArraySlice<Citation>, database: any AuditLog) throws -> String? {
        let events = try database.citedEvents(seqs: cited.filter { $0.message == nil }.map(\.seq))
        for entry in cited {
            if let message = entry.message { return message }
            let place = "request \(entry.request), \(entry.target)"
            guard let event = events[entry.seq] else { return "\(place): the cited audit event \(entry.seq) is not in the log" }
            guard event.hash == entry.hash else {
                return "\(place): audit event \(entry.seq) has hash \(event.hash.prefix(16))…, the row cites \(entry.hash.prefix(16))…"
            }
            guard event.requestId == entry.request, event.target == entry.target else {
                return "\(place): the cited audit event \(entry.seq) is about another request or target"
            }
            if let state = event.state ?? AuditEventKind(rawValue: event.event).flatMap(impliedState)?.rawValue, state != entry.state {
                return "\(place): the row says \(entry.state ?? "no state"), the log says \(state) (event \(entry.seq))"
            }
            if let outcome = event.outcome, outcome != entry.outcome {
                return "\(place): the row says outcome \(entry.outcome ?? "none"), the log says \(outcome) (event \(entry.seq))"
            }
            if let attempt = event.attempt, attempt != entry.attempts {
                return "\(place): the row says \(entry.attempts ?? 0) attempts, the log says \(attempt) (event \(entry.seq))"
            }
        }
        return nil
    }

    /// The action state an event leaves its target in, when the event itself says so.
    static func impliedState(_ kind: AuditEventKind) -> ActionState? {
        switch kind {
        case .actionSucceeded, .attemptAfterSucceeded: .succeeded
        case .actionFailed, .attemptAfterFailed: .failed
        case .actionNeedsReview, .attemptAfterNeedsReview: .needsReview
        case .actionRetrying, .attemptAfterRetrying: .retrying
        case .actionCancelled, .attemptAfterCancelled: .cancelled
        case .actionInterrupted, .actionRescued, .actionRetried, .attemptAfterPending: .pending
        case .actionStarted: .running
        case .actionScheduled: .scheduled
        default: nil
        }
    }
}
