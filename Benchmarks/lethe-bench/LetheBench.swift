import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStore

/// Benchmarks that exercise Lethe's libraries at scale. See Benchmarks/README.md.
@main
struct LetheBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lethe-bench",
        abstract: "Lethe benchmarks: measured, not timed in tests.",
        subcommands: [ReportsBench.self]
    )
}

/// Files N requests, completes every action in the store, then exports and verifies a signed report.
struct ReportsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Export and verify a signed period report over N requests."
    )

    @Option(help: "Number of requests (3 erasures for every withdrawal).")
    var requests = 10_000

    @Option(help: "Policy directory.")
    var policies = "policies"

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = StateDirectory(path: scratch.appendingPathComponent("state").path)
        try state.initialize()
        let database = try state.openDatabase()
        let policySet = try PolicyDirectory.load(policies, environment: [:]).get()
        let intake = Intake(database: database, policies: policySet, pseudonymizer: try state.pseudonymizer())
        let received = CalendarDate(iso: "2026-11-02")!

        var clock = ContinuousClock.now
        var batch: [NewRequest] = []
        for i in 0..<requests {
            let kind: RequestKind = i % 4 == 3 ? .revocation(purposes: ["marketing"]) : .erasure
            batch.append(try intake.prepare(Intake.Submission(
                kind: kind, subject: SubjectIdentifiers(email: "bench\(i)@example.com"), ref: "BENCH-\(i)", received: received),
                today: received))
            if batch.count == 1000 || i == requests - 1 {
                _ = try database.file(batch: batch, now: Date())
                batch.removeAll()
            }
        }
        let filed = ContinuousClock.now - clock
        clock = ContinuousClock.now
        var completed = 0
        for target in policySet.targetNames {
            while true {
                let claimed = try database.claim(target: target, limit: 1000, runner: "bench", now: Date())
                if claimed.isEmpty { break }
                for action in claimed {
                    let outcome: ActionOutcome = action.action.plan.operation == .delete ? .deleted : .anonymized
                    try database.record(
                        AttemptReport(actionId: action.action.id, number: action.attempt, startedAt: Date(), finishedAt: Date(), result: "succeeded"),
                        transition: ActionStateMachine.afterAttempt(.succeeded(outcome, verification: "benchmark"), attemptsUsed: 1,
                                                                    policy: RetryPolicy(RetrySettings()), random: 0),
                        now: Date())
                    completed += 1
                }
            }
        }
        let settled = ContinuousClock.now - clock
        let events = try database.verifyAuditChain().events

        clock = ContinuousClock.now
        let service = ReportService(state: state, database: database, policies: policySet)
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path)
        let exported = ContinuousClock.now - clock

        clock = ContinuousClock.now
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json))
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        let result = try ReportVerifier.verify(json: json, signature: signature, publicKey: try state.signer().publicKey, database: database)
        let verified = ContinuousClock.now - clock
        guard result.isValid else { throw ValidationError("the report did not verify: \(result.problem ?? "")") }

        print("requests:            \(written.requests) (\(completed) actions completed, \(events) audit events)")
        print("setup: filing        \(filed)")
        print("setup: completing    \(settled)")
        print("export (json+sig+csv+html): \(exported)   json \(json.count / 1024) KiB")
        print("verify (signature + canonical form + audit chain): \(verified)")
    }
}
