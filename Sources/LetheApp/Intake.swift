import Foundation
import LetheCore
import LetheStorage

/// Turns what a privacy officer (or a sweep) asks for into a filed request: validated,
/// planned against the policies, pseudonymised, stored with its actions and audit event.
public struct Intake: Sendable {
    public let database: any RequestLedger & RequestQueries
    public let policies: PolicySet
    public let pseudonymizer: Pseudonymizer
    /// New request ids.
    public let newId: @Sendable () -> String

    public init(database: any RequestLedger & RequestQueries, policies: PolicySet, pseudonymizer: Pseudonymizer,
                newId: @escaping @Sendable () -> String = Intake.randomId) {
        self.database = database
        self.policies = policies
        self.pseudonymizer = pseudonymizer
        self.newId = newId
    }

    /// The day the GDPR began to apply: no request is received before it.
    public static let gdprApplies = CalendarDate(iso: "2018-05-25")!

    /// `req-`, the filing second as 8 hex digits, and 12 random hex digits (48 bits).
    ///
    /// Ids in filing order keep SQLite's indexes on the request id (the request's key, its
    /// actions', its audit events') appending at one end instead of touching pages all over
    /// each index; the random part keeps two ids filed in the same second apart (the
    /// database refuses a duplicate).
    public static func randomId() -> String {
        randomId(at: Date().timeIntervalSince1970)
    }

    /// The same, for a filing at `now` (seconds since 1970).
    public static func randomId(at now: Double) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() & 0xFFFF_FFFF_FFFF
        let seconds = UInt64(max(0, min(now, Double(UInt32.max))))
        return "req-" + hex(seconds, width: 8) + hex(random, width: 12)
    }

    private static func hex(_ value: UInt64, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: width - digits.count) + digits
    }

    /// A request as given on the command line or in a ledger.
    public struct Submission: Sendable, Hashable {
        public var kind: RequestKind
        public var subject: SubjectIdentifiers
        public var ref: String?
        /// Who files it, as shown; `filer`'s name when a filer is given.
        public var requestedBy: String?
        /// Who files it, as the four-eyes check knows them (an API token); nil: the person named
        /// by `requestedBy`.
        public var filer: Principal?
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

        /// A submission filed by `filer` (an API token or a dashboard session).
        public init(kind: RequestKind, subject: SubjectIdentifiers, ref: String? = nil, filer: Principal, note: String? = nil, received: CalendarDate) {
            self.init(kind: kind, subject: subject, ref: ref, requestedBy: filer.name, note: note, received: received)
            self.filer = filer
        }
    }

    /// Why a submission was refused; nothing was stored.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case invalidEmail
        case receivedInFuture(CalendarDate)
        /// Before 2018-05-25, the day the GDPR began to apply.
        case receivedBeforeGDPR(CalendarDate)
        /// A reference must be 1 to 200 bytes.
        case invalidReference(length: Int)
        /// A text field (`ref`, `note`, `requested_by`) holds a control character.
        case controlCharacter(field: String)
        /// A text field is longer than its limit in bytes.
        case tooLong(field: String, limit: Int)
        case unplannable(Planner.Problem)
        /// Identifiers given for a retry belong to somebody else.
        case notTheSubject(requestId: String)
        /// An identifier given for a retry differs from the one the request holds.
        case conflictingIdentifier(requestId: String, field: String)
        /// Approval is required (`lethe.yaml`) and the request does not say who files it, so
        /// nobody could check that the approver is someone else.
        case filerRequired(approval: LetheSettings.Approval, file: String?)

        public var description: String {
            switch self {
            case .invalidEmail: "the e-mail address is not valid (expected local@domain)"
            case .receivedInFuture(let date): "the received date \(date) is in the future"
            case .receivedBeforeGDPR(let date): "the received date \(date) is before 2018-05-25, when the GDPR began to apply"
            case .controlCharacter(let field): "\(field) contains a control character (a line break, tab or escape): refused so logs and reports stay unambiguous"
            case .tooLong(let field, let limit): "\(field) is longer than \(limit) bytes"
            case .invalidReference(let length): "a reference must be 1 to 200 bytes, not \(length)"
            case .unplannable(let problem): problem.description
            case .notTheSubject(let id): "these identifiers do not belong to the subject of request \(id) (the pseudonym differs); nothing was changed"
            case .conflictingIdentifier(let id, let field):
                "the \(field) given differs from the one request \(id) holds; stored identifiers are never overwritten, and nothing was changed"
            case .filerRequired(let approval, let file):
                "\(file ?? LetheSettings.fileName) requires approval for \(approval == .all ? "every request" : "erasures") by someone other than "
                    + "whoever files it, so the request must name who files it"
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
        if submission.received < Self.gdprApplies {
            throw .receivedBeforeGDPR(submission.received)
        }
        if let ref = submission.ref, ref.isEmpty || ref.utf8.count > FreeText.referenceLimit {
            throw .invalidReference(length: ref.utf8.count)
        }
        for (field, text, limit) in [("ref", submission.ref, FreeText.referenceLimit), ("note", submission.note, FreeText.noteLimit),
                                     ("requested_by", submission.requestedBy, FreeText.nameLimit)] {
            guard let text else { continue }
            do throws(FreeText.Problem) {
                try FreeText.check(text, field: field, limit: limit)
            } catch .tooLong(_, let limit) {
                throw .tooLong(field: field, limit: limit)
            } catch {
                throw .controlCharacter(field: field)
            }
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
        let settings = policies.settings
        if settings.approval.applies(to: submission.kind),
           (submission.requestedBy ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw .filerRequired(approval: settings.approval, file: settings.sourceFile)
        }
        var new = NewRequest(id: newId(), kind: submission.kind, ref: submission.ref, pseudonym: pseudonym, identifiers: submission.subject,
                             requestedBy: submission.requestedBy, note: submission.note, received: submission.received, plan: plan)
        if let filer = submission.filer { new.filers = filer.identities }
        new.apply(settings)
        return new
    }

    /// What filing did: the request (new, or filed before under the same reference) and its
    /// actions, so that no front door reads them back on its own.
    public struct Filing: Sendable, Hashable {
        public var result: FilingResult
        public var actions: [StoredAction]
        public var request: StoredRequest { result.request }
        /// False when the reference was filed before and nothing new was stored.
        public var isNew: Bool { if case .filed = result { true } else { false } }
    }

    /// Files one submission; the same `ref` again returns the existing request.
    public func file(_ submission: Submission, now: Date) throws -> Filing {
        let new = try prepare(submission, today: CalendarDate(secondsSince1970: now.timeIntervalSince1970))
        return try filing(try database.file(new, now: now))
    }

    /// `file`, through the group commit (for many concurrent callers, as `lethe serve` has).
    public func fileGrouped(_ submission: Submission, now: Date) async throws -> Filing {
        let new = try prepare(submission, today: CalendarDate(secondsSince1970: now.timeIntervalSince1970))
        return try filing(try await database.fileGrouped(new, now: now))
    }

    private func filing(_ result: FilingResult) throws -> Filing {
        let id = result.request.id
        guard case .filed = result else { return Filing(result: result, actions: try database.actions(of: id)) }
        // Read on the writer right after the filing: the same actions the filing wrote.
        return Filing(result: result, actions: try database.actionsJustFiled(of: id))
    }

    /// Re-plans needs_review actions with the identifiers given now, and puts failed and
    /// needs_review actions back to pending. Identifiers, when given, must be the subject's.
    public func retry(_ request: StoredRequest, target: String?, identifiers: SubjectIdentifiers?, by actor: Principal? = nil, now: Date) throws -> [String] {
        if let identifiers, !identifiers.isEmpty {
            guard pseudonymizer.matches(identifiers, request.pseudonym) else {
                throw Refusal.notTheSubject(requestId: request.id)
            }
        }
        var merged = request.identifiers ?? SubjectIdentifiers()
        if let identifiers {
            // Every identifier given must agree with what the request still holds: a right e-mail
            // must not carry a wrong external id in with it.
            if let stored = request.identifiers {
                if let given = identifiers.email, let held = stored.email, !ASCIICase.equal(given, held) {
                    throw Refusal.conflictingIdentifier(requestId: request.id, field: "e-mail address")
                }
                if let given = identifiers.userName, let held = stored.userName, !ASCIICase.equal(given, held) {
                    throw Refusal.conflictingIdentifier(requestId: request.id, field: "user name")
                }
                if let given = identifiers.externalId, let held = stored.externalId, given != held {
                    throw Refusal.conflictingIdentifier(requestId: request.id, field: "external id")
                }
            }
            merged.email = merged.email ?? identifiers.email
            merged.externalId = merged.externalId ?? identifiers.externalId
            merged.userName = merged.userName ?? identifiers.userName
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
        return try database.retry(request.id, target: target, identifiers: given, replans: replans, by: actor, now: now)
    }
}
