import ArgumentParser
import Foundation
import GRDB
import LetheApp
import LetheCore
import LetheReports
import LetheSandbox
import LetheTesting
import LetheStorage
import LetheStore

/// Benchmarks that exercise Lethe's libraries at scale. See Benchmarks/README.md.
@main
struct LetheBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lethe-bench",
        abstract: "Lethe benchmarks: measured, not timed in tests.",
        subcommands: [ReportsBench.self, LedgerGenerator.self, JSONBench.self, ClaimsBench.self, EngineSeed.self, EngineFile.self, EngineCount.self]
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

    @Option(help: ArgumentHelp("Keep the state directory here; when it already holds a filled one, skip the set-up and measure export and verify again.",
                               valueName: "dir"))
    var state: String?

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = StateDirectory(path: self.state ?? scratch.appendingPathComponent("state").path)
        let reuse = state.isInitialized
        if !reuse { try state.initialize() }
        let database = try state.openSQLite()
        let policySet = try PolicyDirectory.load(policies, environment: [:]).get()
        let received = CalendarDate(iso: "2026-11-02")!
        var filed = Duration.zero, settled = Duration.zero, completed = 0
        if !reuse {
            (filed, settled, completed) = try await setUp(state: state, database: database, policySet: policySet, received: received)
        }
        let events = try database.verifyAuditChain().events

        var clock = ContinuousClock.now
        let service = ReportService(state: state, database: database, policies: policySet)
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path)
        let exported = ContinuousClock.now - clock

        clock = ContinuousClock.now
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json), options: .alwaysMapped)
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        let result = try ReportVerifier.verify(json: json, signature: signature, publicKey: try state.signer().publicKey, database: database)
        let verified = ContinuousClock.now - clock
        guard result.isValid else { throw ValidationError("the report did not verify: \(result.problem ?? "")") }

        print("requests:            \(written.requests) (\(reuse ? "set up before" : "\(completed) actions completed"), \(events) audit events)")
        if !reuse {
            print("setup: filing        \(filed)")
            print("setup: completing    \(settled)")
        }
        print("export (json+sig+csv+html): \(exported)   json \(json.count / 1024) KiB")
        print("verify (signature + canonical form + audit chain): \(verified)")
    }

    func setUp(state: StateDirectory, database: AppDatabase, policySet: PolicySet, received: CalendarDate) async throws -> (Duration, Duration, Int) {
        let intake = Intake(database: database, policies: policySet, pseudonymizer: try state.pseudonymizer())
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
                // Recorded concurrently, as the engine's actions are: the results share commits.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for action in claimed {
                        group.addTask {
                            let outcome: ActionOutcome = action.action.plan.operation == .delete ? .deleted : .anonymized
                            try await database.record(
                                AttemptReport(actionId: action.action.id, number: action.attempt, startedAt: Date(), finishedAt: Date(), result: .succeeded),
                                transition: ActionStateMachine.afterAttempt(.succeeded(outcome, verification: "benchmark"), attemptsUsed: 1,
                                                                            policy: RetryPolicy(RetrySettings()), random: 0),
                                now: Date())
                        }
                    }
                    try await group.waitForAll()
                }
                completed += claimed.count
            }
        }
        let settled = ContinuousClock.now - clock
        return (filed, settled, completed)
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

/// Lethe's strict JSON parser against Foundation's JSONSerialization and JSONDecoder, on a SCIM
/// list answer of N users (the largest JSON Lethe reads from targets) and on a signed report.
struct JSONBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Parse a large SCIM list answer with Lethe's parser, JSONSerialization and JSONDecoder."
    )

    @Option(help: "Users in the list answer.")
    var users = 20_000

    @Option(help: "Parses per parser (the best is reported).")
    var rounds = 5

    /// A JSONDecoder target that accepts any JSON, as Lethe needs (SCIM resources have open schemas).
    enum AnyJSON: Decodable {
        case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) } else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([AnyJSON].self) { self = .array(a) } else { self = .object(try c.decode([String: AnyJSON].self)) }
        }
    }

    func run() throws {
        var resources: [JSONValue] = []
        for i in 0..<users {
            resources.append(.object([
                "schemas": .array([.string("urn:ietf:params:scim:schemas:core:2.0:User")]),
                "id": .string("2819c223-7f76-453a-919d-\(String(format: "%012d", i))"),
                "userName": .string("customer\(i)@example.com"), "externalId": .string("C-\(i)"), "active": .bool(true),
                "name": .object(["givenName": .string("Given \(i)"), "familyName": .string("Family \(i)")]),
                "emails": .array([.object(["value": .string("customer\(i)@example.com"), "type": .string("work"), "primary": .bool(true)])]),
                "meta": .object(["resourceType": .string("User"), "version": .string("W/\"\(i)\""), "created": .string("2026-11-29T10:00:00Z")]),
            ]))
        }
        let data = CanonicalJSON.encode(.object([
            "schemas": .array([.string("urn:ietf:params:scim:api:messages:2.0:ListResponse")]),
            "totalResults": .number(Double(users)), "itemsPerPage": .number(Double(users)), "startIndex": .number(1),
            "Resources": .array(resources),
        ]))
        func best(_ name: String, _ parse: () throws -> Void) rethrows {
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                try parse()
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            let fastest = times.min() ?? 0
            print("\(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%7.1f", fastest * 1000)) ms  \(String(format: "%6.1f", Double(data.count) / fastest / 1_048_576)) MiB/s")
        }
        print("SCIM list answer: \(users) users, \(data.count / 1024) KiB; best of \(rounds)")
        try best("Lethe JSONValue.parsing (strict)") { _ = try JSONValue.parsing(data) }
        try best("Foundation JSONSerialization") { _ = try JSONSerialization.jsonObject(with: data) }
        try best("Foundation JSONDecoder (any JSON)") { _ = try JSONDecoder().decode(AnyJSON.self, from: data) }
    }
}

/// The engine's claim with years of scheduled follow-ups waiting (the end of legal retentions):
/// N scheduled rows far in the future, a few due actions, and the time of the queries the
/// engine runs on every loop.
struct ClaimsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claims",
        abstract: "Time the engine's claim queries with N scheduled follow-ups in the database."
    )

    @Option(help: "Scheduled follow-ups (one request each).")
    var scheduled = 100_000

    @Option(help: "Claims to time.")
    var rounds = 200

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = StateDirectory(path: scratch.appendingPathComponent("state").path)
        try state.initialize()
        _ = try state.openSQLite()
        // Rows straight into the file (the schema is Lethe's own, migrated above).
        let queue = try DatabaseQueue(path: state.databasePath)
        let plan = #"{"target":"shop","operation":"remove_attributes","attributes":[],"groups":[],"retained":[],"reason":"bench"}"#
        let start = ContinuousClock.now
        try await queue.write { db in
            for i in 0..<scheduled {
                let id = "req-bench\(i)"
                try db.execute(sql: """
                    INSERT INTO request (id, kind, purposes, pseudonym, received, due, created_at, state)
                    VALUES (?, 'erasure', '[]', 'psn', '2026-11-01', '2026-12-01', 0, 'completed')
                    """, arguments: [id])
                try db.execute(sql: """
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, outcome)
                    VALUES (?, 'shop', ?, 'anonymize', 'succeeded', 0, 'anonymized')
                    """, arguments: [id, plan])
                let due = CalendarDate(iso: "2036-11-01")!.adding(days: i % 3650)
                try db.execute(sql: """
                    INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, account_ref, follows, not_before)
                    VALUES (?, 'shop', ?, 'remove_attributes', 'scheduled', ?, 'u', last_insert_rowid(), ?)
                    """, arguments: [id, plan, due.secondsSince1970AtMidnightUTC, due.description])
            }
        }
        try queue.close()
        print("seeded \(scheduled) scheduled follow-ups in \(ContinuousClock.now - start)")
        let database = try state.openSQLite()
        var claims: [Duration] = [], lookups: [Duration] = []
        for _ in 0..<rounds {
            let t0 = ContinuousClock.now
            _ = try database.targetsWithDueWork(now: Date(), among: ["app", "crm", "newsletter", "shop"])
            let t1 = ContinuousClock.now
            _ = try await database.claim(target: "shop", limit: 16, runner: "bench", now: Date())
            let t2 = ContinuousClock.now
            lookups.append(t1 - t0)
            claims.append(t2 - t1)
        }
        func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
        print("targetsWithDueWork: median \(median(lookups)), max \(lookups.max()!)")
        print("claim (nothing due, synchronous=FULL): median \(median(claims)), max \(claims.max()!)")
    }
}

/// Files the engine benchmark's requests into an initialised state directory, the way intake
/// does (one transaction per 1,000): erasures, and withdrawals of newsletter and marketing,
/// for the sandbox's seeded customers (`lethe sandbox --seed N`).
struct EngineFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine-file",
        abstract: "File N erasures and withdrawals of the sandbox's customers into a state directory (see Benchmarks/run-engine.sh)."
    )

    @Option(help: "State directory (created by lethe init).")
    var state: String

    @Option(help: "Policy directory.")
    var policies = "policies"

    @Option(help: "Requests: of every 4, 2 erasures, 1 newsletter and 1 marketing withdrawal.")
    var requests = 20_000

    @Flag(help: "The subjects are those engine-seed created in scim2-server tenants, not the sandbox's customers.")
    var seeded = false

    func run() async throws {
        // SQLite in the directory, or the PostgreSQL database of LETHE_DATABASE_URL (run-workers.sh).
        let directory = StateDirectory(path: state, databaseURL: ProcessInfo.processInfo.environment["LETHE_DATABASE_URL"])
        let database = try directory.openDatabase()
        let policySet = try PolicyDirectory.load(policies, environment: [:]).get()
        let intake = Intake(database: database, policies: policySet, pseudonymizer: try directory.pseudonymizer())
        let received = CalendarDate(iso: "2026-11-29")!
        var batch: [NewRequest] = []
        for i in 0..<requests {
            let kind: RequestKind = switch i % 4 {
            case 1: .revocation(purposes: ["newsletter"])
            case 3: .revocation(purposes: ["marketing"])
            default: .erasure
            }
            batch.append(try intake.prepare(Intake.Submission(
                kind: kind, subject: SubjectIdentifiers(email: seeded ? Seeder.email(i) : SandboxCustomers.email(i)), ref: "BENCH-\(i)", received: received),
                today: received))
            if batch.count == 1000 || i == requests - 1 {
                _ = try database.file(batch: batch, now: Date())
                batch.removeAll()
            }
        }
        print("filed \(requests) requests, \(try database.openWork().count) actions to carry out")
    }
}

/// Seeds N customers into the four scim2-server tenants named by LETHE_*_URL (for
/// `LETHE_BENCH_PEER=scim2 Benchmarks/run-engine.sh`).
struct EngineSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine-seed", abstract: "Seed N customers into the tenants of LETHE_*_URL.")

    @Option(help: "Customers.")
    var customers = 2_000

    @Option(help: "Bearer token.")
    var token: String

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var tenants: [String: SCIMTenant] = [:]
        for target in ["shop", "app", "newsletter", "crm"] {
            guard let url = env["LETHE_\(target.uppercased())_URL"] else { throw ValidationError("LETHE_\(target.uppercased())_URL is not set") }
            tenants[target] = SCIMTenant(baseURL: url, token: token)
        }
        let seeded = try await Seeder(tenants: tenants).seed(customers)
        print("seeded \(seeded.customers.count) customers")
    }
}

/// After the run: actions by state and outcome, as the benchmark's denominator.
struct EngineCount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine-count", abstract: "Count the actions of a state directory by state.")

    @Option(help: "State directory.")
    var state: String

    func run() async throws {
        let queue = try DatabaseQueue(path: StateDirectory(path: state).databasePath)
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM action WHERE operation <> 'none' GROUP BY state ORDER BY state")
        }
        let done = rows.filter { ($0["state"] as String) == "succeeded" }.map { $0["n"] as Int }.reduce(0, +)
        print("done=\(done) " + rows.map { "\($0["state"] as String)=\($0["n"] as Int)" }.joined(separator: " "))
    }
}
