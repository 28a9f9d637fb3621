import Foundation
import LetheCore
import Synchronization

/// How many workers of a deployment share each target's `rate_limit` now: each paces its own
/// calls at the limit divided by this, so together they stay within it. One per process,
/// updated by the process's presence in the store (`WorkerPresence` in LetheApp).
public final class PaceShare: Sendable {
    private let workers = Atomic<Int>(1)

    public init() {}

    /// The workers sharing the limits (at least 1).
    public var count: Int { workers.load(ordering: .relaxed) }

    public func set(_ count: Int) { workers.store(max(1, count), ordering: .relaxed) }
}

/// Spaces requests to one target so they never exceed its `rate_limit`: each request starts
/// at least `per / requests` after the previous one (no bursts).
public final class RateLimitedTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let gate: Gate
    public var preferredExecutor: (any TaskExecutor)? { inner.preferredExecutor }

    /// - Parameter share: the workers the limit is shared by (nil: this process alone).
    public init(_ inner: any HTTPTransport, limit: RateLimit, share: PaceShare? = nil, clock: any LetheClock = SystemClock()) {
        self.inner = inner
        gate = Gate(interval: limit.per.seconds / Double(limit.requests), share: share, clock: clock)
    }

    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        do {
            try await gate.pass()
        } catch {
            throw .cancelled
        }
        return try await inner.send(request)
    }

    actor Gate {
        let interval: Double
        let share: PaceShare?
        let clock: any LetheClock
        var next: Date?

        init(interval: Double, share: PaceShare?, clock: any LetheClock) {
            self.interval = interval
            self.share = share
            self.clock = clock
        }

        func pass() async throws {
            let now = clock.now()
            let slot = max(now, next ?? now)
            next = slot.addingTimeInterval(interval * Double(share?.count ?? 1))
            let wait = slot.timeIntervalSince(now)
            if wait > 0 { try await clock.sleep(seconds: wait) }
        }
    }
}
