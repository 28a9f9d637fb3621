import LetheStorage
import NIOConcurrencyHelpers
import NIOPosix

/// Group commit for the writes that append to the audit chain (the engine's claims and results):
/// the ones that arrive while a group is being written wait for it and then go together, in one
/// transaction that takes the chain lock once. Every such write holds that lock anyway, so one
/// after another is all they could do; together they save, per write, the BEGIN, the lock and
/// the COMMIT, three of about seven round trips (see `Benchmarks/README.md`, issue #32).
///
/// Each write is still all or nothing, as alone: when one of a group throws, the group is rolled
/// back and each of its writes is run again in a transaction of its own, so one write's error
/// (a lease lost, a row gone) is only its own. The writes are pure functions of what the database
/// holds, so running one again is running it once. When the commit itself fails (the connection
/// went), every write of the group gets that error, as it would have alone.
final class PostgresGroupCommit: Sendable {
    private struct Write: Sendable {
        let body: @Sendable (PGSession) throws -> any Sendable
        let finish: @Sendable (Result<any Sendable, any Error>) -> Void
    }

    private struct Queue {
        var waiting: [Write] = []
        var writing = false
    }

    /// The most writes in one transaction: a bound on how long the chain lock is held at once.
    static let largestGroup = 64

    private let connections: PostgresConnections
    private let queue = NIOLockedValueBox(Queue())

    init(_ connections: PostgresConnections) {
        self.connections = connections
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (PGSession) throws -> T) async throws -> T {
        try Task.checkCancellation()
        let value: any Sendable = try await withCheckedThrowingContinuation { continuation in
            let write = Write(body: { try body($0) }, finish: { continuation.resume(with: $0) })
            let start = queue.withLockedValue { queue -> Bool in
                queue.waiting.append(write)
                defer { queue.writing = true }
                return !queue.writing
            }
            if start { connections.threads.submit { _ in self.drain() } }
        }
        guard let result = value as? T else { throw StoreError.corrupt("a grouped write returned \(type(of: value)), not \(T.self)") }
        return result
    }

    /// Writes groups until nobody waits; runs on one of the pool's threads.
    private func drain() {
        while true {
            let group = queue.withLockedValue { queue -> [Write] in
                let group = Array(queue.waiting.prefix(Self.largestGroup))
                queue.waiting.removeFirst(group.count)
                if group.isEmpty { queue.writing = false }
                return group
            }
            guard !group.isEmpty else { return }
            run(group)
        }
    }

    private func run(_ group: [Write]) {
        if group.count > 1 {
            var results: [any Sendable] = []
            do {
                try connections.write(chain: true) { session in
                    for write in group { results.append(try write.body(session)) }
                }
                for (write, result) in zip(group, results) { write.finish(.success(result)) }
                return
            } catch StoreError.unavailable(let reason) {
                // The database went: alone, each would meet the same.
                for write in group { write.finish(.failure(StoreError.unavailable(reason))) }
                return
            } catch where results.count < group.count {
                // One of them threw and the group was rolled back: each again, alone, below.
            } catch {
                for write in group { write.finish(.failure(error)) }
                return
            }
        }
        for write in group {
            write.finish(Result { try connections.write(chain: true, write.body) })
        }
    }
}
