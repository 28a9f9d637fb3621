import Foundation
import LetheCore
import LetheStore

/// Turns what a privacy officer (or a sweep) asks for into a filed request: validated,
/// planned against the policies, pseudonymised, stored with its actions and audit event.
public struct Intake: Sendable {
    public let database: AppDatabase
    public let policies: PolicySet
    public let pseudonymizer: Pseudonymizer
    /// New request ids.
    public let newId: @Sendable () -> String

    public init(database: AppDatabase, policies: PolicySet, pseudonymizer: Pseudonymizer,
                newId: @escaping @Sendable () -> String = Intake.randomId) {
        self.database = database
        self.policies = policies
        self.pseudonymizer = pseudonymizer
        self.newId = newId
    }

    /// `req-` and 12 random hex digits (48 bits; the database refuses a duplicate).
    public static func randomId() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() & 0xFFFF_FFFF_FFFF
        let hex = String(value, radix: 16)
        return "req-" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// A request as given on the command line or in a ledger.
    public struct Submission: Sendable, Hashable {
        public var kind: RequestKind
        public var subject: SubjectIdentifiers
        public var ref: String?
        public var requestedBy: String?
        public var note: String?
        public var received: CalendarDate

        public init(kind: RequestKind, subject: SubjectIdentifiers, ref: String? = nil, requestedBy: String? = nil,
                    note: String? = nil, received: CalendarDate) {
            self.kind = kind
            self.subject = subject
            self.ref = ref
            self.requestedBy = requestedBy
            self.note = note
            self.received = received
        }
    }

    /// Why a submission was refused; nothing was stored.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case invalidEmail
        case receivedInFuture(CalendarDate)
        /// A reference must be 1 to 200 characters.
        case invalidReference(length: Int)
        case unplannable(Planner.Problem)
        /// Identifiers given for a retry belong to somebody else.
        case notTheSubject(requestId: String)

        public var description: String {
            switch self {
            case .invalidEmail: "the e-mail address is not valid (expected local@domain)"
            case .receivedInFuture(let date): "the received date \(date) is in the future"
            case .invalidReference(let length): "a reference must be 1 to 200 characters, not \(length)"
            case .unplannable(let problem): problem.description
            case .notTheSubject(let id): "these identifiers do not belong to the subject of request \(id) (the pseudonym differs); nothing was changed"
            }
        }
    }

    /// Checks, plans and pseudonymises a submission without storing it.
    public func prepare(_ submission: Submission, today: CalendarDate) throws(Refusal) -> NewRequest {
        if let email = submission.subject.email, !IdentifierSyntax.isPlausibleEmail(email) {
            throw .invalidEmail
        }
        if submission.received > today {
            throw .receivedInFuture(submission.received)
        }
        if let ref = submission.ref, ref.isEmpty || ref.count > 200 {
            throw .invalidReference(length: ref.count)
        }
        let plan: [PlannedAction]
        do {
            plan = try Planner(policies: policies).plan(PlanningRequest(kind: submission.kind, subject: submission.subject,
                                                                        received: submission.received, today: today))
        } catch {
            throw .unplannable(error)
        }
        guard let pseudonym = pseudonymizer.pseudonym(for: submission.subject) else {
            throw .unplannable(.noIdentifier)
        }
        return NewRequest(id: newId(), kind: submission.kind, ref: submission.ref, pseudonym: pseudonym, identifiers: submission.subject,
                          requestedBy: submission.requestedBy, note: submission.note, received: submission.received, plan: plan)
    }

    /// Files one submission; the same `ref` again returns the existing request.
    public func file(_ submission: Submission, now: Date) throws -> FilingResult {
        let new = try prepare(submission, today: CalendarDate(secondsSince1970: now.timeIntervalSince1970))
        return try database.file(new, now: now)
    }

    /// Re-plans needs_review actions with the identifiers given now, and puts failed and
    /// needs_review actions back to pending. Identifiers, when given, must be the subject's.
    public func retry(_ request: StoredRequest, target: String?, identifiers: SubjectIdentifiers?, now: Date) throws -> [String] {
        if let identifiers, !identifiers.isEmpty {
            guard pseudonymizer.matches(identifiers, request.pseudonym) else {
                throw Refusal.notTheSubject(requestId: request.id)
            }
        }
        var merged = request.identifiers ?? SubjectIdentifiers()
        if let identifiers {
            merged.email = identifiers.email ?? merged.email
            merged.externalId = identifiers.externalId ?? merged.externalId
            merged.userName = identifiers.userName ?? merged.userName
        }
        var replans: [String: PlannedAction] = [:]
        if !merged.isEmpty {
            let planned = (try? Planner(policies: policies).plan(PlanningRequest(kind: request.requestKind, subject: merged, received: request.received,
                                                                                 today: CalendarDate(secondsSince1970: now.timeIntervalSince1970)))) ?? []
            for action in try database.actions(of: request.id) where action.state == .needsReview && action.plan.operation == .needsReview {
                if let fresh = planned.first(where: { $0.target == action.target }) { replans[action.target] = fresh }
            }
        }
        let given = identifiers.flatMap { $0.isEmpty ? nil : $0 }
        return try database.retry(request.id, target: target, identifiers: given, replans: replans, now: now)
    }
}
