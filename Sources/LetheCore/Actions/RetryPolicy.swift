/// Exponential backoff with jitter and a cap; `Retry-After` wins, up to the same cap.
public struct RetryPolicy: Sendable, Hashable {
    public var settings: RetrySettings

    public init(_ settings: RetrySettings) { self.settings = settings }

    /// Seconds to wait before attempt `attempt + 1`, after `attempt` attempts (1-based).
    ///
    /// The delay doubles from `base` up to `max`; half of it is fixed and half random
    /// ("equal jitter"), so many actions failing together do not retry together.
    /// A server's `Retry-After` is obeyed up to `max`: a far-future date or a huge number of
    /// seconds must not park an erasure past its deadline (`exceedsCap` says when it asked more).
    /// - Parameter random: a value in [0, 1), injected so tests are exact.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter, retryAfter.isFinite { return min(max(0, retryAfter), settings.max.seconds) }
        if retryAfter != nil { return settings.max.seconds }
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let raw = min(settings.max.seconds, settings.base.seconds * pow2(exponent))
        return raw / 2 + raw / 2 * min(max(random, 0), 1)
    }

    /// True when a server's `Retry-After` asks for more than the policy's `retry.max`.
    public func exceedsCap(_ retryAfter: Double?) -> Bool {
        guard let retryAfter else { return false }
        return !retryAfter.isFinite || retryAfter > settings.max.seconds
    }

    /// True when `attempts` used up the budget.
    public func isExhausted(attempts: Int) -> Bool { attempts >= settings.maxAttempts }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}
