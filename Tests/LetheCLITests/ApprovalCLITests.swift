import Foundation
import LetheApp
import LetheCore
import LetheStorage
import LetheStore
import LetheTesting
import Testing

/// A policy directory: the repository's example policies plus a `lethe.yaml` with `settings`.
func policiesWithSettings(_ settings: String, in scratch: URL) throws -> URL {
    let directory = scratch.appendingPathComponent("policies")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: Repository.path("policies").path) where name.hasSuffix(".yaml") {
        try FileManager.default.copyItem(at: Repository.path("policies").appendingPathComponent(name), to: directory.appendingPathComponent(name))
    }
    try Data(settings.utf8).write(to: directory.appendingPathComponent("lethe.yaml"))
    return directory
}

/// Four eyes and rejections through the `lethe` binary, against scim2-server tenants.
@Suite("lethe approve/reject end to end", .enabled(if: SCIM2ServerPeer.shouldRun), .serialized)
struct ApprovalCLITests {
    @Test("approval: erasures, grace: 0s — erase → run → nothing changes in any target → approve → run → completed and verified; a rejection is purged and reported with its reason")
    func approveThenRun() async throws {
        let peer = try SCIM2ServerPeer.running()
        let seeder = Seeder(tenants: Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) }))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-approval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var env = seeder.environment(token: peer.token)
        env["LETHE_STATE_DIR"] = scratch.appendingPathComponent("state").path
        env["LETHE_POLICIES"] = try policiesWithSettings("# four eyes for erasures\napproval: erasures\ngrace: 0s\n", in: scratch).path
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        let seeded = try await seeder.seed(4)
        let (ana, bea, cid) = (seeded.customers[0], seeded.customers[1], seeded.customers[2])
        #expect(try await lethe.run(["init"]).status == 0)

        // Without saying who files it, approval could not be checked: refused, nothing stored.
        let anonymous = try await lethe.run(["erase", "--email", ana.email])
        #expect(anonymous.status == 64 && anonymous.stderr.contains("--requested-by"), "\(anonymous.stderr)")
        #expect(try await lethe.run(["status", "--json"]).decode([RequestView].self).isEmpty, "nothing stored")

        let filed = try await lethe.run(["erase", "--email", ana.email, "--ref", "AP-1", "--requested-by", "Ana Admin"])
        #expect(filed.status == 0 && filed.stderr.contains("waits for approval"), "\(filed.stderr)")
        let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // A run touches nothing: every target still holds the customer exactly as seeded.
        let idle = try await lethe.run(["run", "--until-idle", "--timeout", "1m", "--json"])
        #expect(idle.status == 0, "\(idle.stderr)")
        let idleRun = try idle.decode(CLIJSON.Run.self)
        #expect(idleRun.attempts == 0 && idleRun.awaitingApproval == 1)
        try await expectUntouched(ana, seeder)
        var view = try await lethe.run(["status", id, "--json"]).decode(RequestView.self)
        #expect(view.state == "awaiting_approval" && view.approval?.state == "awaiting")
        #expect(view.actions.allSatisfy { $0.state == "held" })
        let text = try await lethe.run(["status", "--state", "awaiting_approval"])
        #expect(text.stdout.contains(id))

        // The filer cannot approve it (exit 65, nothing changes).
        let events = try StateDirectory(path: scratch.appendingPathComponent("state").path).openDatabase().auditEvents().count
        let selfApproval = try await lethe.run(["approve", id, "--by", " ana admin"])
        #expect(selfApproval.status == 65 && selfApproval.stderr.contains("filed by Ana Admin; whoever filed it"), "\(selfApproval.stderr)")
        #expect(try StateDirectory(path: scratch.appendingPathComponent("state").path).openDatabase().auditEvents().count == events)
        #expect(try await lethe.run(["status", id, "--json"]).decode(RequestView.self).state == "awaiting_approval")
        #expect(try await lethe.run(["approve", id]).status == 64, "--by is required")

        // Somebody else approves: the run carries it out, verified.
        let approved = try await lethe.run(["approve", "AP-1", "--by", "Bo Berg", "--note", "identity checked by phone"])
        #expect(approved.status == 0 && approved.stdout.contains("approved by Bo Berg"), "\(approved.stderr)")
        let run = try await lethe.run(["run", "--until-idle", "--timeout", "2m"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        view = try await lethe.run(["status", id, "--json"]).decode(RequestView.self)
        #expect(view.state == "completed" && view.actions.allSatisfy { $0.verified == true }, "\(view.actions.map { "\($0.target) \($0.state)" })")
        #expect(view.approval?.by == "Bo Berg" && view.approval?.note == "identity checked by phone")
        #expect(try await seeder.tenants["app"]!.user(ana.ids["app"]!) == nil, "erased in app")
        #expect(try await seeder.tenants["newsletter"]!.user(ana.ids["newsletter"]!) == nil, "erased in newsletter")

        // A withdrawal is not held under `approval: erasures`.
        let revoked = try await lethe.run(["revoke", "--email", cid.email, "--purpose", "marketing", "--ref", "AP-3"])
        #expect(revoked.status == 0 && !revoked.stderr.contains("approval"), "\(revoked.stderr)")

        // A rejection: ends `rejected` with its reason, nothing reaches a target, identifiers purged.
        let second = try await lethe.run(["erase", "--email", bea.email, "--ref", "AP-2", "--requested-by", "Ana Admin"])
        let secondId = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await lethe.run(["reject", secondId, "--by", "Bo Berg"]).status == 64, "--reason is required")
        let rejected = try await lethe.run(["reject", secondId, "--by", "Bo Berg", "--reason", "identity not verified"])
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(try await lethe.run(["approve", secondId, "--by", "Cy Chen"]).status == 65, "a rejected request cannot be approved")
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "2m"]).status == 0)
        try await expectUntouched(bea, seeder)
        view = try await lethe.run(["status", secondId, "--json"]).decode(RequestView.self)
        #expect(view.state == "rejected" && view.approval?.reason == "identity not verified" && view.deadline == "rejected")
        let database = try StateDirectory(path: scratch.appendingPathComponent("state").path).openDatabase()
        #expect(try database.request(secondId)?.identifiers == nil, "identifiers purged")

        // One more still waiting, then the period report: counts, the reason, a valid signature.
        let third = try await lethe.run(["erase", "--email", seeded.customers[3].email, "--ref", "AP-4", "--requested-by", "Ana Admin"])
        #expect(third.status == 0)
        let out = scratch.appendingPathComponent("out")
        let export = try await lethe.run(["report", "export", "--out", out.path])
        #expect(export.status == 0, "\(export.stderr)")
        let reportName = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasPrefix("lethe-report-") && $0.hasSuffix(".json") })
        let reportPath = out.appendingPathComponent(reportName).path
        let verified = try await lethe.run(["report", "verify", reportPath])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let report = try #require(JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: reportPath))))
        let summary = try #require(report["summary"])
        #expect(summary["approved"]?.intValue == 1 && summary["rejected"]?.intValue == 1 && summary["awaiting_approval"]?.intValue == 1,
                "\(CanonicalJSON.string(summary))")
        #expect(summary["rejection_reasons"]?["identity not verified"]?.intValue == 1)
        let rows = report["requests"]?.arrayValue ?? []
        let rejectedRow = try #require(rows.first { $0["id"]?.stringValue == secondId })
        #expect(rejectedRow["state"]?.stringValue == "rejected" && rejectedRow["rejection_reason"]?.stringValue == "identity not verified")
        #expect(rejectedRow["changes"]?.arrayValue?.contains { $0["event"]?.stringValue == "rejection_recorded" && $0["by"]?.stringValue == "Bo Berg" } == true)
        let html = try String(contentsOfFile: reportPath.replacingOccurrences(of: ".json", with: ".html"), encoding: .utf8)
        #expect(html.contains("rejected: identity not verified") && html.contains("Approved by a second person"))
        let certificate = try await lethe.run(["report", "certificate", id, "--out", out.path])
        #expect(certificate.status == 0, "\(certificate.stderr)")
        let certificateName = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.contains(id) && $0.hasSuffix(".json") })
        let certificateJSON = try #require(JSONValue.parse(try Data(contentsOf: out.appendingPathComponent(certificateName))))
        #expect(certificateJSON["statement"]?.stringValue?.contains("approved by Bo Berg, not the person who filed it (Ana Admin)") == true)

        // No identifier anywhere in the audit log.
        for customer in seeded.customers {
            #expect(try database.auditEvents().allSatisfy { !$0.details.contains(customer.email) })
        }
        #expect(try await lethe.run(["audit", "verify"]).status == 0)
    }

    /// Every target still holds the customer with the seeded e-mail address.
    func expectUntouched(_ customer: Seeder.Customer, _ seeder: Seeder) async throws {
        for target in ["shop", "app", "newsletter", "crm"] {
            let user = try await seeder.tenants[target]!.user(customer.ids[target]!)
            #expect(user?["emails"]?.arrayValue?.first?["value"]?.stringValue == customer.email, "\(target) still holds \(customer.email)")
        }
    }
}

/// The settings file through the binary: no SCIM peer needed.
@Suite("lethe.yaml through the binary")
struct SettingsCLITests {
    @Test("a broken lethe.yaml fails `policy check` and `erase` with FILE:LINE:COL and exit 65, storing nothing")
    func brokenSettings() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let policies = try policiesWithSettings("approval: erasure\ngrace: 24h\n", in: scratch)
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": scratch.appendingPathComponent("state").path, "LETHE_POLICIES": policies.path],
                                  workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let check = try await lethe.run(["policy", "check"])
        #expect(check.status == 65)
        #expect((check.stdout + check.stderr).contains("lethe.yaml:1:11"), "\(check.stdout)\(check.stderr)")
        #expect((check.stdout + check.stderr).contains("did you mean 'erasures'?"))
        let erase = try await lethe.run(["erase", "--email", "ana@example.com", "--requested-by", "Ana"])
        #expect(erase.status == 65, "\(erase.stderr)")
        #expect(try await lethe.run(["status", "--json"]).decode([RequestView].self).isEmpty, "nothing stored")
    }

    @Test("approval: all holds consent sweeps too; `sweep --run` says how many wait; grace shows as starts at")
    func sweepsWaitForApproval() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let policies = try policiesWithSettings("approval: all\ngrace: 2h\n", in: scratch)
        // Targets that refuse connections: if anything ran, it would show as attempts.
        var env = ["LETHE_STATE_DIR": scratch.appendingPathComponent("state").path, "LETHE_POLICIES": policies.path]
        for target in ["shop", "app", "newsletter", "crm"] {
            env["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let ledger = scratch.appendingPathComponent("consent.csv")
        try Data("subject_email,purpose,status,changed_at\na@example.com,marketing,revoked,2026-11-20\nb@example.com,newsletter,revoked,2026-11-21\nc@example.com,marketing,granted,2026-11-21\n".utf8)
            .write(to: ledger)
        let sweep = try await lethe.run(["sweep", "--ledger", ledger.path, "--run", "--timeout", "30s"])
        #expect(sweep.status == 0, "\(sweep.stdout)\(sweep.stderr)")
        #expect(sweep.stdout.contains("2 of them wait for approval"), "\(sweep.stdout)")
        #expect(sweep.stdout.contains("2 requests wait for approval"), "\(sweep.stdout)")
        let json = try await lethe.run(["sweep", "--ledger", ledger.path, "--dry-run", "--json"])
        #expect(json.status == 0)
        let listed = try await lethe.run(["status", "--state", "awaiting_approval", "--json"]).decode([RequestView].self)
        #expect(listed.count == 2 && listed.allSatisfy { $0.requestedBy == "consent sweep" && $0.actions.allSatisfy { $0.attempts == 0 } })
        // Approved, the grace period still holds them: the status says when they start.
        let approved = try await lethe.run(["approve", listed[0].id, "--by", "Bo Berg"])
        #expect(approved.status == 0 && approved.stdout.contains("nothing starts before"), "\(approved.stdout)")
        let run = try await lethe.run(["run", "--until-idle", "--timeout", "30s"])
        #expect(run.status == 0 && run.stdout.contains("wait for the grace period to end"), "\(run.stdout)\(run.stderr)")
        let detail = try await lethe.run(["status", listed[0].id])
        #expect(detail.stdout.contains("starts at:") && detail.stdout.contains("approved by Bo Berg"), "\(detail.stdout)")
        let view = try await lethe.run(["status", listed[0].id, "--json"]).decode(RequestView.self)
        #expect(view.state == "received" && view.startsAt != nil && view.actions.allSatisfy { $0.attempts == 0 })
    }
}
