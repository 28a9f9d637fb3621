import Foundation
import LetheTesting
import Testing

@Suite("lethe demo")
struct DemoCLITests {
    @Test("swift run lethe demo: the outcome table for all four targets, a signed report openssl accepts, nothing left running")
    func demo() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-demo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Run from an empty directory: the demo needs no files around it.
        let lethe = CommandRunner(workingDirectory: scratch)
        let started = Date()
        let result = try await lethe.run(["demo"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)
        for target in ["shop", "app", "newsletter", "crm"] {
            #expect(result.stdout.contains(" \(target) "), "\(target) missing from the table")
        }
        #expect(result.stdout.contains("absent"))
        // crm answered 429 at least once (the seed makes it so), and the demo says so about crm.
        let retried = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("retried after 429") })
        #expect(retried.contains("crm ("), "\(retried)")
        let reports = scratch.appendingPathComponent("reports")
        let files = try FileManager.default.contentsOfDirectory(atPath: reports.path)
        let json = try #require(files.first { $0.hasSuffix(".json") })
        #expect(result.stdout.contains("signed report: reports/\(json)"))
        let openssl = try await CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env")).run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", reports.appendingPathComponent("lethe-demo.pub.pem").path,
             "-rawin", "-in", reports.appendingPathComponent(json).path, "-sigfile", reports.appendingPathComponent(json + ".sig").path])
        #expect(openssl.status == 0, "\(openssl.stdout)\(openssl.stderr)")
    }
}
