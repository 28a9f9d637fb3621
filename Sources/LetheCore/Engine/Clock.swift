import Foundation

/// Time as an input: the live clock in production, a settable one in tests.
public protocol LetheClock: Sendable {
    func now() -> Date
    /// Sleeps up to `seconds`, returning early if the task is cancelled.
    func sleep(seconds: Double) async
}

/// The system clock.
public struct SystemClock: LetheClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) async {
        guard seconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
    }
}
