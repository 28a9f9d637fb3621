import Foundation
import LetheCore
import LetheReports
import LetheStorage

/// Verifying the audit log and signing where it reaches: `lethe audit verify` and
/// `checkpoint`, and `GET /api/v1/audit/verify`, through one door.
public struct AuditVerification: Sendable {
    public let database: any AuditLog
    public let state: StateDirectory
    public let clock: any LetheClock

    public init(database: any AuditLog, state: StateDirectory, clock: any LetheClock) {
        self.database = database
        self.state = state
        self.clock = clock
    }

    /// What a verification found.
    public struct Result: Sendable, Hashable {
        public var chain: ChainVerification
        /// The first problem: a broken link, a checkpoint the log no longer reaches, a report
        /// the log no longer agrees with. Nil when everything holds.
        public var problem: String?
        public var checkpoints: Int
        public var latestCheckpoint: AuditCheckpoint?
        /// The reports (by the name given) the log still agrees with.
        public var anchors: [String]

        public var intact: Bool { problem == nil }
    }

    /// Walks the whole chain, then checks every signed checkpoint, then each report given
    /// (name, parsed JSON): the log must still hold its range and every event its rows cite.
    public func verify(against reports: [(name: String, report: JSONValue)] = []) throws -> Result {
        let chain = try database.verifyAuditChain(through: nil)
        var result = Result(chain: chain, problem: chain.problem, checkpoints: 0, latestCheckpoint: nil, anchors: [])
        guard result.problem == nil else { return result }
        do {
            (result.checkpoints, result.latestCheckpoint) = try state.verifyCheckpoints(database: database)
        } catch let failed as CheckpointProblem {
            result.problem = failed.description
            return result
        }
        for (name, report) in reports {
            if let mismatch = try Self.check(report, against: database) {
                result.problem = "\(name): \(mismatch)"
                return result
            }
            result.anchors.append(name)
        }
        return result
    }

    /// The report's range and every event its rows cite, still in the log with the same hashes.
    public static func check(_ report: JSONValue, against database: any AuditLog) throws -> String? {
        if let last = report["audit_chain"]?["last_seq"]?.intValue, let head = report["audit_chain"]?["head_hash"]?.stringValue {
            guard let event = try database.auditEvent(seq: Int64(last)) else { return "the log has no event \(last), which the report names as its last" }
            guard event.hash == head else { return "event \(last) has another hash than the report states: the log was rewritten" }
        }
        return try ReportVerifier.checkRows(report, database: database)
    }

    /// Why no checkpoint was signed.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case broken(String)

        public var description: String {
            switch self {
            case .broken(let problem): "audit chain BROKEN: \(problem); no checkpoint is signed over a broken log"
            }
        }
    }

    /// Signs a checkpoint when the log has grown past the latest one (read without walking the
    /// chain); nil when it has not, or is empty. A running `lethe serve` calls this on a schedule,
    /// so what it wrote since it started cannot be cut without `audit verify` noticing.
    public func checkpointIfGrown() throws -> AuditCheckpoint? {
        let head = try database.snapshot { try $0.chainHead() }
        guard let last = head.lastSeq else { return nil }
        if let latest = try state.checkpoints(database: database).compactMap(\.checkpoint).map(\.seq).max(), latest >= last { return nil }
        return try checkpoint()
    }

    /// Signs where the chain reaches now and appends it to the checkpoints; nil when the log is
    /// empty. Refused over a broken chain.
    public func checkpoint() throws -> AuditCheckpoint? {
        let chain = try database.verifyAuditChain(through: nil)
        if let problem = chain.problem { throw Refusal.broken(problem) }
        return try state.appendCheckpoint(database: database, chain: chain, now: clock.now())
    }
}
