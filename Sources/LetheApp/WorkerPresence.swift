import Foundation
import LetheCore
import LetheHTTP
import LetheStorage
import Logging
import ServiceLifecycle

/// A worker's presence on a shared store: a job lease named `worker/ID` renewed every
/// `interval`, and the count of live ones, which each target's `rate_limit` is divided by
/// (`PaceShare`), so the workers together keep it. A worker that stops cleanly leaves at once;
/// one that dies is counted until its lease (`interval` × 5) runs out, and meanwhile the others
/// only go slower than allowed, never faster. A worker that joins is known to the others
/// within one `interval`: the window in which a limit can be exceeded (at most by the new
/// worker's share).
struct WorkerPresence: Service {
    let store: any JobLeases
    let pace: PaceShare
    let clock: any LetheClock
    var interval: Double = 2
    let id = "worker/" + UUID().uuidString.lowercased()
    let logger = Logger(label: "lethe.presence")

    func run() async throws {
        defer { try? store.releaseJob(id, holder: id) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = clock.now()
            do {
                _ = try store.acquireJob(id, holder: id, until: now.addingTimeInterval(interval * 5), now: now)
                let workers = try store.jobHolders(prefix: "worker/", now: now)
                if workers != pace.count { logger.notice("workers sharing the targets' rate limits", metadata: ["workers": "\(workers)"]) }
                pace.set(workers)
            } catch {
                // The database away: keep the last count (the engine waits for it meanwhile).
                logger.debug("presence not renewed", metadata: ["why": "\(error)"])
            }
            try? await gracefulShutdown(for: interval)
        }
    }

    private func gracefulShutdown(for seconds: Double) async throws {
        try await withGracefulShutdownHandler {
            try await clock.sleep(seconds: seconds)
        } onGracefulShutdown: {}
    }
}
