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
        return Result(passed: passed, problem: nil)
    }
}
