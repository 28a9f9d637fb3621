import Foundation
import LetheCore
import LetheStore

/// Checks a signed report: canonical form, key id, Ed25519 signature, and (with the database)
/// that the audit chain range it names matches the log.
public enum ReportVerifier {
    /// What was checked, and the first problem if any.
    public struct Result: Sendable, Hashable {
        public var passed: [String]
        public var problem: String?
        public var isValid: Bool { problem == nil }
    }

    public static func verify(json: Data, signature: Data?, publicKey: ReportPublicKey, database: AppDatabase?) throws -> Result {
        var passed: [String] = []
        guard let report = JSONValue.parse(json), case .object = report else {
            return Result(passed: passed, problem: "the file is not JSON")
        }
        guard CanonicalJSON.isCanonical(json) else {
            return Result(passed: passed, problem: "the JSON is not in canonical form: it was edited or re-formatted after signing")
        }
        passed.append("canonical JSON")
        guard let signature else { return Result(passed: passed, problem: "no signature file (.sig) next to the report") }
        guard signature.count == 64 else {
            return Result(passed: passed, problem: "the signature is \(signature.count) bytes; an Ed25519 signature is 64")
        }
        let keyId = report["key_id"]?.stringValue ?? ""
        guard keyId == publicKey.keyId else {
            return Result(passed: passed, problem: "the report names signing key \(keyId), but the key given is \(publicKey.keyId); "
                + "verify it with that key's PEM")
        }
        passed.append("key id \(keyId)")
        guard publicKey.isValidSignature(signature, for: json) else {
            return Result(passed: passed, problem: "the Ed25519 signature does not match: the report or its signature was changed")
        }
        passed.append("Ed25519 signature")
        guard let database else { return Result(passed: passed, problem: nil) }
        let chain = try database.verifyAuditChain()
        if let problem = chain.problem {
            return Result(passed: passed, problem: "the audit log is broken: \(problem)")
        }
        let head = report["audit_chain"]?["head_hash"]?.stringValue ?? ""
        if let lastSeq = report["audit_chain"]?["last_seq"]?.intValue {
            guard let event = try database.auditEvent(seq: Int64(lastSeq)) else {
                return Result(passed: passed, problem: "the audit log has no event \(lastSeq), which the report names as its last")
            }
            guard event.hash == head else {
                return Result(passed: passed, problem: "audit event \(lastSeq) has hash \(event.hash), but the report names \(head): "
                    + "the report comes from another log, or the log was rewritten")
            }
            passed.append("audit chain up to event \(lastSeq) matches the log (head \(head.prefix(16))…)")
        } else if head != AppDatabase.genesisHash {
            return Result(passed: passed, problem: "the report names no audit event but a head hash")
        }
        if let problem = try checkRows(report, database: database) {
            return Result(passed: passed, problem: problem)
        }
        let rows = requestRows(report)
        passed.append("each of \(rows.count) request row\(rows.count == 1 ? "" : "s") matches the audit event it cites per target")
        return Result(passed: passed, problem: nil)
    }

    static func requestRows(_ report: JSONValue) -> [JSONValue] {
        if let rows = report["requests"]?.arrayValue { return rows }
        if let row = report["request"] { return [row] }
        return []
    }

    /// Every target row must cite an audit event that exists, has the cited hash, belongs to
    /// that request and target, and agrees with the row's state, outcome and attempts.
    public static func checkRows(_ report: JSONValue, database: AppDatabase) throws -> String? {
        var cited: [(request: String, target: String, seq: Int64, hash: String, row: JSONValue)] = []
        for row in requestRows(report) {
            let request = row["id"]?.stringValue ?? "?"
            for target in row["targets"]?.arrayValue ?? [] {
                let name = target["target"]?.stringValue ?? "?"
                guard let seq = target["audit"]?["seq"]?.intValue, let hash = target["audit"]?["hash"]?.stringValue else {
                    if target["operation"]?.stringValue == PlannedOperation.none.rawValue || target["operation"]?.stringValue == PlannedOperation.needsReview.rawValue,
                       target["attempts"]?.intValue == 0, target["state"]?.stringValue != ActionState.cancelled.rawValue {
                        continue  // settled at filing: no transition of its own to cite
                    }
                    return "request \(request), \(name): the row cites no audit event"
                }
                cited.append((request, name, Int64(seq), hash, target))
                // A follow-up that ended a retention cites its own last event.
                for followUp in target["retention_end"]?.arrayValue ?? [] {
                    guard let seq = followUp["audit"]?["seq"]?.intValue, let hash = followUp["audit"]?["hash"]?.stringValue else {
                        if followUp["state"]?.stringValue == ActionState.scheduled.rawValue, followUp["attempts"]?.intValue == 0 { continue }
                        return "request \(request), \(name): the follow-up due \(followUp["due"]?.stringValue ?? "?") cites no audit event"
                    }
                    cited.append((request, name, Int64(seq), hash, followUp))
                }
            }
        }
        let events = try database.auditEvents(seqs: cited.map(\.seq))
        for entry in cited {
            let place = "request \(entry.request), \(entry.target)"
            guard let event = events[entry.seq] else { return "\(place): the cited audit event \(entry.seq) is not in the log" }
            guard event.hash == entry.hash else {
                return "\(place): audit event \(entry.seq) has hash \(event.hash.prefix(16))…, the row cites \(entry.hash.prefix(16))…"
            }
            guard event.requestId == entry.request, event.target == entry.target else {
                return "\(place): the cited audit event \(entry.seq) is about another request or target"
            }
            let details = JSONValue.parse(Data(event.details.utf8))
            let rowState = entry.row["state"]?.stringValue
            if let state = details?["state"]?.stringValue ?? AuditEventKind(rawValue: event.event).flatMap(impliedState)?.rawValue, state != rowState {
                return "\(place): the row says \(rowState ?? "no state"), the log says \(state) (event \(entry.seq))"
            }
            if let outcome = details?["outcome"]?.stringValue, outcome != entry.row["outcome"]?.stringValue {
                return "\(place): the row says outcome \(entry.row["outcome"]?.stringValue ?? "none"), the log says \(outcome) (event \(entry.seq))"
            }
            if let attempt = details?["attempt"]?.intValue, attempt != entry.row["attempts"]?.intValue {
                return "\(place): the row says \(entry.row["attempts"]?.intValue ?? 0) attempts, the log says \(attempt) (event \(entry.seq))"
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
