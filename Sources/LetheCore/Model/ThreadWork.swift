import Foundation
import Synchronization

/// Work started on a thread of its own and joined later: for two CPU-bound passes of one
/// command that do not depend on each other, such as walking the audit chain while a report is
/// written or its signature checked (a machine of two cores does both at once). A thread, not a
/// task: the work blocks (SQLite reads, hashing) and must not hold a thread of the cooperative
/// pool the caller may be waiting on.
public final class ThreadWork<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    public init(_ body: @escaping @Sendable () throws -> T) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
    }

    /// Waits for the work to end; its value, or what it threw. May be called more than once.
    public func join() throws -> T {
        done.wait()
        done.signal()
        return try result.withLock { $0! }.get()
    }
}
