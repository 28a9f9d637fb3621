import Foundation
import LetheApp
import LetheCore
import LetheTesting
import Testing

@Suite("lethe report: signed, verifiable with openssl, free of personal data", .enabled(if: SCIM2ServerPeer.shouldRun))
struct ReportCLITests {
    static let root = Repository.root

    func openssl(_ arguments: [String]) async throws -> Int32 {
        try await CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env")).run(["openssl"] + arguments).status
    }

    @Test("after erasures and withdrawals against scim2-server, the report and certificate verify with lethe and with openssl")
    func endToEnd() async throws {
        let peer = try SCIM2ServerPeer.running()
        let seeder = Seeder(tenants: Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) }))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out")
        var env = seeder.environment(token: peer.token)
        env["LETHE_STATE_DIR"] = scratch.appendingPathComponent("state").path
        let lethe = CommandRunner(environment: env, workingDirectory: Self.root)

        let seeded = try await seeder.seed(6)
        #expect(try await lethe.run(["init"]).status == 0)
        for (i, c) in seeded.customers.prefix(3).enumerated() { #expect(try await lethe.run(["erase", "--email", c.email, "--ref", "DSR-\(i)"]).status == 0) }
        #expect(try await lethe.run(["revoke", "--email", seeded.customers[3].email, "--purpose", "marketing"]).status == 0)
        #expect(try await lethe.run(["revoke", "--email", seeded.customers[4].email, "--purpose", "newsletter"]).status == 0)
        #expect(try await lethe.run(["run", "--until-idle", "--timeout", "2m"]).status == 0)

        let export = try await lethe.run(["report", "export", "--out", out.path])
        #expect(export.status == 0, "\(export.stderr)")
        let id = try await lethe.run(["status", "DSR-0", "--json"])
        let requestId = try id.decode(RequestView.self).id
        #expect(try await lethe.run(["report", "certificate", requestId, "--out", out.path]).status == 0)

        let pem = scratch.appendingPathComponent("lethe.pub.pem")
        try await Data(try lethe.run(["keys", "public"]).stdout.utf8).write(to: pem)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        let jsons = files.filter { $0.hasSuffix(".json") }
        #expect(jsons.count == 2 && files.contains { $0.hasSuffix(".csv") } && files.filter { $0.hasSuffix(".html") }.count == 2)
        for name in jsons {
            let path = out.appendingPathComponent(name).path
            #expect(try await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", path, "-sigfile", path + ".sig"]) == 0, "\(name)")
            let verified = try await lethe.run(["report", "verify", path])
            #expect(verified.status == 0 && verified.stdout.contains("audit chain up to event"), "\(verified.stdout)")
            #expect(try await lethe.run(["report", "verify", path, "--public-key", pem.path]).status == 0)
        }

        // One flipped byte in the JSON, or in the signature: both checks fail.
        let report = out.appendingPathComponent(try #require(jsons.first { $0.hasPrefix("lethe-report-") }))
        let original = try Data(contentsOf: report)
        let signature = try Data(contentsOf: URL(fileURLWithPath: report.path + ".sig"))
        for index in [0, original.count / 2, original.count - 1] {
            var flipped = original
            flipped[index] ^= 0x01
            try flipped.write(to: report)
            #expect(try await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", report.path, "-sigfile", report.path + ".sig"]) != 0)
            #expect(try await lethe.run(["report", "verify", report.path]).status == 1)
        }
        try original.write(to: report)
        for index in [0, 31, 63] {
            var flipped = signature
            flipped[index] ^= 0x01
            try flipped.write(to: URL(fileURLWithPath: report.path + ".sig"))
            #expect(try await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", report.path, "-sigfile", report.path + ".sig"]) != 0)
            let result = try await lethe.run(["report", "verify", report.path])
            #expect(result.status == 1 && result.stdout.contains("INVALID"))
        }
        try signature.write(to: URL(fileURLWithPath: report.path + ".sig"))

        // No seeded e-mail or name anywhere under the output directory.
        var everything = ""
        for name in files { everything += (try? String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        for c in seeded.customers {
            #expect(!everything.contains(c.email) && !everything.contains(c.externalId))
            #expect(!everything.contains(c.familyName), "\(c.familyName) in a report file")
            #expect(!everything.contains("\(c.givenName) \(c.familyName)"))
        }
        #expect(everything.contains("psn_"))

        // After a key rotation, old reports still verify by the key id they name.
        #expect(try await lethe.run(["keys", "rotate"]).status == 0)
        #expect(try await lethe.run(["report", "verify", report.path]).status == 0)
        let other = scratch.appendingPathComponent("new.pub.pem")
        try await Data(try lethe.run(["keys", "public"]).stdout.utf8).write(to: other)
        let wrong = try await lethe.run(["report", "verify", report.path, "--public-key", other.path])
        #expect(wrong.status == 1 && wrong.stdout.contains("names signing key"))
    }
}
