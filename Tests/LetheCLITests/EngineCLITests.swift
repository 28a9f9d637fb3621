import Foundation
import LetheApp
import LetheCore
import LetheTesting
import Testing

/// The whole job through the `lethe` binary, against scim2-server tenants configured through
/// the four example policies.
@Suite("lethe erase/revoke/run/status end to end", .enabled(if: SCIM2ServerPeer.shouldRun), .serialized)
struct EngineCLITests {
    static let root = Repository.root
    let peer: SCIM2ServerPeer
    let seeder: Seeder
    let stateDir: URL
    let lethe: CommandRunner

    init() throws { try self.init(databaseURL: nil) }

    /// Over SQLite in the state directory, or (with `databaseURL`) over a PostgreSQL database.
    init(databaseURL: String?) throws {
        let peer = try SCIM2ServerPeer.running()
        self.peer = peer
        let seeder = Seeder(tenants: Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) }))
        self.seeder = seeder
        stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-e2e-\(UUID().uuidString)")
        var env = seeder.environment(token: peer.token)
        env["LETHE_STATE_DIR"] = stateDir.path
        if let databaseURL { env["LETHE_DATABASE_URL"] = databaseURL }
        lethe = CommandRunner(environment: env, workingDirectory: Self.root)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: stateDir) }


    /// Files 20 erasures and 10 withdrawals (5 marketing, 5 newsletter) of seeded customers.
    func fileBatch(_ customers: [Seeder.Customer]) async throws -> [String] {
        var ids: [String] = []
        for (i, customer) in customers.prefix(20).enumerated() {
            let result = try await lethe.run(["erase", "--email", customer.email, "--ref", "ER-\(i)", "--requested-by", "dpo"])
            #expect(result.status == 0, "\(result.stderr)")
            ids.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for (i, customer) in customers.dropFirst(20).prefix(10).enumerated() {
            let purpose = i < 5 ? "marketing" : "newsletter"
            let result = try await lethe.run(["revoke", "--email", customer.email, "--purpose", purpose, "--ref", "RV-\(i)"])
            #expect(result.status == 0, "\(result.stderr)")
            ids.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return ids
    }

    /// What the raw SCIM reads must show after the batch.
    func checkEffects(_ seeded: Seeder.Seeded) async throws {
        let t = seeder.tenants
        let newsletterMembers = try await t["newsletter"]!.members(ofGroup: seeded.newsletterGroup)
        let promotionsMembers = try await t["crm"]!.members(ofGroup: seeded.promotionsGroup)
        for (i, c) in seeded.customers.enumerated() {
            let shop = try await t["shop"]!.user(c.ids["shop"]!)
            let app = try await t["app"]!.user(c.ids["app"]!)
            let newsletter = try await t["newsletter"]!.user(c.ids["newsletter"]!)
            let crm = try await t["crm"]!.user(c.ids["crm"]!)
            switch i {
            case 0..<20:  // erased
                #expect(app == nil && newsletter == nil, "customer \(i)")
                #expect(shop?["addresses"]?.arrayValue?.count == 1 && shop?["emails"] == nil && shop?["name"]?["familyName"] == nil)
                #expect(crm?["name"]?["familyName"]?.stringValue == "[redacted]" && crm?["emails"] == nil && crm?["locale"] == nil)
                #expect(crm?[SCIMSchemas.gdprUser]?["marketingSegment"] == nil)
                #expect(!newsletterMembers.contains(c.ids["newsletter"]!) && !promotionsMembers.contains(c.ids["crm"]!))
            case 20..<25:  // marketing withdrawn
                #expect(crm?[SCIMSchemas.gdprUser]?["marketingSegment"] == nil && !promotionsMembers.contains(c.ids["crm"]!))
                #expect(crm?["emails"]?.arrayValue?.first?["value"]?.stringValue == c.email, "the account stays")
                #expect(newsletter != nil && newsletterMembers.contains(c.ids["newsletter"]!))
            case 25..<30:  // newsletter withdrawn
                #expect(newsletter == nil && !newsletterMembers.contains(c.ids["newsletter"]!))
                #expect(crm?[SCIMSchemas.gdprUser]?["marketingSegment"] != nil && promotionsMembers.contains(c.ids["crm"]!))
            default:  // never asked about: untouched
                #expect(shop?["emails"]?.arrayValue?.first?["value"]?.stringValue == c.email)
                #expect(app?["externalId"]?.stringValue == c.externalId)
                #expect(newsletter != nil && newsletterMembers.contains(c.ids["newsletter"]!))
                #expect(crm?["name"]?["givenName"]?.stringValue == c.givenName && promotionsMembers.contains(c.ids["crm"]!))
            }
        }
    }

    @Test("20 erasures and 10 withdrawals: run --until-idle exits 0 and the targets show exactly the planned effects")
    func batch() async throws {
        defer { cleanUp() }
        let seeded = try await seeder.seed(34)
        #expect(try await lethe.run(["init"]).status == 0)
        let ids = try await fileBatch(seeded.customers)
        #expect(Set(ids).count == 30)

        let run = try await lethe.run(["run", "--until-idle", "--timeout", "3m", "--json"], extraEnvironment: ["LETHE_LOG_LEVEL": "info"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try run.decode(CLIJSON.Run.self).requests == 30)
        // The log has a line per transition, and no identifier of anybody.
        #expect(run.stderr.components(separatedBy: "action_succeeded").count > 30)
        for customer in seeded.customers { #expect(!run.stderr.contains(customer.email) && !run.stderr.contains(customer.familyName)) }

        try await checkEffects(seeded)
        let status = try await lethe.run(["status", ids[0], "--json"])
        let view = try status.decode(RequestView.self)
        #expect(view.state == "completed" && view.subject.hasPrefix("psn_"))
        #expect(view.actions.count == 4 && view.actions.allSatisfy { $0.verified == true })
        let shop = try #require(view.actions.first { $0.target == "shop" })
        #expect(shop.retained.first?.basis == "legal_obligation")
        #expect(try await lethe.run(["audit", "verify"]).status == 0)

        // Filing a reference again files nothing.
        let again = try await lethe.run(["erase", "--email", seeded.customers[0].email, "--ref", "ER-0"])
        #expect(again.stdout.hasPrefix(ids[0]) && again.stdout.contains("already filed"))

        // No identifier of a subject, nor any value of their accounts, is left anywhere in the
        // state directory's files or in a signed report after completion.
        let out = stateDir.deletingLastPathComponent().appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try await lethe.run(["report", "export", "--out", out.path]).status == 0)
        var bytes = Data()
        for directory in [stateDir, out] {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                bytes += FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) ?? Data()
            }
        }
        #expect(bytes.count > 10_000)
        for (i, customer) in seeded.customers.prefix(30).enumerated() {
            for value in [customer.email, customer.email.uppercased(), customer.externalId, "\(customer.givenName) \(customer.familyName)",
                          "Rua \(i) 1000-001 Lisboa", customer.email.replacingOccurrences(of: "@", with: "%40"),
                          Data(customer.email.utf8).base64EncodedString()] {
                #expect(bytes.range(of: Data(value.utf8)) == nil, "customer \(i): \(value) left in the state files or the report")
            }
        }
    }

    @Test("kill -9 part-way through a batch: a second run completes everything, nothing lost, nothing unverified")
    func crash() async throws {
        defer { cleanUp() }
        let seeded = try await seeder.seed(30)
        #expect(try await lethe.run(["init"]).status == 0)
        let ids = try await fileBatch(seeded.customers)

        // Wait until some actions are done but not all, then kill without warning.
        let (done, reason) = try await lethe.withStarted(["run", "--until-idle"]) { first in
            let deadline = Date().addingTimeInterval(30)
            var done = 0
            while Date() < deadline {
                let listed = (try? await lethe.run(["status", "--json", "--limit", "100"]).decode([RequestView].self)) ?? []
                done = listed.flatMap(\.actions).filter { $0.state == "succeeded" && $0.operation != "none" }.count
                if done >= 5 { break }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            await CommandRunner.stop(first)
            return (done, first.terminationReason)
        }
        #expect(reason == .uncaughtSignal)
        #expect(done >= 5)

        let second = try await lethe.run(["run", "--until-idle", "--timeout", "3m", "--json"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try second.decode(CLIJSON.Run.self).requests > 0, "the kill came before the end of the batch")

        let listed = try await lethe.run(["status", "--json", "--limit", "100"]).decode([RequestView].self)
        #expect(listed.count == 30, "no request lost")
        #expect(Set(listed.map(\.id)) == Set(ids))
        for request in listed {
            #expect(request.state == "completed")
            for action in request.actions {
                #expect(action.state == "succeeded")
                if action.operation != "none" {
                    #expect(action.verified == true, "completed only with verification")
                }
            }
        }
        try await checkEffects(seeded)
        #expect(try await lethe.run(["audit", "verify"]).status == 0)
    }

    @Test("an erasure received two months ago that fails is overdue in status --overdue and unresolved in the report, never on time")
    func failedIsOverdue() async throws {
        defer { cleanUp() }
        let ana = try await seeder.seed(1).customers[0]
        // The reference policies, with crm down and given up on after one attempt.
        let policies = stateDir.deletingLastPathComponent().appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("policies"), to: policies)
        defer { try? FileManager.default.removeItem(at: policies) }
        let crm = policies.appendingPathComponent("crm.yaml")
        try String(contentsOf: crm, encoding: .utf8).replacingOccurrences(of: "retry: { base: 1s, max: 5m, max_attempts: 8 }",
                                                                          with: "retry: { base: 10ms, max: 10ms, max_attempts: 1 }")
            .write(to: crm, atomically: true, encoding: .utf8)
        let env = ["LETHE_CRM_URL": "http://127.0.0.1:9/v2", "LETHE_POLICIES": policies.path]
        #expect(try await lethe.run(["init"]).status == 0)
        let received = CalendarDate(secondsSince1970: Date().timeIntervalSince1970 - 61 * 86_400)
        let filed = try await lethe.run(["erase", "--email", ana.email, "--received", received.description, "--ref", "LATE-1"], extraEnvironment: env)
        #expect(filed.status == 0, "\(filed.stderr)")
        let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let run = try await lethe.run(["run", "--until-idle", "--timeout", "1m"], extraEnvironment: env)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let overdue = try await lethe.run(["status", "--overdue", "--json"], extraEnvironment: env).decode([RequestView].self)
        #expect(overdue.map(\.id) == [id], "the failed request is overdue")
        #expect(overdue.first?.state == "failed" && overdue.first?.deadline == "unresolved_overdue")

        let out = stateDir.deletingLastPathComponent().appendingPathComponent("reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try await lethe.run(["report", "export", "--out", out.path], extraEnvironment: env).status == 0)
        let json = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        let report = try #require(JSONValue.parse(try Data(contentsOf: out.appendingPathComponent(json))))
        let summary = try #require(report["summary"])
        #expect(summary["unresolved"]?.intValue == 1 && summary["unresolved_overdue"]?.intValue == 1)
        #expect(summary["completed_on_time"]?.intValue == 0 && summary["on_time_ratio"] == .number(0), "a failure is never on time")
        #expect(summary["overdue_requests"] == .array([.string(id)]))
    }

    @Test("a 90-day retention and a request received 100 days ago: the retained addresses are erased at once, and the certificate says what the obligation was")
    func endedRetentionEndToEnd() async throws {
        defer { cleanUp() }
        let ana = try await seeder.seed(1).customers[0]
        let policies = stateDir.deletingLastPathComponent().appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("policies"), to: policies)
        defer { try? FileManager.default.removeItem(at: policies) }
        let shopPolicy = policies.appendingPathComponent("shop.yaml")
        let text = try String(contentsOf: shopPolicy, encoding: .utf8)
        #expect(text.contains("retention: 10y"))
        try text.replacingOccurrences(of: "retention: 10y", with: "retention: 90d").write(to: shopPolicy, atomically: true, encoding: .utf8)
        let env = ["LETHE_POLICIES": policies.path]
        #expect(try await lethe.run(["init"]).status == 0)
        #expect(try await seeder.tenants["shop"]!.user(ana.ids["shop"]!)?["addresses"] != nil)
        let received = CalendarDate(secondsSince1970: Date().timeIntervalSince1970 - 100 * 86_400)
        let filed = try await lethe.run(["erase", "--email", ana.email, "--received", received.description], extraEnvironment: env)
        let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "1m"], extraEnvironment: env).status == 0)

        // Read back with raw HTTP: nothing is kept any more, so shop's own erasure action (delete)
        // stands instead of the anonymization that kept the addresses: the account is gone.
        #expect(try await seeder.tenants["shop"]!.user(ana.ids["shop"]!) == nil, "the retention had ended: nothing is kept")
        let view = try await lethe.run(["status", id, "--json"], extraEnvironment: env).decode(RequestView.self)
        #expect(view.state == "completed" && view.retentionErasures.isEmpty, "nothing is left to erase later")

        let out = stateDir.deletingLastPathComponent().appendingPathComponent("cert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(try await lethe.run(["report", "certificate", id, "--out", out.path], extraEnvironment: env).status == 0)
        let certificate = try #require(JSONValue.parse(try Data(contentsOf: out.appendingPathComponent("lethe-certificate-\(id).json"))))
        let row = try #require(certificate["request"]?["targets"]?.arrayValue?.first { $0["target"]?.stringValue == "shop" })
        let until = received.adding(days: 90)
        #expect(row["retention_statement"]?.stringValue?.contains("addresses kept under legal_obligation (invoicing) until \(until), which had passed") == true,
                "\(row["retention_statement"] ?? .null)")
        #expect(row["verified"] == .bool(true) && row["outcome"] == .string("deleted"))
    }

    @Test("a target that is down: the other three complete; it keeps retrying within its budget, with the reason in status")
    func targetDown() async throws {
        defer { cleanUp() }
        let ana = try await seeder.seed(1).customers[0]
        #expect(try await lethe.run(["init"]).status == 0)
        let down = ["LETHE_CRM_URL": "http://127.0.0.1:9/v2"]
        let id = try await lethe.run(["erase", "--email", ana.email], extraEnvironment: down).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let run = try await lethe.run(["run", "--until-idle", "--timeout", "4s"], extraEnvironment: down)
        #expect(run.status == 75, "\(run.stdout)\(run.stderr)")

        let view = try await lethe.run(["status", id, "--json"]).decode(RequestView.self)
        for action in view.actions {
            if action.target == "crm" {
                #expect(action.state == "retrying")
                #expect(action.lastError?.contains("connection refused") == true)
            } else {
                #expect(action.state == "succeeded", "\(action)")
            }
        }
        let text = try await lethe.run(["status", id])
        #expect(text.stdout.contains("connection refused"))
        #expect(try await seeder.tenants["app"]!.user(ana.ids["app"]!) == nil)
    }

    @Test("bad input files nothing: unknown purpose, invalid email or date, no state directory")
    func badInput() async throws {
        defer { cleanUp() }
        #expect(try await lethe.run(["erase", "--email", "ana@example.com"]).status == 66, "not initialized")
        #expect(try await lethe.run(["init"]).status == 0)
        let cases: [([String], Int32, String)] = [
            (["revoke", "--email", "ana@example.com", "--purpose", "marketting"], 64, "did you mean 'marketing'?"),
            (["erase", "--email", "ana(at)example.com"], 64, "not an e-mail address"),
            (["erase", "--email", "ana@example.com", "--received", "2026-13-01"], 64, "not a date"),
            (["erase", "--email", "ana@example.com", "--received", "2999-01-01"], 64, "in the future"),
            (["erase", "--email", "ana@example.com", "--received", "2018-05-24"], 64, "before 2018-05-25"),
            (["erase", "--email", "ana@example.com", "--ref", "DSR-1\nforged log line"], 64, "--ref contains a control character"),
            (["erase", "--email", "ana@example.com", "--note", "a\u{1B}[31mred"], 64, "--note contains a control character"),
            (["erase", "--email", "ana@example.com", "--requested-by", "dpo\tdesk"], 64, "--requested-by contains a control character"),
            (["erase", "--email", "ana@example.com", "--ref", String(repeating: "é", count: 101)], 64, "--ref must be 1 to 200 bytes"),
            (["erase", "--email", "ana@example.com", "--policies", Self.root.appendingPathComponent("Tests/Fixtures/broken-policies/unknown-basis").path], 65, "unknown lawful basis"),
        ]
        for (arguments, status, message) in cases {
            let result = try await lethe.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let listedJSON = try await lethe.run(["status", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let listedText = try await lethe.run(["status"]).stdout
        #expect(listedJSON == "[\n\n]" || listedText.contains("no requests"))
        // A reference used for another subject is refused.
        #expect(try await lethe.run(["erase", "--email", "ana@example.com", "--ref", "X-1"]).status == 0)
        let clash = try await lethe.run(["erase", "--email", "bob@example.com", "--ref", "X-1"])
        #expect(clash.status == 65 && clash.stderr.contains("already used"))
    }

    @Test("init refuses a directory that is not Lethe's; extend, cancel and retry work as documented")
    func management() async throws {
        defer { cleanUp() }
        let foreign = FileManager.default.temporaryDirectory.appendingPathComponent("not-lethe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: foreign.appendingPathComponent("thesis.txt"))
        defer { try? FileManager.default.removeItem(at: foreign) }
        let refused = try await lethe.run(["init", "--state-dir", foreign.path])
        #expect(refused.status == 73 && refused.stderr.contains("not a Lethe state directory"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign.path) == ["thesis.txt"])

        #expect(try await lethe.run(["init"]).status == 0)
        let keyMode = try FileManager.default.attributesOfItem(atPath: stateDir.appendingPathComponent("pseudonym.key").path)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let id = try await lethe.run(["erase", "--email", "ana@example.com", "--received", "2026-11-20"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let extended = try await lethe.run(["extend", id, "--months", "2", "--reason", "complex request across archives"])
        #expect(extended.status == 0 && extended.stdout.contains("due 2027-02-20"))
        #expect(try await lethe.run(["extend", id, "--months", "1", "--reason", "again"]).status == 65)
        let cancelled = try await lethe.run(["cancel", id, "--reason", "subject withdrew the request"])
        #expect(cancelled.status == 0 && cancelled.stdout.contains("cancelled"))
        #expect(try await lethe.run(["retry", id]).status == 65)
        #expect(try await lethe.run(["status", "req-doesnotexist"]).status == 66)
        let audit = try await lethe.run(["audit", "verify", "--json"])
        #expect(try audit.decode(CLIJSON.Chain.self).intact)
    }
}
