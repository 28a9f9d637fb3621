import Crypto
import Foundation
import LetheCore

/// The result of walking the chain.
public struct ChainVerification: Sendable, Hashable {
    public var events: Int
    public var headHash: String
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    /// The first problem found, nil when the chain is whole.
    public var problem: String?

    public init(events: Int, headHash: String, firstSeq: Int64? = nil, lastSeq: Int64? = nil, problem: String? = nil) {
        self.events = events
        self.headHash = headHash
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.problem = problem
    }
}

/// What a report row's citation is checked against: the cited event's hash, request,
/// target and kind, and what its details say the target's state, outcome and attempt were.
public struct CitedEvent: Sendable, Hashable {
    public var seq: Int64
    public var hash: String
    public var requestId: String?
    public var target: String?
    public var event: String
    public var state: String?
    public var outcome: String?
    public var attempt: Int?

    public init(seq: Int64, hash: String, requestId: String?, target: String?, event: String, state: String? = nil, outcome: String? = nil,
                attempt: Int? = nil) {
        self.seq = seq
        self.hash = hash
        self.requestId = requestId
        self.target = target
        self.event = event
        self.state = state
        self.outcome = outcome
        self.attempt = attempt
    }
}

/// The audit log's hash chain, as every store writes it and every verifier recomputes it.
public enum AuditChain {
    /// The hash before the first event.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// SHA-256 over the previous hash, a newline, and the event's canonical JSON (`body`).
    public static func hash(prev: String, seq: Int64, at: String, request: String?, target: String?, event: String,
                            details: String) -> String {
        let body = body(seq: seq, at: at, request: request, target: target, event: event, details: details)
        return Hex.encode(SHA256.hash(data: Data((prev + "\n" + body).utf8)))
    }

    /// The canonical JSON of `{at, details, event, request, seq, target}`: keys in order, the
    /// details (canonical when stored) inserted as they are. Written out for speed; a test proves
    /// it equal to `CanonicalJSON` of the same object.
    public static func body(seq: Int64, at: String, request: String?, target: String?, event: String, details: String) -> String {
        func quoted(_ text: String?) -> String { text.map { CanonicalJSON.string(.string($0)) } ?? "null" }
        return "{\"at\":\(quoted(at)),\"details\":\(details),\"event\":\(quoted(event)),\"request\":\(quoted(request)),"
            + "\"seq\":\(seq),\"target\":\(quoted(target))}"
    }

    /// Events that record a person changing a request after filing: an approval, a rejection,
    /// a retry, a cancellation, an extension. Reports list them with who (`details.by`) and when.
    public static let changeEvents: Set<String> = [AuditEventKind.actionRetried.rawValue, AuditEventKind.cancelRequested.rawValue,
                                                   AuditEventKind.requestExtended.rawValue, AuditEventKind.approvalGranted.rawValue,
                                                   AuditEventKind.rejectionRecorded.rawValue]

    /// Audit events a webhook is told of.
    public static let webhookEvents = [AuditEventKind.requestCompleted, .requestFailed, .requestNeedsReview, .taskCreated, .taskOverdue]
        .map(\.rawValue)

    /// `TARGET`, or `TARGET@DAY` for the events of a follow-up due on DAY.
    public static func citationKey(target: String, details: String) -> String {
        guard let due = JSONValue.parse(Data(details.utf8))?["follow_up"]?.stringValue else { return target }
        return "\(target)@\(due)"
    }

    /// What a rejected request's actions say they did.
    public static let notCarriedOutRejected = "not carried out: the request was rejected"
}
