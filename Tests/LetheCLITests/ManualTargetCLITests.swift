import Foundation
import GRDB
import LetheApp
import LetheCore
import LetheStorage
import LetheTesting
import Testing

/// A manual target (`kind: manual`) next to the four SCIM targets of the reference policies,
/// on scim2-server tenants, through the `lethe` binary.
@Suite("lethe confirm: manual targets end to end", .enabled(if: SCIM2ServerPeer.shouldRun), .serialized)
struct ManualTargetCLITests {
    static let warehouse = """
        target: warehouse
        description: The analytics warehouse; the data team deletes by hand.
        kind: manual
        manual:
          instructions: Delete the customer's rows from the analytics tables (runbook DW-7).
          confirm_role: officer
          within: 7d
        identity: { match: [emails.value] }
        shares:
          - purpose: analytics
            basis: legitimate_interest
            attributes: [emails.value, name.familyName]
        erasure: { action: delete }
        """

    @Test("erase → run: the SCIM targets complete, the manual task waits with its instructions → the filer may not confirm under four eyes → another person confirms → completed, 'confirmed by a person'; twice refused; overdue announced once; no identifier left")
    func manualTaskEndToEnd() async throws {
        let peer = try SCIM2ServerPeer.running()
        let seeder = Seeder(tenants: Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) }))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-manual-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let policies = try policiesWithSettings("approval: erasures\ngrace: 0s\n", in: scratch)
        try Data(Self.warehouse.utf8).write(to: policies.appendingPathComponent("warehouse.yaml"))
        let state = scratch.appendingPathComponent("state")
        var env = seeder.environment(token: peer.token)
        env["LETHE_STATE_DIR"] = state.path
        env["LETHE_POLICIES"] = policies.path
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        let seeded = try await seeder.seed(2)
        let (ana, bea) = (seeded.customers[0], seeded.customers[1])
        #expect(try await lethe.run(["init"]).status == 0)
        let check = try await lethe.run(["policy", "check"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        let filed = try await lethe.run(["erase", "--email", ana.email, "--ref", "MT-1", "--requested-by", "Ana Admin"])
        #expect(filed.status == 0, "\(filed.stderr)")
        let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await lethe.run(["approve", id, "--by", "Bo Berg"]).status == 0)
        let run = try await lethe.run(["run", "--until-idle", "--timeout", "2m"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")

        var view = try await lethe.run(["status", id, "--json"]).decode(RequestView.self)
        #expect(view.state == "in_progress", "the request stays open while the task waits")
        let task = try #require(view.actions.first { $0.target == "warehouse" })
        #expect(task.state == "awaiting_confirmation" && task.evidence == nil && task.nextAttemptAt != nil)
        #expect(view.actions.filter { $0.target != "warehouse" }.allSatisfy { $0.state == "succeeded" && $0.evidence == "read_back" },
                "\(view.actions.map { "\($0.target) \($0.state) \($0.evidence ?? "-")" })")
        let text = try await lethe.run(["status", id])
        #expect(text.stdout.contains("with a person until") && text.stdout.contains("lethe confirm \(id) --target warehouse"), "\(text.stdout)")
        let tasks = try await lethe.run(["tasks"])
        #expect(tasks.status == 0 && tasks.stdout.contains("runbook DW-7") && tasks.stdout.contains(ana.email), "\(tasks.stdout)\(tasks.stderr)")

        // Four eyes: the filer may not confirm; nothing changes.
        let selfConfirm = try await lethe.run(["confirm", id, "--target", "warehouse", "--outcome", "erased", "--by", "ana admin"])
        #expect(selfConfirm.status == 65 && selfConfirm.stderr.contains("four eyes"), "\(selfConfirm.stderr)")
        #expect(try await lethe.run(["confirm", id, "--target", "warehouse", "--outcome", "deleted", "--by", "Cy Chen"]).status == 64)
        #expect(try await lethe.run(["confirm", id, "--target", "warehouse", "--outcome", "cannot_comply", "--by", "Cy Chen"]).status == 64,
                "cannot_comply needs a note")
        let confirmed = try await lethe.run(["confirm", "MT-1", "--target", "warehouse", "--outcome", "erased", "--by", "Cy Chen",
                                             "--note", "runbook DW-7, ticket OPS-1234"])
        #expect(confirmed.status == 0 && confirmed.stdout.contains("completed"), "\(confirmed.stdout)\(confirmed.stderr)")
        view = try await lethe.run(["status", id, "--json"]).decode(RequestView.self)
        let done = try #require(view.actions.first { $0.target == "warehouse" })
        #expect(view.state == "completed" && done.state == "succeeded" && done.evidence == "person" && done.confirmedBy == "Cy Chen"
                && done.verified == nil && done.evidenceStatement == "confirmed by a person", "\(done)")
        // The certificate says how each outcome is known, and verifies.
        let out = scratch.appendingPathComponent("certificates")
        let certificate = try await lethe.run(["report", "certificate", id, "--out", out.path])
        #expect(certificate.status == 0, "\(certificate.stderr)")
        let json = out.appendingPathComponent("lethe-certificate-\(id).json")
        let verified = try await lethe.run(["report", "verify", json.path])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let html = try String(contentsOf: out.appendingPathComponent("lethe-certificate-\(id).html"), encoding: .utf8)
        #expect(html.contains("no: confirmed by a person") && html.contains("confirmed by a person (Cy Chen): runbook DW-7"), "\(html.suffix(3000))")
        let document = try #require(JSONValue.parse(try Data(contentsOf: json)))
        #expect(document["statement"]?.stringValue?.contains("Confirmed by a person, not read back: warehouse (by Cy Chen)") == true,
                "\(document["statement"]?.stringValue ?? "")")
        let rows = try #require(document["request"]?["targets"]?.arrayValue)
        #expect(rows.first { $0["target"]?.stringValue == "warehouse" }?["evidence"]?.stringValue == "person")
        #expect(rows.filter { $0["target"]?.stringValue != "warehouse" }.allSatisfy { $0["evidence"]?.stringValue == "read_back" })
        let twice = try await lethe.run(["confirm", id, "--target", "warehouse", "--outcome", "not_found", "--by", "Di Dahl"])
        #expect(twice.status == 65 && twice.stderr.contains("already confirmed by Cy Chen"), "\(twice.stderr)")
        #expect(try await lethe.run(["tasks"]).stdout.contains("no tasks wait"))

        // A second request's task, past its due time (moved back in the file): announced once.
        let second = try await lethe.run(["erase", "--email", bea.email, "--ref", "MT-2", "--requested-by", "Ana Admin"])
        let secondId = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await lethe.run(["approve", secondId, "--by", "Bo Berg"]).status == 0)
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "2m"]).status == 0)
        let database = state.appendingPathComponent("lethe.db").path
        let queue = try DatabaseQueue(path: database)
        try queue.inDatabase { db in try db.execute(sql: "UPDATE action SET next_attempt_at = 1 WHERE state = 'awaiting_confirmation'") }
        try queue.close()
        let overdue = try await lethe.run(["status", "--overdue"])
        #expect(overdue.stdout.contains("task overdue: \(secondId) warehouse"), "\(overdue.stdout)")
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "1m"]).status == 0)
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "1m"]).status == 0)
        let events = try StateDirectory(path: state.path).openDatabase().auditEvents(request: secondId)
        #expect(events.filter { $0.event == AuditEventKind.taskOverdue.rawValue }.count == 1, "announced once over two runs")
        let failed = try await lethe.run(["confirm", secondId, "--target", "warehouse", "--outcome", "cannot_comply", "--by", "Cy Chen",
                                          "--note", "legal hold until 2027-03"])
        #expect(failed.status == 0 && failed.stdout.contains("failed"), "\(failed.stdout)\(failed.stderr)")

        // Both requests ended: no identifier is left in the state directory.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: database))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: database + "-wal")) { bytes.append(wal) }
        for email in [ana.email, bea.email] { #expect(bytes.range(of: Data(email.utf8)) == nil, "\(email) is still in the state directory") }
        #expect(try await lethe.run(["audit", "verify"]).status == 0)
        let report = try await lethe.run(["report", "export", "--out", scratch.appendingPathComponent("reports").path])
        #expect(report.status == 0, "\(report.stderr)")
        let exported = try FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent("reports").path)
            .filter { $0.hasSuffix(".json") && $0.hasPrefix("lethe-report-") }
        for file in exported {
            let check = try await lethe.run(["report", "verify", scratch.appendingPathComponent("reports").appendingPathComponent(file).path])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        }
        #expect(!exported.isEmpty)
    }
}
