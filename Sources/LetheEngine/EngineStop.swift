import Synchronization

/// Asks a running engine to stop: no new claims, in-flight actions finish or are cancelled
/// after the grace, everything is recorded. Requested once; stays requested.
public final class EngineStop: Sendable {
    private struct State {
        var requested = false
        var waiters: [AsyncStream<Void>.Continuation] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// True once `request()` was called.
    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Asks the engine to stop. Safe to call from any thread, any number of times.
    public func request() {
        let waiters = state.withLock { state -> [AsyncStream<Void>.Continuation] in
            state.requested = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.finish() }
    }

    /// Returns when a stop is requested, or when the calling task is cancelled.
    func wait() async {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let already = state.withLock { state -> Bool in
            if state.requested { return true }
            state.waiters.append(continuation)
            return false
        }
        if already { return }
        for await _ in stream {}
    }
}
