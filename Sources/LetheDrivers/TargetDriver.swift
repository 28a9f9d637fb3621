import Foundation
import LetheCore
import LetheStorage

/// Carries out actions on one kind of target. SCIM is the first kind (`SCIMDriver` in
/// LetheSCIM); the engine knows only this protocol, so a target that is a person or a webhook
/// is another driver, not another engine.
///
/// A driver must be safe to run twice on the same action: the engine takes an action up again
/// after a crash, a stop or a lost lease, and the driver resolves, acts and verifies again.
public protocol TargetDriver: Sendable {
    /// One attempt of a claimed action: find the subject, act, read back. Never throws: every
    /// failure is a result (transient, permanent, needs review, interrupted) the state machine decides on.
    func perform(_ claimed: ClaimedAction, policy: TargetPolicy, journal: ActionJournal) async -> ExecutionResult
}

/// Where the engine gets each target's driver. The composition root (`Runtime` in LetheApp)
/// builds them from the policies; tests may hand over their own.
public protocol TargetDrivers: Sendable {
    /// The driver of a target, or why there is none (a missing secret, a bad URL): the error's
    /// description becomes the action's permanent failure.
    func driver(for target: String) throws -> any TargetDriver
    /// Where an action's task runs: the transport's choice (see `HTTPTransport.preferredExecutor`).
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension TargetDrivers {
    public var preferredExecutor: (any TaskExecutor)? { nil }
}

/// What a driver records while an attempt runs, before the side effect it prepares: the
/// account's reference before anything is written to it, and what is about to be written.
/// The engine wires these to its store.
public struct ActionJournal: Sendable {
    /// Records the subject's reference in the target before anything is written.
    public let recordAccountRef: @Sendable (_ actionId: Int64, _ ref: String) async throws -> Void
    /// Records what is about to be written (path → value) before the write, with the subject's
    /// reference when it is not recorded yet (one commit for both).
    public let recordWritten: @Sendable (_ actionId: Int64, _ values: [String: JSONValue], _ ref: String?) async throws -> Void

    public init(recordAccountRef: @escaping @Sendable (Int64, String) async throws -> Void,
                recordWritten: @escaping @Sendable (Int64, [String: JSONValue], String?) async throws -> Void = { _, _, _ in }) {
        self.recordAccountRef = recordAccountRef
        self.recordWritten = recordWritten
    }
}

/// What one attempt did, ready to be recorded.
public struct ExecutionResult: Sendable, Hashable {
    public var result: ActionStateMachine.AttemptResult
    /// The HTTP status of the failing call, if any.
    public var statusCode: Int?
    /// What the target wrote in its own words about the failure (scrubbed of what Lethe knows):
    /// shown while the request is open, never in anything kept after it.
    public var serverMessage: String?

    public init(result: ActionStateMachine.AttemptResult, statusCode: Int? = nil, serverMessage: String? = nil) {
        self.result = result
        self.statusCode = statusCode
        self.serverMessage = serverMessage
    }

    /// The attempt's result in the attempt table.
    public var kind: AttemptResultKind { AttemptResultKind(result) }

    /// The failure text, nil on success.
    public var error: String? {
        switch result {
        case .succeeded, .handedOver, .confirmed: nil
        case .notVerified(let why), .needsReview(let why), .permanentFailure(let why), .transientFailure(let why, _), .interrupted(let why): why
        }
    }
}


/// A manual target's driver (`kind: manual`): hands the action to a person, who has the
/// policy's `within` to carry it out and confirm (`TaskDesk.confirmTask`). Nothing is called.
public struct ManualDriver: TargetDriver {
    public let task: ManualTask

    public init(task: ManualTask) {
        self.task = task
    }

    public func perform(_ claimed: ClaimedAction, policy: TargetPolicy, journal: ActionJournal) async -> ExecutionResult {
        ExecutionResult(result: .handedOver(within: task.within.seconds))
    }
}
