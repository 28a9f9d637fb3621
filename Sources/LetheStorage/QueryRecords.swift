import Foundation
import LetheCore

/// Which requests a listing wants (`GET /api/v1/requests`); nil fields do not filter.
public struct RequestFilter: Sendable, Hashable {
    public var state: RequestState?
    public var kind: String?
    /// Open, failed or needs_review and due before this day.
    public var overdueOn: CalendarDate?
    public var ref: String?
    /// With an action in this target.
    public var target: String?
    /// With a follow-up (the erasure of retained data) that has not succeeded yet.
    public var scheduled = false
    public var receivedFrom: CalendarDate?
    public var receivedTo: CalendarDate?
    /// Continue after this request (filing order).
    public var after: RequestCursor?
    /// Newest first (the cursor then continues before the request it names).
    public var newestFirst = false

    public init() {}
}

/// Where a page of requests ended: filing time and id, as an opaque text.
public struct RequestCursor: Sendable, Hashable, CustomStringConvertible {
    public var createdAt: Double
    public var id: String

    public init?(_ text: String) {
        let parts = text.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let time = Double(parts[0]), time.isFinite, !parts[1].isEmpty else { return nil }
        createdAt = time
        id = String(parts[1])
    }

    public init(createdAt: Double, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    public var description: String { "\(createdAt)_\(id)" }
}

/// What `/metrics` reports from the store, read in one transaction.
public struct Gauges: Sendable, Hashable {
    /// (state, kind) → requests.
    public var requests: [String: [String: Int]] = [:]
    /// (target, state) → actions.
    public var actions: [String: [String: Int]] = [:]
    public var overdue = 0
    /// When the oldest request still received or in progress was filed.
    public var oldestOpenFiledAt: Date?

    public init() {}
}

/// What the dashboard's overview shows, read in one transaction.
public struct Overview: Sendable, Hashable {
    /// Request state → requests.
    public var byState: [String: Int] = [:]
    public var overdue = 0
    /// Open requests due within the next seven days (not yet overdue).
    public var dueSoon = 0
    /// Erasures of retained data waiting for their day.
    public var scheduledFollowUps = 0
    /// Target → failed or needs_review actions.
    public var failingByTarget: [String: Int] = [:]
    /// When the last attempt finished.
    public var lastAttemptAt: Date?
    /// (Monday of the week received, request state) → requests, for the weeks since `since`.
    public var weekly: [String: [String: Int]] = [:]

    public init() {}
}

/// A URL's delivery state; a new URL starts at the log's head (no history is replayed).
public struct WebhookCursor: Sendable, Hashable {
    public var url: String
    public var lastSeq: Int64
    public var attempts: Int
    public var nextAttemptAt: Date

    public init(url: String, lastSeq: Int64, attempts: Int, nextAttemptAt: Date) {
        self.url = url
        self.lastSeq = lastSeq
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
    }
}
