/// What an audit event records. The raw values are what the hash chain holds: never rename one.
public enum AuditEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    case requestFiled = "request_filed"
    case requestReceived = "request_received"
    case requestInProgress = "request_in_progress"
    case requestCompleted = "request_completed"
    case requestFailed = "request_failed"
    case requestNeedsReview = "request_needs_review"
    case requestCancelled = "request_cancelled"
    case requestAwaitingApproval = "request_awaiting_approval"
    case requestRejected = "request_rejected"
    /// A second person approved the request (by, note, when its actions may start).
    case approvalGranted = "approval_granted"
    /// Someone refused the request (by, reason); it ends `rejected`.
    case rejectionRecorded = "rejection_recorded"
    /// Someone asked to cancel the request (reason, by whom); actions in flight finish first.
    case cancelRequested = "cancel_requested"
    case requestExtended = "request_extended"
    case identifiersPurged = "identifiers_purged"
    case actionStarted = "action_started"
    case actionSucceeded = "action_succeeded"
    case actionFailed = "action_failed"
    case actionNeedsReview = "action_needs_review"
    case actionRetrying = "action_retrying"
    case actionInterrupted = "action_interrupted"
    case actionRescued = "action_rescued"
    case actionCancelled = "action_cancelled"
    case actionRetried = "action_retried"
    /// A follow-up that ends a legal retention was scheduled for its day.
    case actionScheduled = "action_scheduled"
    /// An attempt finished after its action had left `running` (cancelled meanwhile).
    case attemptAfterPending = "attempt_after_pending"
    case attemptAfterRetrying = "attempt_after_retrying"
    case attemptAfterSucceeded = "attempt_after_succeeded"
    case attemptAfterFailed = "attempt_after_failed"
    case attemptAfterNeedsReview = "attempt_after_needs_review"
    case attemptAfterCancelled = "attempt_after_cancelled"
    /// A manual target's task was handed to a person (instructions, due); announced by webhook.
    case taskCreated = "task_created"
    /// A manual task passed its due time unconfirmed; announced once.
    case taskOverdue = "task_overdue"
    /// A webhook target's callback was refused (bad signature, another action's, replayed, late):
    /// recorded with the reason, never with its body.
    case callbackRefused = "callback_refused"
    /// An API token was created or revoked (its name, role and id; never the token).
    case tokenCreated = "token_created"
    case tokenRevoked = "token_revoked"

    /// The event recorded when a request enters `state`.
    public static func requestEntered(_ state: RequestState) -> AuditEventKind {
        switch state {
        case .received: .requestReceived
        case .inProgress: .requestInProgress
        case .completed: .requestCompleted
        case .failed: .requestFailed
        case .needsReview: .requestNeedsReview
        case .cancelled: .requestCancelled
        case .awaitingApproval: .requestAwaitingApproval
        case .rejected: .requestRejected
        }
    }

    /// The event recorded when an attempt finishes after its action left `running` for `state`.
    public static func attemptAfter(_ state: ActionState) -> AuditEventKind {
        switch state {
        case .scheduled, .held, .pending, .running, .awaitingConfirmation: .attemptAfterPending
        case .retrying: .attemptAfterRetrying
        case .succeeded: .attemptAfterSucceeded
        case .failed: .attemptAfterFailed
        case .needsReview: .attemptAfterNeedsReview
        case .cancelled: .attemptAfterCancelled
        }
    }
}

/// How one attempt ended, as the attempt table records it.
public enum AttemptResultKind: String, Sendable, Hashable, Codable, CaseIterable {
    case succeeded
    case transient
    case permanent
    case notVerified = "not_verified"
    case needsReview = "needs_review"
    /// Cut short by Lethe (shutdown, deadline) or by a crash (found by the rescuer).
    case interrupted
    /// Handed to a person (a manual target): the outcome comes with their confirmation.
    case handedOver = "handed_over"

    /// The kind of an attempt's result.
    public init(_ result: ActionStateMachine.AttemptResult) {
        switch result {
        case .succeeded: self = .succeeded
        case .notVerified: self = .notVerified
        case .needsReview: self = .needsReview
        case .transientFailure: self = .transient
        case .permanentFailure: self = .permanent
        case .interrupted: self = .interrupted
        case .handedOver: self = .handedOver
        case .confirmed(let outcome, _, _): self = outcome == .cannotComply ? .permanent : .succeeded
        }
    }
}
