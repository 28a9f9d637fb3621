import Foundation
import LetheCore

/// Spaces requests to one target so they never exceed its `rate_limit`: each request starts
/// at least `per / requests` after the previous one (no bursts).
public final class RateLimitedTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let gate: Gate
    public var preferredExecutor: (any TaskExecutor)? { inner.preferredExecutor }

    public init(_ inner: any HTTPTransport, limit: RateLimit, clock: any LetheClock = SystemClock()) {
        self.inner = inner
        gate = Gate(interval: limit.per.seconds / Double(limit.requests), clock: clock)
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
        let clock: any LetheClock
        var next: Date?

        init(interval: Double, clock: any LetheClock) {
            self.interval = interval
            self.clock = clock
        }

        func pass() async throws {
            let now = clock.now()
            let slot = max(now, next ?? now)
            next = slot.addingTimeInterval(interval)
            let wait = slot.timeIntervalSince(now)
            if wait > 0 { try await clock.sleep(seconds: wait) }
        }
    }
}
