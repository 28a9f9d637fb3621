import Foundation
import LetheHTTP
import LetheSCIM
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
        // The manual system: handed to a person, confirmed by the demo's second person, said so.
        let warehouse = result.stdout.split(separator: "\n").filter { $0.contains(" warehouse ") && $0.contains(" delete ") }
        #expect(warehouse.count == 2 && warehouse.allSatisfy { $0.contains("deleted") && $0.contains("person") && !$0.contains("yes") },
                "\(warehouse)")
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

    @Test("lethe demo --serve: the demo, then the dashboard on its state with a one-time officer token; populated; Ctrl-C ends it with 0")
    func demoServe() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-demo-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let port = try FreePort.find()
        let log = scratch.appendingPathComponent("stdout.log")
        let lethe = CommandRunner(workingDirectory: scratch)
        try await lethe.withStarted(["demo", "--serve", "--listen", "127.0.0.1:\(port)"], errorLog: scratch.appendingPathComponent("stderr.log"),
                                    outputLog: log) { process in
            var text = ""
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline, process.isRunning, !text.contains("sign in as an officer with") {
                try await Task.sleep(nanoseconds: 200_000_000)
                text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            }
            #expect(text.contains("The dashboard: http://127.0.0.1:\(port)/"), "\(text)")
            let token = try #require(text.split(separator: "\n").first { $0.contains("sign in as an officer with") }?.split(separator: " ").last.map(String.init))
            let http = AsyncHTTPClientTransport()
            defer { Task { await http.shutdown() } }
            let signIn = try await http.send(HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/signin",
                                                         headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
                                                         body: Data("token=\(token)".utf8)))
            #expect(signIn.status == 303)
            let cookie = try #require(signIn.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
            let requests = try await http.send(HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/requests", headers: [HTTPHeader("Cookie", cookie)]))
            let page = String(decoding: requests.body, as: UTF8.self)
            #expect(requests.status == 200)
            for ref in ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"] { #expect(page.contains(ref), "\(ref) on the requests page") }
            kill(process.processIdentifier, SIGINT)
            await CommandRunner.waitForExit(process)
            #expect(process.terminationStatus == 0)
        }
    }
}
