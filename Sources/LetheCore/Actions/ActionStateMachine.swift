/// What a person says they did with a manual task (`lethe confirm --outcome`).
public enum TaskOutcome: String, Sendable, Hashable, CaseIterable {
    /// The subject's data is deleted from the system.
    case erased
    /// The subject's data is anonymized in place.
    case anonymized
    /// The system holds nothing of the subject.
    case notFound = "not_found"
    /// It cannot be done (a legal hold, a system that cannot delete): the action fails, with the reason.
    case cannotComply = "cannot_comply"
}

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
        /// Handed to a person (a manual target), who has `within` to carry it out and confirm;
        /// or to a system that answered 202 and calls back within `within`.
        case handedOver(within: Double)
        /// A webhook target answered with what it did (`by`: the target, `note`: how it checked).
        case confirmed(TaskOutcome, by: String, note: String?)
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
        /// How the outcome is known, when there is one.
        public var evidence: Evidence? = nil
    }

    /// A person's confirmation of a manual task: what they did and, for `cannot_comply`, why not.
    /// Nothing was read back, so nothing is "verified"; the evidence is the person's word.
    /// With `evidence: .system`, a webhook target's answer: the same outcomes, said as the system's word.
    public static func afterConfirmation(_ outcome: TaskOutcome, by name: String, note: String?, evidence: Evidence = .person) -> Transition {
        let said = (evidence == .system ? "confirmed by the system (\(name))" : "confirmed by a person (\(name))") + (note.map { ": \($0)" } ?? "")
        switch outcome {
        case .erased:
            return Transition(state: .succeeded, outcome: .deleted, verification: said, event: .actionSucceeded, evidence: evidence)
        case .anonymized:
            return Transition(state: .succeeded, outcome: .anonymized, verification: said, event: .actionSucceeded, evidence: evidence)
        case .notFound:
            return Transition(state: .succeeded, outcome: .absent, verification: said, event: .actionSucceeded, evidence: evidence)
        case .cannotComply:
            return Transition(state: .failed, verification: said, reason: "cannot comply: \(note ?? "no reason given")",
                              event: .actionFailed, evidence: evidence)
        }
    }

    /// The transition after an attempt, given how many attempts this budget has used.
    public static func afterAttempt(
        _ result: AttemptResult, attemptsUsed: Int, policy: RetryPolicy, random: Double
    ) -> Transition {
        switch result {
        case .succeeded(let outcome, let verification):
            return Transition(state: .succeeded, outcome: outcome, verification: verification, verified: true, event: .actionSucceeded,
                              evidence: .readBack)
        case .notVerified(let seen):
            return Transition(state: .failed, verification: seen, verified: false, reason: "not verified: \(seen)", event: .actionFailed)
        case .needsReview(let why):
            return Transition(state: .needsReview, reason: why, event: .actionNeedsReview)
        case .permanentFailure(let why):
            return Transition(state: .failed, reason: why, event: .actionFailed)
        case .interrupted(let why):
            return Transition(state: .pending, retryIn: 0, reason: why, event: .actionInterrupted)
        case .confirmed(let outcome, let by, let note):
            return afterConfirmation(outcome, by: by, note: note, evidence: .system)
        case .handedOver(let within):
            // next_attempt_at holds the task's due time; nothing claims an awaiting action.
            return Transition(state: .awaitingConfirmation, retryIn: within, event: .taskCreated)
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
