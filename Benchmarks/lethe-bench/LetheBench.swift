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
        subcommands: [ReportsBench.self, LedgerGenerator.self]
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
                let claimed = try await database.claim(target: target, limit: 1000, runner: "bench", now: Date())
                if claimed.isEmpty { break }
                for action in claimed {
                    let outcome: ActionOutcome = action.action.plan.operation == .delete ? .deleted : .anonymized
                    try await database.record(
                        AttemptReport(actionId: action.action.id, number: action.attempt, startedAt: Date(), finishedAt: Date(), result: .succeeded),
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

/// Writes a synthetic consent ledger for the sweep benchmark.
struct LedgerGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Write a synthetic consent ledger: N rows, four per subject, about a third of them withdrawals."
    )

    @Option(help: "Rows to write.")
    var rows = 1_000_000

    @Option(help: "Output file.")
    var out: String

    @Option(help: "csv or jsonl.")
    var format = "csv"

    @Option(help: "Seed, so the same command writes the same file.")
    var seed: UInt64 = 42

    func run() throws {
        guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
            throw ValidationError("cannot write \(out)")
        }
        var rng = SeededRandom(seed: seed)
        let purposes = ["marketing", "newsletter", "loyalty", "analytics"]
        let statuses = ["granted", "granted", "revoked", "expired"]
        var chunk = format == "csv" ? "subject_email,purpose,status,changed_at,external_id,expires_at\n" : ""
        for i in 0..<rows {
            let subject = i / 4
            let purpose = purposes[i % 4]
            let status = statuses[Int(rng.next() % 4)]
            let day = 1 + Int(rng.next() % 28)
            let changed = "2026-10-\(day < 10 ? "0" : "")\(day)T\(10 + Int(rng.next() % 10)):00:00Z"
            let expires = status == "granted" && rng.next() % 5 == 0 ? "2026-11-15" : ""
            let email = "subject\(subject)@example.com"
            if format == "csv" {
                chunk += "\(email),\(purpose),\(status),\(changed),EXT-\(subject),\(expires)\n"
            } else {
                chunk += "{\"subject_email\":\"\(email)\",\"purpose\":\"\(purpose)\",\"status\":\"\(status)\",\"changed_at\":\"\(changed)\",\"external_id\":\"EXT-\(subject)\""
                    + (expires.isEmpty ? "" : ",\"expires_at\":\"\(expires)\"") + "}\n"
            }
            if chunk.utf8.count > 1 << 20 {
                handle.write(Data(chunk.utf8))
                chunk = ""
            }
        }
        handle.write(Data(chunk.utf8))
        try handle.close()
    }
}
