import Foundation
import LetheApp
import LetheCore
import LetheHTTP
import LetheSandbox
import LetheTesting
import Synchronization
import Testing

/// The reference job and several workers on one PostgreSQL database, through the `lethe`
/// binary, against scim2-server tenants configured through the four example policies.
@Suite("lethe on PostgreSQL with several workers", .enabled(if: SCIM2ServerPeer.shouldRun && PostgresPeer.shouldRun), .serialized)
struct PostgresCLITests {
    let postgres: PostgresPeer
    let databaseURL: String
    let e2e: EngineCLITests

    init() throws {
        postgres = try PostgresPeer.running()
        databaseURL = try postgres.newDatabase("cli")
        e2e = try EngineCLITests(databaseURL: databaseURL)
    }

    func cleanUp() {
        e2e.cleanUp()
        postgres.dropDatabase(databaseURL)
    }

    /// Another worker's state directory: the deployment's key files, copied, and nothing else.
    func worker(_ name: String) throws -> CommandRunner {
        let directory = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("\(e2e.stateDir.lastPathComponent)-\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for key in ["pseudonym.key", "signing.key", "identifiers.key"] {
            try FileManager.default.copyItem(at: e2e.stateDir.appendingPathComponent(key), to: directory.appendingPathComponent(key))
        }
        return CommandRunner(environment: e2e.lethe.environment.merging(["LETHE_STATE_DIR": directory.path]) { $1 },
                             workingDirectory: EngineCLITests.root)
    }

    @Test("20 erasures and 10 withdrawals on PostgreSQL: the targets show the planned effects, the chain and a report verify, a dump holds no e-mail")
    func referenceScenario() async throws {
        defer { cleanUp() }
        let seeded = try await e2e.seeder.seed(34)
        let initialized = try await e2e.lethe.run(["init"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let ids = try await e2e.fileBatch(seeded.customers)
        #expect(Set(ids).count == 30)
        let run = try await e2e.lethe.run(["run", "--until-idle", "--timeout", "3m", "--json"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try run.decode(CLIJSON.Run.self).requests == 30)
        try await e2e.checkEffects(seeded)
        #expect(try await e2e.lethe.run(["audit", "verify"]).status == 0)

        let out = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let export = try await e2e.lethe.run(["report", "export", "--out", out.path])
        #expect(export.status == 0, "\(export.stderr)")
        let report = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        let verified = try await e2e.lethe.run(["report", "verify", out.appendingPathComponent(report).path])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")

        // The database alone, as a backup holds it: no subject's e-mail, open or purged.
        let dump = try postgres.dump(databaseURL)
        #expect(dump.count > 10_000)
        for customer in seeded.customers {
            #expect(dump.range(of: Data(customer.email.utf8)) == nil, "\(customer.email) is in the dump")
        }
        // The state directory holds only the keys and the checkpoints: no database file.
        #expect(!FileManager.default.fileExists(atPath: e2e.stateDir.appendingPathComponent("lethe.db").path))
    }

    @Test("a worker whose pseudonym key is not the deployment's is refused, and one without the keys is told to copy them")
    func keysMustMatch() async throws {
        defer { cleanUp() }
        #expect(try await e2e.lethe.run(["init"]).status == 0)
        let stranger = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("\(e2e.stateDir.lastPathComponent)-stranger")
        defer { try? FileManager.default.removeItem(at: stranger) }
        let own = try await e2e.lethe.run(["init"], extraEnvironment: ["LETHE_STATE_DIR": stranger.path])
        #expect(own.status == 66, "a worker without the deployment's identifiers key: \(own.stderr)")
        #expect(own.stderr.contains("copy the deployment's key files"))
        let copied = try worker("mismatch")
        try Data(repeating: 1, count: 32).write(to: URL(fileURLWithPath: copied.environment["LETHE_STATE_DIR"]! + "/pseudonym.key"))
        let refused = try await copied.run(["init"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("pseudonym.key") && refused.stderr.contains("same key files"))
        try? FileManager.default.removeItem(atPath: copied.environment["LETHE_STATE_DIR"]!)
    }

    @Test("three workers on one database, one killed with -9 mid-run: the others take its claims over and every request completes, verified")
    func workersShareAndSurviveAKill() async throws {
        defer { cleanUp() }
        let seeded = try await e2e.seeder.seed(34)
        #expect(try await e2e.lethe.run(["init"]).status == 0)
        let ids = try await e2e.fileBatch(seeded.customers)
        let second = try worker("b"), third = try worker("c")
        defer {
            for runner in [second, third] { try? FileManager.default.removeItem(atPath: runner.environment["LETHE_STATE_DIR"]!) }
        }
        for runner in [second, third] { #expect(try await runner.run(["init"]).status == 0) }
        let run = ["run", "--until-idle", "--timeout", "3m", "--lease", "2s"]
        let victim = try e2e.lethe.start(run)
        let b = try second.start(run)
        let c = try third.start(run)
        // Kill one worker once some work is done, then let the others finish.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let listed = (try? await e2e.lethe.run(["status", "--json", "--limit", "100"]).decode([RequestView].self)) ?? []
            if listed.flatMap(\.actions).filter({ $0.state == "succeeded" && $0.operation != "none" }).count >= 5 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        await CommandRunner.stop(victim)
        await CommandRunner.waitForExit(b)
        await CommandRunner.waitForExit(c)
        #expect(b.terminationStatus == 0 && c.terminationStatus == 0, "the surviving workers finish the work")

        let listed = try await e2e.lethe.run(["status", "--json", "--limit", "100"]).decode([RequestView].self)
        #expect(Set(listed.map(\.id)) == Set(ids), "no request lost")
        for request in listed {
            #expect(request.state == "completed", "\(request.id) is \(request.state)")
            for action in request.actions where action.operation != "none" {
                #expect(action.state == "succeeded" && action.verified == true)
            }
        }
        try await e2e.checkEffects(seeded)
        let verify = try await e2e.lethe.run(["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// The reference policies with every target paced at `rate` calls per second: a run that
    /// lasts long enough to be interrupted, or to be counted against a rate.
    func pacedPolicies(_ rate: String) throws -> URL {
        let policies = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: EngineCLITests.root.appendingPathComponent("policies"), to: policies)
        for file in try FileManager.default.contentsOfDirectory(atPath: policies.path) where file != "purposes.yaml" {
            let url = policies.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            let paced = text.replacingOccurrences(of: #"rate_limit: [0-9]+/s"#, with: "rate_limit: \(rate)", options: .regularExpression)
            #expect(paced != text, "\(file) names a rate_limit")
            try paced.write(to: url, atomically: true, encoding: .utf8)
        }
        return policies
    }

    @Test("PostgreSQL restarted mid-run: the run waits, reconnects and finishes by itself; nothing lost, every action verified")
    func databaseRestart() async throws {
        defer { cleanUp() }
        let seeded = try await e2e.seeder.seed(34)
        let policies = try pacedPolicies("10/s")
        defer { try? FileManager.default.removeItem(at: policies) }
        let env = ["LETHE_POLICIES": policies.path]
        #expect(try await e2e.lethe.run(["init"], extraEnvironment: env).status == 0)
        let ids = try await e2e.fileBatch(seeded.customers)
        let log = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("run-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let run = try e2e.lethe.start(["run", "--until-idle", "--timeout", "3m"], extraEnvironment: env, errorLog: log)
        let deadline = Date().addingTimeInterval(60)
        var done = 0
        while Date() < deadline {
            let listed = (try? await e2e.lethe.run(["status", "--json", "--limit", "100"], extraEnvironment: env).decode([RequestView].self)) ?? []
            done = listed.flatMap(\.actions).filter { $0.state == "succeeded" && $0.operation != "none" }.count
            if done >= 5 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try await postgres.restart(downFor: 3)
        await CommandRunner.waitForExit(run)
        let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(run.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("the database is away"), "the restart came before the end of the run")

        let listed = try await e2e.lethe.run(["status", "--json", "--limit", "100"], extraEnvironment: env).decode([RequestView].self)
        #expect(Set(listed.map(\.id)) == Set(ids), "no request lost")
        for request in listed {
            #expect(request.state == "completed", "\(request.id) is \(request.state)")
            for action in request.actions where action.operation != "none" {
                #expect(action.state == "succeeded" && action.verified == true)
            }
        }
        try await e2e.checkEffects(seeded)
        #expect(try await e2e.lethe.run(["audit", "verify"], extraEnvironment: env).status == 0)
    }

    @Test("two workers with rate_limit 5/s on every target: no target sees more than 5 calls in any second (6 at a window's edge)")
    func rateLimitHoldsAcrossWorkers() async throws {
        defer { cleanUp() }
        let targets = ["shop", "app", "newsletter", "crm"]
        let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: 12, randomSeed: 5))
        let hostile = HostileSCIM(sandbox)
        let calls = Mutex<[String: [Date]]>([:])
        hostile.add { request, _ in
            calls.withLock { $0[request.target, default: []].append(Date()) }
            return nil
        }
        let server = try await SandboxServer.start(handler: hostile, sandbox: sandbox)
        let policies = try pacedPolicies("5/s")
        defer { try? FileManager.default.removeItem(at: policies) }
        var env = ["LETHE_POLICIES": policies.path]
        for target in targets {
            env["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        #expect(try await e2e.lethe.run(["init"], extraEnvironment: env).status == 0)
        let second = try worker("paced")
        defer { try? FileManager.default.removeItem(atPath: second.environment["LETHE_STATE_DIR"]!) }
        #expect(try await second.run(["init"], extraEnvironment: env).status == 0)
        // Both workers first, so each knows the other (within one presence interval, 2 s) before any work.
        let a = try e2e.lethe.start(["run", "--timeout", "90s"], extraEnvironment: env)
        let b = try second.start(["run", "--timeout", "90s"], extraEnvironment: env)
        try await Task.sleep(nanoseconds: 4_500_000_000)
        var ids: [String] = []
        for i in 0..<12 {
            let filed = try await e2e.lethe.run(["erase", "--email", SandboxCustomers.email(i), "--ref", "PACE-\(i)"], extraEnvironment: env)
            #expect(filed.status == 0, "\(filed.stderr)")
            ids.append(filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let deadline = Date().addingTimeInterval(80)
        var finished = false
        while Date() < deadline, !finished {
            try await Task.sleep(nanoseconds: 500_000_000)
            let listed = (try? await e2e.lethe.run(["status", "--json", "--limit", "100"], extraEnvironment: env).decode([RequestView].self)) ?? []
            finished = listed.count == 12 && listed.allSatisfy { $0.state == "completed" }
        }
        await CommandRunner.stop(a, signal: SIGTERM)
        await CommandRunner.stop(b, signal: SIGTERM)
        await server.stop()
        #expect(finished, "every request completed")
        for (target, times) in calls.withLock({ $0 }) {
            let sorted = times.sorted()
            var most = 0
            for (i, start) in sorted.enumerated() {
                most = max(most, sorted[i...].prefix { $0.timeIntervalSince(start) < 1.0 }.count)
            }
            #expect(sorted.count >= 24, "\(target): enough calls to measure (\(sorted.count))")
            #expect(most <= 6, "\(target): \(most) calls within one second from two workers sharing 5/s")
        }
    }

    @Test("lethe db copy moves a SQLite directory's history into PostgreSQL: the chain's head is the same, an earlier report verifies, work goes on there")
    func copyFromSQLite() async throws {
        defer { cleanUp() }
        let sqlite = try EngineCLITests()
        defer { sqlite.cleanUp() }
        let seeded = try await sqlite.seeder.seed(34)
        #expect(try await sqlite.lethe.run(["init"]).status == 0)
        let ids = try await sqlite.fileBatch(seeded.customers)
        // Half done on SQLite: the rest is carried out after the move.
        let first = try await sqlite.lethe.run(["run", "--until-idle", "--timeout", "3m"])
        #expect(first.status == 0, "\(first.stderr)")
        let more = try await sqlite.lethe.run(["erase", "--email", seeded.customers[31].email, "--ref", "AFTER-1"])
        #expect(more.status == 0)
        let out = sqlite.stateDir.deletingLastPathComponent().appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try await sqlite.lethe.run(["report", "export", "--out", out.path]).status == 0)
        let report = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        let head = try await sqlite.lethe.run(["audit", "verify"]).stdout

        // --database and the copy's target at once is a mistake, said before anything happens.
        let both = try await sqlite.lethe.run(["db", "copy", "--to", databaseURL], extraEnvironment: ["LETHE_DATABASE_URL": databaseURL])
        #expect(both.status == 64, "\(both.stderr)")
        let copied = try await sqlite.lethe.run(["db", "copy", "--to", databaseURL])
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        #expect(copied.stdout.contains("audit chain verified in the copy"))
        let again = try await sqlite.lethe.run(["db", "copy", "--to", databaseURL])
        #expect(again.status == 65 && again.stderr.contains("empty database only"), "\(again.stderr)")

        // The same directory (its keys) now on PostgreSQL.
        let env = ["LETHE_DATABASE_URL": databaseURL]
        let verified = try await sqlite.lethe.run(["audit", "verify"], extraEnvironment: env)
        #expect(verified.status == 0 && verified.stdout == head, "the same chain, to its head:\n\(head)\n\(verified.stdout)")
        let earlier = try await sqlite.lethe.run(["report", "verify", out.appendingPathComponent(report).path], extraEnvironment: env)
        #expect(earlier.status == 0, "\(earlier.stdout)\(earlier.stderr)")
        let run = try await sqlite.lethe.run(["run", "--until-idle", "--timeout", "3m"], extraEnvironment: env)
        #expect(run.status == 0, "\(run.stderr)")
        let listed = try await sqlite.lethe.run(["status", "--json", "--limit", "100"], extraEnvironment: env).decode([RequestView].self)
        #expect(Set(listed.map(\.id)) == Set(ids).union([more.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]))
        #expect(listed.allSatisfy { $0.state == "completed" })
        #expect(try postgres.dump(databaseURL).range(of: Data(seeded.customers[31].email.utf8)) == nil)
    }

    /// The chaos test, bounded for CI (the issue's 2,000 erasures: `LETHE_CHAOS_REQUESTS=2000`).
    @Test("chaos: three workers and lethe serve on one database; erasures filed through the API while a random worker is killed with -9 and restarted every 2 s; all complete, verified, no account written twice at once")
    func chaos() async throws {
        defer { cleanUp() }
        let count = Int(ProcessInfo.processInfo.environment["LETHE_CHAOS_REQUESTS"] ?? "") ?? 200
        let targets = ["shop", "app", "newsletter", "crm"]
        let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: count, randomSeed: 9))
        let hostile = HostileSCIM(sandbox)
        // Every write to an account, with its time: two attempts acting on one account at once
        // would write it within moments of each other.
        let writes = Mutex<[String: [Date]]>([:])
        hostile.add { request, _ in
            if request.method != "GET", request.path.hasPrefix("/Users/") {
                writes.withLock { $0["\(request.target)\(request.path)", default: []].append(Date()) }
            }
            return nil
        }
        let server = try await SandboxServer.start(handler: hostile, sandbox: sandbox)
        var env: [String: String] = [:]
        for target in targets {
            env["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        #expect(try await e2e.lethe.run(["init"], extraEnvironment: env).status == 0)
        let token = try await e2e.lethe.run(["token", "create", "--name", "chaos desk", "--role", "officer"], extraEnvironment: env)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let workers = try ["w1", "w2", "w3"].map { try worker($0) }
        defer { for runner in workers { try? FileManager.default.removeItem(atPath: runner.environment["LETHE_STATE_DIR"]!) } }
        for runner in workers { #expect(try await runner.run(["init"], extraEnvironment: env).status == 0) }

        let log = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("serve-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let serve = try e2e.lethe.start(["serve", "--listen", "127.0.0.1:0"], extraEnvironment: env, errorLog: log)
        let base = try await ServeCLITests.address(of: serve, log: log)
        let run = ["run", "--lease", "2s", "--timeout", "5m"]
        var running = try workers.map { try $0.start(run, extraEnvironment: env) }
        let http = AsyncHTTPClientTransport()

        // Filing through the API, while the chaos runs.
        let filing = Task {
            var ids: [String] = []
            for i in 0..<count {
                let body = ServeCLITests.erasure(SandboxCustomers.email(i), ref: "CHAOS-\(i)")
                let response = try await http.send(HTTPRequest(method: .post, url: base + "/api/v1/requests",
                                                               headers: [HTTPHeader("Authorization", "Bearer \(token)"), HTTPHeader("Content-Type", "application/json")],
                                                               body: Data(body.utf8)))
                guard response.status == 201 || response.status == 200, let id = JSONValue.parse(response.body)?["id"]?.stringValue else {
                    throw PostgresPeer.Failed(description: "filing \(i) answered \(response.status)")
                }
                ids.append(id)
            }
            return ids
        }
        var kills = 0
        var completed = false
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline, !completed {
            try await Task.sleep(nanoseconds: 2_000_000_000)
            let victim = Int.random(in: 0..<running.count)
            await CommandRunner.stop(running[victim])
            kills += 1
            running[victim] = try workers[victim].start(run, extraEnvironment: env)
            if kills % 3 == 0 {
                let listed = (try? await e2e.lethe.run(["status", "--json", "--limit", "\(count + 10)"], extraEnvironment: env).decode([RequestView].self)) ?? []
                completed = listed.count == count && listed.allSatisfy { $0.state == "completed" }
            }
        }
        let ids = try await filing.value
        for process in running { await CommandRunner.stop(process, signal: SIGTERM) }
        await CommandRunner.stop(serve, signal: SIGTERM)
        await http.shutdown()
        await server.stop()

        #expect(completed, "every request completed within the time")
        #expect(kills >= 3, "workers were killed during the work (\(kills))")
        let listed = try await e2e.lethe.run(["status", "--json", "--limit", "\(count + 10)"], extraEnvironment: env).decode([RequestView].self)
        #expect(Set(listed.map(\.id)) == Set(ids), "no request lost")
        for request in listed {
            #expect(request.state == "completed")
            for action in request.actions where action.operation != "none" {
                #expect(action.state == "succeeded" && action.verified == true, "\(request.id) \(action.target)")
            }
        }
        for (account, times) in writes.withLock({ $0 }) {
            let sorted = times.sorted()
            for (earlier, later) in zip(sorted, sorted.dropFirst()) {
                #expect(later.timeIntervalSince(earlier) > 0.5, "\(account) was written twice within \(later.timeIntervalSince(earlier)) s")
            }
        }
        let verify = try await e2e.lethe.run(["audit", "verify"], extraEnvironment: env)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let out = e2e.stateDir.deletingLastPathComponent().appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try await e2e.lethe.run(["report", "export", "--out", out.path], extraEnvironment: env).status == 0)
        let report = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        #expect(try await e2e.lethe.run(["report", "verify", out.appendingPathComponent(report).path], extraEnvironment: env).status == 0)
        let dump = try postgres.dump(databaseURL)
        for i in 0..<count { #expect(dump.range(of: Data(SandboxCustomers.email(i).utf8)) == nil) }
    }
}
