import Foundation
import LetheCore
import LetheStore

/// A request as `status --json` and `erase --json` show it: the pseudonym, never an identifier.
struct RequestView: Encodable {
    var id: String
    var kind: String
    var state: String
    var ref: String?
    var purposes: [String]
    var received: String
    var due: String
    var extendedMonths: Int
    var overdue: Bool
    var completedAt: String?
    var subject: String
    var requestedBy: String?
    var cancelReason: String?
    var actions: [ActionView]

    struct ActionView: Encodable {
        var target: String
        var operation: String
        var state: String
        var outcome: String?
        var verified: Bool?
        var verification: String?
        var attempts: Int
        var lastError: String?
        var nextAttemptAt: String?
        var completedAt: String?
        var attributes: [String]
        var groups: [String]
        var retained: [Retained]

        enum CodingKeys: String, CodingKey {
            case target, operation, state, outcome, verified, verification, attempts, attributes, groups, retained
            case lastError = "last_error"
            case nextAttemptAt = "next_attempt_at"
            case completedAt = "completed_at"
        }
    }

    struct Retained: Encodable {
        var purpose: String
        var basis: String
        var attributes: [String]
        var until: String
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, state, ref, purposes, received, due, overdue, subject, actions
        case extendedMonths = "extended_months"
        case completedAt = "completed_at"
        case requestedBy = "requested_by"
        case cancelReason = "cancel_reason"
    }

    init(_ request: StoredRequest, actions: [StoredAction], today: CalendarDate) {
        id = request.id
        kind = request.kind
        state = request.state.rawValue
        ref = request.ref
        purposes = request.purposes
        received = request.received.description
        due = request.due.description
        extendedMonths = request.extendedMonths
        overdue = !request.state.isTerminal && request.due < today
        completedAt = request.completedAt.map(Timestamp.iso8601)
        subject = request.pseudonym
        requestedBy = request.requestedBy
        cancelReason = request.cancelReason
        self.actions = actions.map { action in
            ActionView(
                target: action.target, operation: action.plan.operation.rawValue, state: action.state.rawValue,
                outcome: action.outcome?.rawValue, verified: action.verified, verification: action.verification,
                attempts: action.attempts, lastError: action.state == .succeeded ? nil : action.lastError,
                nextAttemptAt: action.state.isTerminal ? nil : Timestamp.iso8601(action.nextAttemptAt),
                completedAt: action.completedAt.map(Timestamp.iso8601),
                attributes: action.plan.attributes.map { "\($0.path) (\($0.strategy.rawValue))" }, groups: action.plan.groups,
                retained: action.plan.retained.map {
                    Retained(purpose: $0.purpose, basis: $0.basis.rawValue, attributes: ($0.attributes.map(\.description) + $0.groups),
                             until: $0.until.description)
                })
        }
    }
}
