/// The pure rules that move an action from one state to the next. Event in, transition out;
/// the engine performs and records what it says.
public enum ActionStateMachine {
    /// What one attempt came to.
    public enum AttemptResult: Sendable, Hashable {
        /// The change is in place and was seen when reading back.
        case succeeded(ActionOutcome, verification: String)
        /// The server accepted the write but reading back shows it did not take effect.
        case notVerified(String)
        /// Could not act safely (ambiguous match, untrustworthy server): a person must look.
        case needsReview(String)
        /// May work later (429, 5xx, timeout, connection problems).
        case transientFailure(String, retryAfter: Double?)
        /// Will not work by trying again (400, 401, 403, 409, unverified write, ...).
        case permanentFailure(String)
        /// Lethe stopped the attempt itself (shutdown, the run's deadline) before an answer:
        /// nothing is known about the target, so the action is simply taken up again.
        case interrupted(String)
    }

    /// A state change to record.
    public struct Transition: Sendable, Hashable {
        public var state: ActionState
        /// Seconds from now until the next claim, for `retrying`.
        public var retryIn: Double?
        public var outcome: ActionOutcome?
        public var verification: String?
        /// True when a read-back confirmed the outcome, false when it contradicted the server.
        public var verified: Bool?
        /// Why it failed, needs review, or is retried.
        public var reason: String?
        /// The audit event to record.
        public var event: AuditEventKind
    }

    /// The transition after an attempt, given how many attempts this budget has used.
    public static func afterAttempt(
        _ result: AttemptResult, attemptsUsed: Int, policy: RetryPolicy, random: Double
    ) -> Transition {
        switch result {
        case .succeeded(let outcome, let verification):
            return Transition(state: .succeeded, outcome: outcome, verification: verification, verified: true, event: .actionSucceeded)
        case .notVerified(let seen):
            return Transition(state: .failed, verification: seen, verified: false, reason: "not verified: \(seen)", event: .actionFailed)
        case .needsReview(let why):
            return Transition(state: .needsReview, reason: why, event: .actionNeedsReview)
        case .permanentFailure(let why):
            return Transition(state: .failed, reason: why, event: .actionFailed)
        case .interrupted(let why):
            return Transition(state: .pending, retryIn: 0, reason: why, event: .actionInterrupted)
        case .transientFailure(let why, let retryAfter):
            if policy.isExhausted(attempts: attemptsUsed) {
                return Transition(
                    state: .failed,
                    reason: "gave up after \(attemptsUsed) attempt\(attemptsUsed == 1 ? "" : "s"): \(why)",
                    event: .actionFailed)
            }
            let delay = policy.delay(afterAttempt: attemptsUsed, retryAfter: retryAfter, random: random)
            var reason = why
            if policy.exceedsCap(retryAfter) {
                reason += "; the server asked to wait \(retryAfter.map { $0.isFinite ? "\(Int($0))s" : "forever" } ?? "?"), "
                    + "more than retry.max (\(Int(policy.settings.max.seconds))s): retrying after \(Int(delay))s"
            }
            return Transition(state: .retrying, retryIn: delay, reason: reason, event: .actionRetrying)
        }
    }

    /// A runner died while the action was `running`: it goes back to be claimed again at once.
    /// Safe because every effect is idempotent; the interrupted attempt still counts.
    public static func rescue() -> Transition {
        Transition(state: .pending, retryIn: 0, reason: "the runner stopped while this action was in flight", event: .actionRescued)
    }

    /// A runner died while the action was `running` and its request has been cancelled since:
    /// it must not run again, and whether the interrupted attempt took effect is unknown.
    public static func rescueCancelled() -> Transition {
        Transition(state: .needsReview,
                   reason: "the request was cancelled while this action was in flight and the runner stopped: whether it took effect in the target is unknown; check the account",
                   event: .actionNeedsReview)
    }

    /// What a cancelled request's actions that never ran say.
    public static let notCarriedOut = "not carried out (cancelled)"

    /// The transition of an attempt that ends after its request was cancelled: a final outcome
    /// (done, failed, needs review) stands as it is, the truth of what happened; anything that
    /// would run again is cancelled instead.
    public static func afterCancellation(_ transition: Transition) -> Transition {
        guard !transition.state.isTerminal else { return transition }
        var cancelled = transition
        cancelled.state = .cancelled
        cancelled.retryIn = nil
        cancelled.reason = notCarriedOut + (transition.reason.map { " after: \($0)" } ?? "")
        cancelled.event = .actionCancelled
        return cancelled
    }

    /// Whether a person may put an action back to pending with `lethe retry`.
    public static func canRetry(_ state: ActionState) -> Bool {
        state == .failed || state == .needsReview
    }
}
