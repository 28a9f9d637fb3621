import Foundation
import LetheCore
import LetheReports
import LetheStorage

/// A signed statement of how far the audit chain reached at a moment: sequence number, head
/// hash, time and key id, with an Ed25519 signature over their canonical JSON. Appended to
/// `STATE/checkpoints.jsonl` and kept in the store (for every worker of a deployment) at the end
/// of every `lethe run`, every report export and every `lethe audit checkpoint`, so deleting the
/// last events, or recomputing the chain, is detected.
public struct AuditCheckpoint: Sendable, Hashable {
    public var seq: Int64
    public var headHash: String
    public var at: String
    public var keyId: String
    /// Hex of the 64-byte signature over `signedBytes`.
    public var signature: String

    /// The canonical JSON the signature covers.
    public var signedBytes: Data {
        CanonicalJSON.encode(.object([
            "seq": .number(Double(seq)), "head_hash": .string(headHash), "at": .string(at), "key_id": .string(keyId),
        ]))
    }

    var line: String {
        CanonicalJSON.string(.object([
            "seq": .number(Double(seq)), "head_hash": .string(headHash), "at": .string(at), "key_id": .string(keyId),
            "signature": .string(signature),
        ]))
    }

    init?(line: String) {
        guard let json = JSONValue.parse(Data(line.utf8)), let seq = json["seq"]?.intValue, let head = json["head_hash"]?.stringValue,
              let at = json["at"]?.stringValue, let key = json["key_id"]?.stringValue, let signature = json["signature"]?.stringValue else { return nil }
        self.init(seq: Int64(seq), headHash: head, at: at, keyId: key, signature: signature)
    }

    init(seq: Int64, headHash: String, at: String, keyId: String, signature: String) {
        self.seq = seq
        self.headHash = headHash
        self.at = at
        self.keyId = keyId
        self.signature = signature
    }
}

/// Why the log no longer agrees with what Lethe signed earlier.
/// `place` names the checkpoint: "checkpoints.jsonl line 3", or "the database's checkpoint 3".
public enum CheckpointProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(place: String)
    case badSignature(place: String, seq: Int64)
    case unknownKey(place: String, keyId: String)
    case missingEvent(place: String, seq: Int64)
    case hashDiffers(place: String, seq: Int64)

    public var description: String {
        switch self {
        case .unreadable(let place): "\(place) is not a checkpoint"
        case .badSignature(let place, let seq): "\(place) (event \(seq)) has a signature that does not verify: it was edited"
        case .unknownKey(let place, let key): "\(place) is signed with key \(key), which is not one of this state directory's keys"
        case .missingEvent(let place, let seq):
            "\(place) says the log reached event \(seq), but the log has no event \(seq): events were deleted"
        case .hashDiffers(let place, let seq):
            "\(place) names another hash for event \(seq): the log was rewritten after the checkpoint"
        }
    }
}

extension StateDirectory {
    /// `STATE/checkpoints.jsonl`.
    public var checkpointsPath: String { file("checkpoints.jsonl") }

    /// Signs and appends a checkpoint of the chain as it is now (`chain`, when the caller has just
    /// walked it and written nothing since). Nothing is written for an empty or broken log.
    @discardableResult
    public func appendCheckpoint(database: any AuditLog, chain known: ChainVerification? = nil,
                                 now: Date = Date()) throws -> AuditCheckpoint? {
        let chain = try known ?? database.verifyAuditChain()
        guard let seq = chain.lastSeq, chain.problem == nil else { return nil }
        let signer = try signer()
        var checkpoint = AuditCheckpoint(seq: seq, headHash: chain.headHash, at: Timestamp.iso8601(now), keyId: signer.publicKey.keyId, signature: "")
        checkpoint.signature = Hex.encode(try signer.sign(checkpoint.signedBytes))
        let line = Data((checkpoint.line + "\n").utf8)
        if !FileManager.default.fileExists(atPath: checkpointsPath) {
            guard FileManager.default.createFile(atPath: checkpointsPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw Problem.io("cannot create \(checkpointsPath)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: checkpointsPath) else { throw Problem.io("cannot open \(checkpointsPath)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
        // And in the store, where every worker of the deployment sees it.
        try database.appendCheckpointLine(checkpoint.line)
        return checkpoint
    }

    /// The checkpoints this directory wrote, oldest first, then (with `database`) those the
    /// store keeps, from every worker.
    public func checkpoints(database: (any AuditLog)? = nil) throws -> [(place: String, checkpoint: AuditCheckpoint?)] {
        var all: [(place: String, checkpoint: AuditCheckpoint?)] = []
        if let text = try? String(contentsOfFile: checkpointsPath, encoding: .utf8) {
            all += text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
                line.isEmpty ? nil : ("checkpoints.jsonl line \(index + 1)", AuditCheckpoint(line: String(line)))
            }
        }
        if let database {
            all += try database.checkpointLines().enumerated().map { index, line in ("the database's checkpoint \(index + 1)", AuditCheckpoint(line: line)) }
        }
        return all
    }

    /// Checks every checkpoint: signed by one of this directory's keys, and its event still in
    /// the log with the same hash. Returns how many were checked and the latest.
    public func verifyCheckpoints(database: any AuditLog) throws -> (count: Int, latest: AuditCheckpoint?) {
        var latest: AuditCheckpoint?
        let all = try checkpoints(database: database)
        for (place, parsed) in all {
            guard let checkpoint = parsed else { throw CheckpointProblem.unreadable(place: place) }
            guard let key = try publicKey(id: checkpoint.keyId) else { throw CheckpointProblem.unknownKey(place: place, keyId: checkpoint.keyId) }
            guard let signature = Hex.decode(checkpoint.signature), key.isValidSignature(Data(signature), for: checkpoint.signedBytes) else {
                throw CheckpointProblem.badSignature(place: place, seq: checkpoint.seq)
            }
            guard let event = try database.auditEvent(seq: checkpoint.seq) else { throw CheckpointProblem.missingEvent(place: place, seq: checkpoint.seq) }
            guard event.hash == checkpoint.headHash else { throw CheckpointProblem.hashDiffers(place: place, seq: checkpoint.seq) }
            if checkpoint.seq >= (latest?.seq ?? 0) { latest = checkpoint }
        }
        return (all.count, latest)
    }
}
