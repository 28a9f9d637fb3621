import Foundation
import GRDB
import Synchronization

/// Group commit: writes submitted by concurrent tasks while a transaction is being committed
/// are carried out together in the next one, so many actions share one fsync.
///
/// Durability is unchanged: `write` returns only after the transaction holding its change has
/// committed (under `synchronous = FULL`, after the fsync), so a caller still records every
/// state change before its next side effect. Each write runs in its own savepoint: one that
/// throws is rolled back alone and its caller gets the error; the others commit.
///
/// The commits run on the database writer's queue, one batch after another while writes are
/// queued; they belong to no caller's task, so a result an engine has seen is still recorded
/// while its run is being cancelled.
final class GroupCommit: Sendable {
    private struct Pending {
        var body: @Sendable (Database) throws -> any Sendable
        var resume: @Sendable (Result<any Sendable, any Error>) -> Void
    }

    private struct Queue {
        var pending: [Pending] = []
        var committing = false
    }

    private let writer: any DatabaseWriter
    private let queue = Mutex(Queue())

    init(_ writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Runs `body` in a transaction shared with the writes queued meanwhile, and returns once
    /// that transaction has committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result: Result<any Sendable, any Error> = await withCheckedContinuation { continuation in
            let pending = Pending(body: { db in try body(db) }, resume: { continuation.resume(returning: $0) })
            let start = queue.withLock { queue -> Bool in
                queue.pending.append(pending)
                guard !queue.committing else { return false }
                queue.committing = true
                return true
            }
            if start { commitNext() }
        }
        // The value is the one `body` returned: always a T.
        return try result.get() as! T
    }

    /// Commits the queued writes in one transaction on the writer's own queue, then the writes
    /// queued meanwhile, until none are left. The writer's completion starts the next batch on
    /// that queue: no task of the cooperative pool stands between a caller and its commit, so a
    /// write costs the caller's thread and the writer's, not a third (issue #13).
    private func commitNext() {
        let batch = queue.withLock { queue -> [Pending] in
            let batch = queue.pending
            queue.pending = []
            if batch.isEmpty { queue.committing = false }
            return batch
        }
        if batch.isEmpty { return }
        writer.asyncWrite({ db in
            try batch.map { pending -> Result<any Sendable, any Error> in
                var result: Result<any Sendable, any Error> = .failure(CancellationError())
                try db.inSavepoint {
                    do {
                        result = .success(try pending.body(db))
                        return .commit
                    } catch {
                        result = .failure(error)
                        return .rollback
                    }
                }
                return result
            }
        }, completion: { _, outcome in
            switch outcome {
            case .success(let results):
                for (pending, result) in zip(batch, results) { pending.resume(result) }
            case .failure(let error):
                // The transaction itself failed (the disk is full, the file is locked too long):
                // nothing of the batch committed.
                for pending in batch { pending.resume(.failure(error)) }
            }
            self.commitNext()
        })
    }
}
