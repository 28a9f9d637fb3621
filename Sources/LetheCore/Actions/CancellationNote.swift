/// What a cancelled request did and did not do, in one sentence for status and certificates:
/// "cancelled; app had already been deleted at T; crm: not carried out (cancelled)". Pure.
public enum CancellationNote {
    /// One target's action, as far as the sentence needs it.
    public struct Action: Sendable, Hashable {
        public var target: String
        public var state: ActionState
        public var outcome: ActionOutcome?
        /// When it ended (ISO 8601), if it did.
        public var completedAt: String?

        public init(target: String, state: ActionState, outcome: ActionOutcome?, completedAt: String?) {
            self.target = target
            self.state = state
            self.outcome = outcome
            self.completedAt = completedAt
        }
    }

    /// The sentence; `reason` is the cancellation's reason.
    public static func text(reason: String?, actions: [Action]) -> String {
        var parts = ["cancelled" + (reason.map { " (\($0))" } ?? "")]
        for action in actions {
            let at = action.completedAt.map { " at \($0)" } ?? ""
            switch (action.state, action.outcome) {
            case (.succeeded, .notApplicable?):
                continue
            case (.succeeded, let outcome?):
                parts.append("\(action.target) had already been \(done(outcome))\(at)")
            case (.cancelled, _):
                parts.append("\(action.target): \(ActionStateMachine.notCarriedOut)")
            case (.failed, _):
                parts.append("\(action.target): failed before the cancellation")
            case (.needsReview, _):
                parts.append("\(action.target): needs review (see its reason)")
            default:
                parts.append("\(action.target): \(action.state.rawValue)")
            }
        }
        return parts.joined(separator: "; ")
    }

    private static func done(_ outcome: ActionOutcome) -> String {
        switch outcome {
        case .deleted: "deleted"
        case .anonymized: "anonymized"
        case .deactivated: "deactivated"
        case .anonymizedAndDeactivated: "anonymized and deactivated"
        case .attributesRemoved: "stripped of the withdrawn attributes"
        case .groupsLeft: "removed from the withdrawn groups"
        case .absent: "found to hold no account"
        case .notApplicable: "left alone (nothing to do)"
        }
    }
}
