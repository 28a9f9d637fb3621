import Foundation
import LetheCore
import LetheStorage

/// A request as `status --json` and `erase --json` show it: the pseudonym, never an identifier.
/// Codable, so tests (and clients) read it back into the same type.
public struct RequestView: Codable, Sendable, Hashable {
    public var id: String
    public var kind: String
    public var state: String
    public var ref: String?
    public var purposes: [String]
    public var received: String
    public var due: String
    public var extendedMonths: Int
    public var overdue: Bool
    /// `DeadlineStanding`: completed_on_time, completed_late, unresolved, unresolved_overdue, open, open_overdue, cancelled.
    public var deadline: String
    public var completedAt: String?
    public var subject: String
    public var requestedBy: String?
    public var cancelReason: String?
    /// For a cancelled request: what had been done, and what was not carried out.
    public var cancellation: String?
    /// The four-eyes decision, when approval was required or the request was rejected.
    public var approval: ApprovalView?
    /// While nothing has started: no action is taken before this time (the grace period).
    public var startsAt: String?

    /// `state` awaiting, approved or rejected; who decided, when, and their note or reason.
    public struct ApprovalView: Codable, Sendable, Hashable {
        public var state: String
        public var by: String?
        public var at: String?
        public var note: String?
        public var reason: String?
    }
    /// Follow-ups that erase data kept under a legal obligation once the retention ends.
    public var retentionErasures: [RetentionErasure]

    /// One follow-up: the day it is due, what it erases, and where it stands.
    public struct RetentionErasure: Codable, Sendable, Hashable {
        public var target: String
        public var due: String
        public var state: String
        public var attributes: [String]
        public var verified: Bool?
        public var completedAt: String?
        public var lastError: String?

        enum CodingKeys: String, CodingKey {
            case target, due, state, attributes, verified
            case completedAt = "completed_at"
            case lastError = "last_error"
        }
    }
    public var actions: [ActionView]

    public struct ActionView: Codable, Sendable, Hashable {
        public var target: String
        public var operation: String
        public var state: String
        public var outcome: String?
        public var verified: Bool?
        public var verification: String?
        public var attempts: Int
        public var lastError: String?
        public var nextAttemptAt: String?
        public var completedAt: String?
        public var attributes: [String]
        public var groups: [String]
        public var retained: [Retained]
        /// How the outcome is known: read_back, system, person (nil before there is one).
        public var evidence: String?
        /// The words for it: "verified by read-back", "confirmed by a person", ...
        public var evidenceStatement: String?
        /// Who confirmed a manual task.
        public var confirmedBy: String?

        enum CodingKeys: String, CodingKey {
            case target, operation, state, outcome, verified, verification, attempts, attributes, groups, retained, evidence
            case evidenceStatement = "evidence_statement"
            case confirmedBy = "confirmed_by"
            case lastError = "last_error"
            case nextAttemptAt = "next_attempt_at"
            case completedAt = "completed_at"
        }
    }

    public struct Retained: Codable, Sendable, Hashable {
        public var purpose: String
        public var basis: String
        public var attributes: [String]
        public var until: String
        /// The retention had ended before the request was carried out: nothing was kept.
        public var ended: Bool
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, state, ref, purposes, received, due, overdue, deadline, subject, actions
        case extendedMonths = "extended_months"
        case completedAt = "completed_at"
        case requestedBy = "requested_by"
        case cancelReason = "cancel_reason"
        case cancellation, approval
        case startsAt = "starts_at"
        case retentionErasures = "retention_erasures"
    }

    public init(_ request: StoredRequest, actions: [StoredAction], today: CalendarDate) {
        id = request.id
        kind = request.kind
        state = request.state.rawValue
        ref = request.ref
        purposes = request.purposes
        received = request.received.description
        due = request.due.description
        extendedMonths = request.extendedMonths
        let standing = request.standing(today: today)
        deadline = standing.rawValue
        overdue = standing.isOverdue
        completedAt = request.completedAt.map(Timestamp.iso8601)
        subject = request.pseudonym
        requestedBy = request.requestedBy
        cancelReason = request.cancelReason
        cancellation = request.cancellationNote(actions: actions)
        approval = request.approval.map { approval in
            ApprovalView(state: approval.state.rawValue, by: approval.by, at: approval.at.map(Timestamp.iso8601),
                         note: approval.state == .rejected ? nil : approval.note, reason: approval.state == .rejected ? approval.note : nil)
        }
        let notStarted = request.state == .awaitingApproval || (request.state == .received && actions.allSatisfy { $0.attempts == 0 })
        startsAt = notStarted && (request.startsAt ?? request.createdAt) > request.createdAt ? request.startsAt.map(Timestamp.iso8601) : nil
        retentionErasures = actions.filter { $0.follows != nil }.map { followUp in
            RetentionErasure(target: followUp.target, due: followUp.notBefore?.description ?? "", state: followUp.state.rawValue,
                             attributes: followUp.plan.attributes.map(\.path.description) + followUp.plan.groups, verified: followUp.verified,
                             completedAt: followUp.completedAt.map(Timestamp.iso8601),
                             lastError: followUp.state == .succeeded ? nil : followUp.lastError)
        }
        self.actions = actions.filter { $0.follows == nil }.map { action in
            ActionView(
                target: action.target, operation: action.plan.operation.rawValue, state: action.state.rawValue,
                outcome: action.outcome?.rawValue, verified: action.verified, verification: action.verification,
                attempts: action.attempts, lastError: action.state == .succeeded ? nil : action.lastError,
                nextAttemptAt: action.state.isTerminal ? nil : Timestamp.iso8601(action.nextAttemptAt),
                completedAt: action.completedAt.map(Timestamp.iso8601),
                attributes: action.plan.attributes.map { "\($0.path) (\($0.strategy.rawValue))" }, groups: action.plan.groups,
                retained: action.plan.retained.map {
                    Retained(purpose: $0.purpose, basis: $0.basis.rawValue, attributes: ($0.attributes.map(\.description) + $0.groups),
                             until: $0.until.description, ended: $0.ended == true)
                }, evidence: action.knownBy?.rawValue, evidenceStatement: action.knownBy?.statement, confirmedBy: action.confirmedBy)
        }
    }
}
