import Foundation
import LetheCore
import LetheStorage

/// Reading requests as every front door shows them: a request with its actions, as of the
/// runtime's today. The CLI, the API and the dashboard present these; none of them assembles
/// a view from the store on its own.
public struct RequestReading: Sendable {
    public let database: any RequestQueries & TaskDesk
    public let today: CalendarDate

    public init(database: any RequestQueries & TaskDesk, today: CalendarDate) {
        self.database = database
        self.today = today
    }

    /// The request with this id or reference, or nil.
    public func request(_ idOrRef: String) throws -> StoredRequest? {
        try database.request(idOrRef)
    }

    /// The day the earliest request was received (where a report over everything starts).
    public func earliestReceived() throws -> CalendarDate? { try database.earliestReceived() }

    /// A request as shown.
    public func view(of request: StoredRequest) throws -> RequestView {
        RequestView(request, actions: try database.actions(of: request.id), today: today)
    }

    /// A manual task as shown to those who may confirm it: the request's identifiers are there
    /// only while it is open (the person needs them to find the subject), never in a log.
    public struct Task: Sendable, Hashable, Codable {
        public var request: String
        public var ref: String?
        public var target: String
        public var operation: String
        public var attributes: [String]
        public var groups: [String]
        public var subject: String
        public var identifiers: [String: String]
        public var due: String
        public var overdue: Bool

        enum CodingKeys: String, CodingKey {
            case request, ref, target, operation, attributes, groups, subject, identifiers, due, overdue
        }
    }

    /// The manual tasks waiting for a person, oldest first; `overdueOnly` keeps those past due at `now`.
    public func tasks(now: Date, overdueOnly: Bool = false) throws -> [Task] {
        try database.openTasks().compactMap { request, action in
            let overdue = action.nextAttemptAt <= now
            guard overdue || !overdueOnly else { return nil }
            var identifiers: [String: String] = [:]
            if let email = request.identifiers?.email { identifiers["email"] = email }
            if let externalId = request.identifiers?.externalId { identifiers["external_id"] = externalId }
            if let userName = request.identifiers?.userName { identifiers["user_name"] = userName }
            return Task(request: request.id, ref: request.ref, target: action.target, operation: action.plan.operation.rawValue,
                        attributes: action.plan.attributes.map(\.path.description), groups: action.plan.groups, subject: request.pseudonym,
                        identifiers: identifiers, due: Timestamp.iso8601(action.nextAttemptAt), overdue: overdue)
        }
    }

    /// What each target said in its own words about its last failure, while the request is open.
    public func serverMessages(of request: StoredRequest) throws -> [String: String] {
        try database.serverMessages(of: request.id)
    }

    /// Everything a request's own page shows: the view, the stored actions, each action's
    /// attempts, what the targets said, and the request's audit trail.
    public struct Detail: Sendable {
        public var view: RequestView
        public var actions: [StoredAction]
        public var attempts: [Int64: [StoredAttempt]]
        public var serverMessages: [String: String]
        public var events: [AuditEvent]
    }

    public func detail(of request: StoredRequest, auditTrail: any AuditLog) throws -> Detail {
        let actions = try database.actions(of: request.id)
        var attempts: [Int64: [StoredAttempt]] = [:]
        for action in actions { attempts[action.id] = try database.attempts(of: action.id) }
        return Detail(view: RequestView(request, actions: actions, today: today), actions: actions, attempts: attempts,
                      serverMessages: try database.serverMessages(of: request.id), events: try auditTrail.auditEvents(request: request.id))
    }

    /// Many requests as shown, with their actions read at once.
    public func views(of requests: [StoredRequest]) throws -> [RequestView] {
        let actions = try database.actions(of: requests.map(\.id))
        return requests.map { RequestView($0, actions: actions[$0.id] ?? [], today: today) }
    }

    /// A page of requests matching `filter`, and the cursor of the next page.
    public func page(_ filter: RequestFilter, limit: Int) throws -> (requests: [RequestView], next: RequestCursor?) {
        let page = try database.requests(filter, limit: limit)
        return (try views(of: page.requests), page.next)
    }

    /// The newest requests, optionally in one state or overdue today (`lethe status`).
    public func list(state: RequestState?, overdue: Bool, limit: Int) throws -> [RequestView] {
        try views(of: try database.requests(state: state, overdueOn: overdue ? today : nil, limit: limit))
    }

    /// Requests whose retained data still waits to be erased.
    public func withOpenFollowUps(limit: Int) throws -> [RequestView] {
        try views(of: try database.requestsWithOpenFollowUps(limit: limit))
    }
}
