import Foundation
import LetheApp
import LetheCore
import LetheTesting
import Testing

@Suite("lethe sweep, as cron runs it", .enabled(if: SCIM2ServerPeer.shouldRun), .serialized)
struct SweepCLITests {
    static let root = Repository.root

    @Test("a ledger swept with --run: marketing and newsletter withdrawals take effect, everyone else is untouched")
    func sweepAndRun() async throws {
        let peer = try SCIM2ServerPeer.running()
        let seeder = Seeder(tenants: Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) }))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sweep-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var env = seeder.environment(token: peer.token)
        env["LETHE_STATE_DIR"] = scratch.appendingPathComponent("state").path
        let lethe = CommandRunner(environment: env, workingDirectory: Self.root)
        let seeded = try await seeder.seed(8)
        let c = seeded.customers
        #expect(try await lethe.run(["init"]).status == 0)

        var rows = ["subject_email,purpose,status,changed_at"]
        for customer in c { rows.append("\(customer.email),marketing,granted,2026-10-01") }
        rows += [
            "\(c[0].email),marketing,revoked,2026-11-02T08:00:00Z",
            "\(c[1].email),marketing,revoked,2026-11-03",
            "\(c[2].email),newsletter,revoked,2026-11-03",
            "\(c[3].email),newsletter,revoked,2026-11-04",
            "\(c[3].email),marketing,revoked,2026-11-04",
            "\(c[4].email),marketing,revoked,2026-11-01",
            "\(c[4].email),marketing,granted,2026-11-05",
            "\(c[5].email),loyalty,revoked,2026-11-05",
        ]
        let ledger = scratch.appendingPathComponent("consent.csv")
        try rows.joined(separator: "\n").write(to: ledger, atomically: true, encoding: .utf8)

        let dry = try await lethe.run(["sweep", "--ledger", ledger.path, "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would file 4 withdrawals") && dry.stdout.contains("nothing was changed"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("@example.com"))

        let swept = try await lethe.run(["sweep", "--ledger", ledger.path, "--run", "--timeout", "2m", "--json"])
        #expect(swept.status == 0, "\(swept.stdout)\(swept.stderr)")
        let summary = try swept.decode(CLIJSON.Sweep.self)
        #expect(summary.revocationsFiled == 4 && summary.regrants == 1)
        #expect(summary.ignoredPurposes == ["loyalty": 1])

        let crm = seeder.tenants["crm"]!, newsletter = seeder.tenants["newsletter"]!
        let promotions = try await crm.members(ofGroup: seeded.promotionsGroup)
        let subscribers = try await newsletter.members(ofGroup: seeded.newsletterGroup)
        for (i, customer) in c.enumerated() {
            let crmUser = try #require(try await crm.user(customer.ids["crm"]!))
            let revokedMarketing = [0, 1, 3].contains(i)
            let revokedNewsletter = [2, 3].contains(i)
            #expect((crmUser[SCIMSchemas.gdprUser]?["marketingSegment"] == nil) == revokedMarketing, "customer \(i) segment")
            #expect(promotions.contains(customer.ids["crm"]!) == !revokedMarketing, "customer \(i) Promotions")
            #expect(crmUser["emails"]?.arrayValue?.first?["value"]?.stringValue == customer.email, "customer \(i): the crm account stays")
            #expect((try await newsletter.user(customer.ids["newsletter"]!) == nil) == revokedNewsletter, "customer \(i) newsletter")
            #expect(subscribers.contains(customer.ids["newsletter"]!) == !revokedNewsletter)
            #expect(try await seeder.tenants["shop"]!.user(customer.ids["shop"]!)?["emails"] != nil, "shop untouched")
        }

        // The same ledger again files nothing.
        let again = try await lethe.run(["sweep", "--ledger", ledger.path, "--json"])
        let second = try again.decode(CLIJSON.Sweep.self)
        #expect(second.revocationsFiled == 0 && second.alreadyFiled == 5)
    }

    @Test("a sweep killed while filing leaves whole batches; the next sweep files exactly the rest")
    func killedSweep() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sweep-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: ["LETHE_STATE": scratch.appendingPathComponent("state").path], workingDirectory: Self.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let count = 4000
        var ledger = "subject_email,purpose,status,changed_at\n"
        for i in 0..<count { ledger += "k\(i)@example.com,marketing,revoked,2026-11-0\(i % 9 + 1)\n" }
        let path = scratch.appendingPathComponent("ledger.csv")
        try ledger.write(to: path, atomically: true, encoding: .utf8)

        let reason = try await lethe.withStarted(["sweep", "--ledger", path.path, "--batch-size", "500"]) { first in
            var filed = 0
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, first.isRunning, filed == 0 {
                filed = (try? await lethe.run(["status", "--json", "--limit", "1"]).decode([RequestView].self))?.count ?? 0
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            await CommandRunner.stop(first)
            return first.terminationReason
        }
        #expect(reason == .uncaughtSignal, "killed part-way, not after it finished")

        let second = try await lethe.run(["sweep", "--ledger", path.path, "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let summary = try second.decode(CLIJSON.Sweep.self)
        let filedNow = summary.revocationsFiled
        let before = summary.alreadyFiled
        #expect(filedNow + before == count, "every withdrawal filed exactly once")
        #expect(before > 0 && before % 500 == 0, "the killed sweep left whole batches of 500 (\(before))")
        let all = try await lethe.run(["status", "--json", "--limit", "100000"]).decode([RequestView].self)
        #expect(all.count == count, "no request lost, none filed twice")
        #expect(try await lethe.run(["audit", "verify"]).status == 0)
    }

    @Test("a malformed ledger exits 65 naming lines and fields; a second concurrent sweep exits 75")
    func badLedgerAndLock() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sweep-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: ["LETHE_STATE": scratch.appendingPathComponent("state").path], workingDirectory: Self.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let bad = scratch.appendingPathComponent("bad.csv")
        try "subject_email,purpose,status,changed_at\nana@example.com,marketing,revoked,2026-11-01\nbo@example,marketing,revokd,2026-11-01\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let result = try await lethe.run(["sweep", "--ledger", bad.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("line 3, field"), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was filed"))
        #expect(try await lethe.run(["status"]).stdout.contains("no requests"))

        // A big ledger keeps the first sweep busy while the second one starts.
        var big = "subject_email,purpose,status,changed_at\n"
        for i in 0..<200_000 { big += "s\(i)@example.com,loyalty,granted,2026-11-01\n" }
        let bigPath = scratch.appendingPathComponent("big.csv")
        try big.write(to: bigPath, atomically: true, encoding: .utf8)
        let (locked, firstStatus) = try await lethe.withStarted(["sweep", "--ledger", bigPath.path, "--dry-run"]) { first in
            // Wait until the first sweep holds the lock (it writes its pid into the lock file).
            let lockFile = scratch.appendingPathComponent("state/sweep.lock")
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, first.isRunning,
                  (try? String(contentsOf: lockFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) != "\(first.processIdentifier)" {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            #expect(first.isRunning, "the first sweep ended before the second could start")
            let locked = try await lethe.run(["sweep", "--ledger", bad.path, "--skip-invalid"])
            await CommandRunner.waitForExit(first)
            return (locked, first.terminationStatus)
        }
        #expect(firstStatus == 0)
        #expect(locked.status == 75)
        #expect(locked.stderr.contains("another sweep"))
    }
}
