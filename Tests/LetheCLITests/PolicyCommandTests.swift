import Foundation
import LetheTesting
import Testing

@Suite("lethe policy check and lethe plan, as a user runs them")
struct PolicyCommandTests {
    static let root = Repository.root
    static let corpus = root.appendingPathComponent("Tests/Fixtures/broken-policies")
    static let cases: [String] = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)
        .filter { !$0.hasSuffix(".py") && !$0.hasPrefix(".") }.sorted()) ?? []

    let lethe = CommandRunner(workingDirectory: root)

    @Test("--help teaches: lethe --help, lethe erase --help and lethe help sweep print their help on stdout and exit 0")
    func help() async throws {
        for arguments in [["--help"], ["erase", "--help"], ["help", "sweep"]] {
            let result = try await lethe.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("USAGE: lethe"), "\(arguments): \(result.stdout)")
            #expect(!result.stderr.contains("CommandError"), "\(arguments): \(result.stderr)")
        }
        #expect(try await lethe.run(["sweep", "--help"]).stdout.contains("--batch-size"))
    }

    @Test("the shipped policies pass, exit 0")
    func shippedPoliciesPass() async throws {
        let result = try await lethe.run(["policy", "check"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("4 target policies valid"))
    }

    @Test("each broken policy exits 65 and names FILE:LINE:COL", arguments: cases)
    func brokenPolicyExits65(caseName: String) async throws {
        let directory = Self.corpus.appendingPathComponent(caseName)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let marked = try #require(files.first { name in
            (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))?.hasPrefix("# expect: ") == true
        })
        let header = try String(contentsOf: directory.appendingPathComponent(marked), encoding: .utf8).prefix { $0 != "\n" }
        let position = header.dropFirst("# expect: ".count).prefix { $0 != " " }

        let result = try await lethe.run(["policy", "check", "--policies", directory.path])

        #expect(result.status == 65)
        #expect(result.stderr.contains("\(directory.path)/\(marked):\(position): error:"), "\(result.stderr)")
        #expect(result.stderr.contains("hint:") || caseName == "missing-erasure")
        #expect(result.stdout.isEmpty)
    }

    @Test("--json reports validity and diagnostics for machines")
    func jsonOutput() async throws {
        let bad = try await lethe.run(["policy", "check", "--json", "--policies", Self.corpus.appendingPathComponent("unknown-purpose").path])
        #expect(bad.status == 65)
        let check = try bad.decode(CLIJSON.PolicyCheck.self)
        #expect(!check.valid)
        #expect(check.diagnostics.contains { $0.severity == "error" && $0.message.contains("marketting") })
    }

    @Test("LETHE_POLICIES selects the directory, and a missing one is a clear error")
    func policiesFromEnvironment() async throws {
        let result = try await lethe.run(["policy", "check"], extraEnvironment: ["LETHE_POLICIES": "/nonexistent/policies"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("policy directory '/nonexistent/policies' does not exist"))
    }

    @Test("lethe plan --erase --email ana@example.com --json prints the four reference actions")
    func planErasureJSON() async throws {
        let result = try await lethe.run(["plan", "--erase", "--email", "ana@example.com", "--received", "2026-11-29", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        // Decoding fails when target, operation, attributes, groups, retained or reason is missing.
        let actions = try result.decode([CLIJSON.PlannedAction].self)
        let byTarget = Dictionary(uniqueKeysWithValues: actions.map { ($0.target, $0) })
        #expect(byTarget["shop"]?.operation == "anonymize")
        #expect(byTarget["app"]?.operation == "delete")
        #expect(byTarget["newsletter"]?.operation == "delete")
        #expect(byTarget["crm"]?.operation == "anonymize")
        let retained = try #require(byTarget["shop"]?.retained)
        #expect(retained.first?.attributes == ["addresses"])
        #expect(retained.first?.until == "2036-11-29")
        #expect(retained.first?.basis == "legal_obligation")
        #expect(!result.stdout.contains("ana@example.com"), "a plan carries no identifier")
    }

    @Test("lethe plan --revoke marketing shows crm removing the segment, readable by default")
    func planRevokeText() async throws {
        let result = try await lethe.run(["plan", "--revoke", "marketing", "--email", "ana@example.com"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("crm: remove_attributes"))
        #expect(result.stdout.contains("leaves:     Promotions"))
        #expect(result.stdout.contains("shop: none"))
    }

    @Test("bad requests are refused with usage errors", arguments: [
        (["plan", "--email", "ana@example.com"], "--erase, or --revoke"),
        (["plan", "--erase"], "name the subject"),
        (["plan", "--erase", "--email", "not-an-email"], "not an e-mail address"),
        (["plan", "--erase", "--email", "a@x.org", "--received", "2026-02-30"], "not a date"),
        (["plan", "--revoke", "marketting", "--email", "a@x.org"], "did you mean 'marketing'?"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        let result = try await lethe.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("checking and planning create nothing on disk")
    func changesNothing() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let here = CommandRunner(workingDirectory: scratch)
        let policies = Self.root.appendingPathComponent("policies").path
        #expect(try await here.run(["policy", "check", "--policies", policies]).status == 0)
        #expect(try await here.run(["plan", "--erase", "--email", "a@x.org", "--policies", policies]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }
}
