import Foundation
import LetheCore

/// An action claimed by a runner, with what it needs to act.
public struct ClaimedAction: Sendable, Hashable {
    public var action: StoredAction
    public var requestId: String
    public var pseudonym: String
    /// The subject's identifiers (present while the request is open).
    public var identifiers: SubjectIdentifiers?
    /// The number of this attempt (1-based, over the action's life).
    public var attempt: Int
    /// Attempts used in the current retry budget, this one included.
    public var attemptsInBudget: Int
    /// Until when the claim is this runner's own. A runner renews it while it works; after it,
    /// another runner may take the action over, and this runner's result is refused (the
    /// attempt number is the fencing token).
    public var leaseExpiresAt: Date?

    /// How long a claim is held without renewal, unless a caller says otherwise.
    public static let defaultLease: Double = 60

    public init(action: StoredAction, requestId: String, pseudonym: String, identifiers: SubjectIdentifiers?, attempt: Int, attemptsInBudget: Int) {
        self.action = action
        self.requestId = requestId
        self.pseudonym = pseudonym
        self.identifiers = identifiers
        self.attempt = attempt
        self.attemptsInBudget = attemptsInBudget
    }

    /// What a renewal names: the action and the attempt that holds it.
    public var lease: Lease { Lease(actionId: action.id, attempt: attempt) }

    /// A claim as its holder names it when renewing or recording.
    public struct Lease: Sendable, Hashable {
        public var actionId: Int64
        public var attempt: Int

        public init(actionId: Int64, attempt: Int) {
            self.actionId = actionId
            self.attempt = attempt
        }
    }
}

/// One finished attempt, to record with its transition.
public struct AttemptReport: Sendable, Hashable {
    public var actionId: Int64
    public var number: Int
    public var startedAt: Date
    public var finishedAt: Date
    public var result: AttemptResultKind
    public var statusCode: Int?
    public var error: String?
    /// The target's own words about a failure, kept only while the request is open.
    public var serverMessage: String?

    public init(actionId: Int64, number: Int, startedAt: Date, finishedAt: Date, result: AttemptResultKind, statusCode: Int? = nil, error: String? = nil,
                serverMessage: String? = nil) {
        self.serverMessage = serverMessage
        self.actionId = actionId
        self.number = number
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.result = result
        self.statusCode = statusCode
        self.error = error
    }
}
