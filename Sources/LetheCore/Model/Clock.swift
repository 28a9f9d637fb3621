import Foundation

/// Time as an input: the live clock in production, a virtual one in tests.
public protocol LetheClock: Sendable {
    func now() -> Date
    /// Sleeps `seconds`. Throws `CancellationError` at once when the task is cancelled, so a
    /// cancelled run never sleeps on.
    func sleep(seconds: Double) async throws
}

/// The system clock.
public struct SystemClock: LetheClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { try Task.checkCancellation(); return }
        try await Task.sleep(nanoseconds: UInt64(min(seconds, 86_400 * 365) * 1_000_000_000))
    }
}
