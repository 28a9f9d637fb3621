import Foundation
import GRDB
import LetheApp
import LetheCore
import LetheReports
import LetheSandbox
import LetheTesting
import Testing

/// `lethe report verify` against the state directory: rows checked against the log, keys
/// checked against the directory's own.
@Suite("lethe report verify checks every row and the key")
struct VerifyCLITests {
    @Test("an edited row re-signed with a fresh key, or with Lethe's own key, fails next to the state directory; without it only the signature is checked, and it says so")
    func rowsAndKeys() async throws {
        let targets = try await SandboxTargets.start()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = scratch.appendingPathComponent("state"), out = scratch.appendingPathComponent("reports")
        let lethe = CommandRunner(environment: targets.environment(stateDir: state), workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        for customer in 0..<2 {
            #expect(try await lethe.run(["erase", "--email", SandboxCustomers.email(customer)]).status == 0)
        }
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "1m"]).status == 0)
        let export = try await lethe.run(["report", "export", "--out", out.path])
        #expect(export.status == 0, "\(export.stderr)")
        await targets.stop()
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        let path = out.appendingPathComponent(name)

        let valid = try await lethe.run(["report", "verify", path.path])
        #expect(valid.status == 0 && valid.stdout.contains("each of 2 request rows matches the audit event it cites"), "\(valid.stdout)")

        // Edit one row: app's outcome deleted → anonymized.
        var report = try #require(JSONValue.parse(try Data(contentsOf: path)))
        guard case .object(var fields) = report, case .array(var rows)? = fields["requests"], case .object(var row) = rows[0],
              case .array(var cells)? = row["targets"] else { Issue.record("unexpected report shape"); return }
        let app = try #require(cells.firstIndex { $0["target"]?.stringValue == "app" })
        guard case .object(var cell) = cells[app] else { return }
        #expect(cell["outcome"] == .string("deleted"))
        cell["outcome"] = .string("anonymized")
        cells[app] = .object(cell); row["targets"] = .array(cells); rows[0] = .object(row); fields["requests"] = .array(rows)
        report = .object(fields)
        let edited = CanonicalJSON.encode(report)
        let forged = scratch.appendingPathComponent("forged.json")
        try edited.write(to: forged)

        // Re-signed with a fresh key: not one of this state directory's keys.
        let fresh = try ReportSigner(rawPrivateKey: ReportSignerFactory.newRawKey())
        var withFresh = report
        if case .object(var f) = withFresh { f["key_id"] = .string(fresh.publicKey.keyId); withFresh = .object(f) }
        let freshBytes = CanonicalJSON.encode(withFresh)
        try freshBytes.write(to: forged)
        try fresh.sign(freshBytes).write(to: URL(fileURLWithPath: forged.path + ".sig"))
        let pem = scratch.appendingPathComponent("fresh.pem")
        try fresh.publicKey.pem.write(to: pem, atomically: true, encoding: .utf8)
        let foreign = try await lethe.run(["report", "verify", forged.path, "--public-key", pem.path])
        #expect(foreign.status == 1 && foreign.stdout.contains("not one of the keys"), "\(foreign.stdout)")
        let unnamed = try await lethe.run(["report", "verify", forged.path])
        #expect(unnamed.status == 1, "\(unnamed.stdout)")

        // Without a state directory, the fresh key's signature is all that can be checked: said so.
        let elsewhere = try await lethe.run(["report", "verify", forged.path, "--public-key", pem.path],
                                            extraEnvironment: ["LETHE_STATE_DIR": scratch.appendingPathComponent("none").path])
        #expect(elsewhere.status == 0 && elsewhere.stdout.contains("signature and canonical form only"), "\(elsewhere.stdout)")

        // Re-signed with Lethe's own key (whoever holds it): the row no longer matches the log.
        let own = try ReportSigner(rawPrivateKey: try Data(contentsOf: state.appendingPathComponent("signing.key")))
        try edited.write(to: forged)
        try own.sign(edited).write(to: URL(fileURLWithPath: forged.path + ".sig"))
        let mismatch = try await lethe.run(["report", "verify", forged.path])
        #expect(mismatch.status == 1 && mismatch.stdout.contains("the row says outcome anonymized, the log says deleted"), "\(mismatch.stdout)")
    }

    @Test("deleting the last audit events is caught by the signed checkpoints; --against checks the log still holds a report's range")
    func truncationDetected() async throws {
        let targets = try await SandboxTargets.start()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-trunc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = scratch.appendingPathComponent("state"), out = scratch.appendingPathComponent("reports")
        let lethe = CommandRunner(environment: targets.environment(stateDir: state), workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        #expect(try await lethe.run(["erase", "--email", SandboxCustomers.email(0)]).status == 0)
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "1m"]).status == 0)
        #expect(try await lethe.run(["report", "export", "--out", out.path]).status == 0)
        await targets.stop()
        let report = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasSuffix(".json") })
        let reportPath = out.appendingPathComponent(report).path

        let intact = try await lethe.run(["audit", "verify", "--against", reportPath])
        #expect(intact.status == 0 && intact.stdout.contains("signed checkpoints") && intact.stdout.contains("agrees with 1 report"), "\(intact.stdout)")
        let checkpoint = try await lethe.run(["audit", "checkpoint"])
        #expect(checkpoint.status == 0 && checkpoint.stdout.contains("checkpoint: event"), "\(checkpoint.stdout)")

        // Delete the last event: the chain that is left is whole, but it no longer reaches the checkpoint.
        let database = try DatabaseQueue(path: state.appendingPathComponent("lethe.db").path)
        try await database.write { try $0.execute(sql: "DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)") }
        let truncated = try await lethe.run(["audit", "verify"])
        #expect(truncated.status == 1, "\(truncated.stdout)")
        #expect(truncated.stdout.contains("checkpoints.jsonl line") && truncated.stdout.contains("events were deleted"), "\(truncated.stdout)")
    }
}

@Suite("The API verifies the audit log as the CLI does")
struct AuditAPITests {
    let serve = ServeCLITests()

    @Test("GET /api/v1/audit/verify checks the signed checkpoints too: deleting the events a checkpoint covers is not intact, as lethe audit verify says")
    func apiSeesTruncation() async throws {
        try await serve.serving(SecurityCLITests.unreachable) { served, _ in
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                              body: ServeCLITests.erasure("trunc@example.com", ref: "TRUNC-1"))
            #expect(filed.status == 201)
            let signed = try await served.lethe.run(["audit", "checkpoint"])
            #expect(signed.status == 0)
            // "checkpoint: event N, …": the engine keeps appending (its targets are unreachable), so
            // the events from N on are deleted, not just the last one.
            let seq = try #require(signed.stdout.split(separator: " ").dropFirst(2).first.flatMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) })
            let before = try await served.call(.get, "/api/v1/audit/verify", token: served.tokens["auditor"])
            #expect(before.json?["intact"]?.boolValue == true && before.json?["checkpoints"]?.intValue ?? 0 >= 1, "\(String(describing: before.json))")
            let database = try DatabaseQueue(path: served.scratch.appendingPathComponent("state/lethe.db").path)
            try await database.write { try $0.execute(sql: "DELETE FROM audit_event WHERE seq >= ?", arguments: [seq]) }
            let after = try await served.call(.get, "/api/v1/audit/verify", token: served.tokens["auditor"])
            #expect(after.json?["intact"]?.boolValue == false, "\(String(describing: after.json))")
            #expect(after.json?["problem"]?.stringValue?.contains("checkpoint") == true)
            #expect(try await served.lethe.run(["audit", "verify"]).status == 1, "the CLI agrees")
        }
    }

    @Test("a running lethe serve signs a checkpoint on its schedule while the log grows, not only when it stops; a bad interval is refused")
    func serveSignsOnSchedule() async throws {
        try await serve.serving(SecurityCLITests.unreachable, arguments: { _ in ["--listen", "127.0.0.1:0", "--checkpoint-interval", "1s"] }) { served, process in
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                              body: ServeCLITests.erasure("sched@example.com", ref: "SCHED-1"))
            #expect(filed.status == 201)
            var checkpoints = 0
            let deadline = Date().addingTimeInterval(20)
            while checkpoints == 0, Date() < deadline {
                try await Task.sleep(nanoseconds: 300_000_000)
                checkpoints = (try? await served.lethe.run(["audit", "verify", "--json"]).decode(JSONValue.self))?["checkpoints"]?.intValue ?? 0
            }
            #expect(checkpoints >= 1 && process.isRunning, "a checkpoint while serve runs: \(checkpoints)")
        }
        let bad = try await CommandRunner(environment: [:], workingDirectory: Repository.root).run(["serve", "--checkpoint-interval", "soon"])
        #expect(bad.status == 64 && bad.stderr.contains("--checkpoint-interval"), "\(bad.stderr)")
    }
}
