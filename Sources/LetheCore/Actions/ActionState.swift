/// Where one action (one request × one target) stands.
public enum ActionState: String, Sendable, Hashable, Codable, CaseIterable {
    /// A follow-up waiting for its day (the end of a legal retention); claimed from then on.
    case scheduled
    /// Waiting for a second person to approve its request (`approval` in `lethe.yaml`); never
    /// claimed. Approval makes it `pending`; a rejection or cancellation, `cancelled`.
    case held
    /// Waiting to be claimed at `next_attempt_at`.
    case pending
    /// Claimed by a runner; in flight.
    case running
    /// A transient failure; claimed again at `next_attempt_at`.
    case retrying
    /// Done and verified (or nothing to do).
    case succeeded
    /// Gave up: a permanent failure, an unverified write, or attempts exhausted.
    case failed
    /// Lethe will not act without a person (ambiguous match, missing identifier).
    case needsReview = "needs_review"
    /// Cancelled with its request.
    case cancelled
    /// Handed to a person (a manual target): waits for their confirmation (`lethe confirm`),
    /// never claimed. Counts toward the request's deadline like any open action.
    case awaitingConfirmation = "awaiting_confirmation"

    /// No runner will touch it again without a person (`lethe retry`).
    public var isTerminal: Bool {
        switch self {
        case .scheduled, .held, .pending, .running, .retrying, .awaitingConfirmation: false
        case .succeeded, .failed, .needsReview, .cancelled: true
        }
    }
}

/// What an action achieved, as seen when reading back.
public enum ActionOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case deleted
    case anonymized
    /// Only set active=false (written by Lethe before deactivation had to come with anonymization).
    case deactivated
    /// Anonymized as planned and set active=false.
    case anonymizedAndDeactivated = "anonymized_and_deactivated"
    case attributesRemoved = "attributes_removed"
    case groupsLeft = "groups_left"
    /// No account for the subject in this target.
    case absent
    /// The target holds nothing this request concerns.
    case notApplicable = "not_applicable"
}

/// A request's state, derived from its actions.
public enum RequestState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Filed; nothing runs until a second person approves it (`lethe approve`).
    case awaitingApproval = "awaiting_approval"
    case received
    case inProgress = "in_progress"
    case completed
    case failed
    case needsReview = "needs_review"
    case cancelled
    /// Refused before anything was done (identity not verified, manifestly unfounded: GDPR
    /// Art. 12(5)), with its reason.
    case rejected

    public var isTerminal: Bool {
        switch self {
        case .awaitingApproval, .received, .inProgress: false
        case .completed, .failed, .needsReview, .cancelled, .rejected: true
        }
    }

    /// Derives the state: cancelled wins once nothing is in flight (an action running when the
    /// request was cancelled finishes and records its real effect first); a rejection (only
    /// possible before any attempt) ends it; an action held for approval keeps it
    /// `awaiting_approval`; any unfinished action keeps the request open (`received` until the
    /// first attempt); then failed, needs_review, completed.
    public static func derive(actions: [ActionState], anyAttempt: Bool, cancelled: Bool, rejected: Bool = false) -> RequestState {
        if cancelled { return actions.contains(.running) ? .inProgress : .cancelled }
        if rejected { return .rejected }
        if actions.contains(.held) { return .awaitingApproval }
        if actions.contains(where: { !$0.isTerminal }) { return anyAttempt ? .inProgress : .received }
        if actions.contains(.failed) { return .failed }
        if actions.contains(.needsReview) { return .needsReview }
        if !actions.isEmpty, actions.allSatisfy({ $0 == .cancelled }) { return .cancelled }
        return .completed
    }
}
