import Foundation
import LetheApp
import LetheStorage
import Logging
import ServiceLifecycle

/// Signs a checkpoint of the audit log on a schedule while `lethe serve` runs, when the log
/// has grown: once per deployment (the `checkpoints` job), whichever replica holds it. The
/// run's end signs one too (`Runtime.runEngine`).
final class CheckpointSchedule: Service, Sendable {
    let audit: AuditVerification
    let jobs: any JobLeases
    let interval: Duration
    let exclusive: Bool
    let holder = "checkpoints-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    let logger = Logger(label: "lethe.checkpoints")

    init(audit: AuditVerification, jobs: any JobLeases, interval: Duration, exclusive: Bool) {
        self.audit = audit
        self.jobs = jobs
        self.interval = interval
        self.exclusive = exclusive
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var first = true
            let seconds = Double(self.interval.components.seconds) + Double(self.interval.components.attoseconds) / 1e18
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                guard !Task.isCancelled else { break }
                do {
                    let now = self.audit.clock.now()
                    // Held a little longer than the interval, so the holder keeps it from one round to the next.
                    guard try self.jobs.acquireJob("checkpoints", holder: self.holder, until: now.addingTimeInterval(seconds * 2 + 1),
                                                   now: first && self.exclusive ? .distantFuture : now) else { continue }
                    first = false
                    if let signed = try self.audit.checkpointIfGrown() {
                        self.logger.info("checkpoint signed", metadata: ["seq": "\(signed.seq)"])
                    }
                } catch {
                    self.logger.warning("no checkpoint signed: \(error)")
                }
            }
        }
        try? jobs.releaseJob("checkpoints", holder: holder)
    }
}
