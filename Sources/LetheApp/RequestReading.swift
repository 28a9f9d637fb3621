import Foundation
import LetheCore
import LetheStorage

/// Reading requests as every front door shows them: a request with its actions, as of the
/// runtime's today. The CLI, the API and the dashboard present these; none of them assembles
/// a view from the store on its own.
public struct RequestReading: Sendable {
    public let database: any RequestQueries
    public let today: CalendarDate

    public init(database: any RequestQueries, today: CalendarDate) {
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
