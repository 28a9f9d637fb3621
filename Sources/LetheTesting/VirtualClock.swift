import Foundation
import LetheCore
import Synchronization

/// A clock whose time moves only when someone sleeps on it or `advance` is called, so retry
/// and backoff tests run without waiting on wall time. A sleep returns at once after moving
/// the clock forward (virtual time), and still throws when the task is cancelled.
public final class VirtualClock: LetheClock {
    private let current: Mutex<Date>
    private let slept = Mutex<[Double]>([])

    public init(start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        slept.withLock { $0.append(seconds) }
        advance(seconds)
        // A real pause of at most 2 ms, so a loop that polls this clock does not spin.
        try await Task.sleep(nanoseconds: UInt64(min(max(seconds, 0), 0.002) * 1_000_000_000))
    }

    /// Moves the clock forward.
    public func advance(_ seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(max(0, seconds)) }
    }

    /// Every sleep asked for, in order.
    public var sleeps: [Double] { slept.withLock { $0 } }
}
