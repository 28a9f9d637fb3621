import Foundation
import LetheSandbox
import LetheTesting
import Testing

extension ServeCLITests {
    /// The Python with selenium (from `scripts/peers install`, next to Debian's chromium).
    static var browserPython: String? {
        let env = ProcessInfo.processInfo.environment
        return env["LETHE_TEST_BROWSER_PYTHON"] ?? (SCIM2ServerPeer.isCI ? Repository.path(".venv-api/bin/python").path : nil)
    }

    /// Where the browser test leaves its screenshots and downloads (kept after the run).
    static var browserOutput: URL { Repository.path(".build/test-output/dashboard") }

    @Test("the dashboard in Chromium: an officer files an erasure after seeing its plan, sees it completed and verified, downloads the certificate (openssl verifies it); an auditor has no action buttons and a crafted POST is refused; a form without its CSRF token is refused; every page screenshotted without console errors",
          .enabled(if: browserPython != nil))
    func dashboardInChromium() async throws {
        let python = try #require(Self.browserPython)
        #expect(FileManager.default.isExecutableFile(atPath: python), "\(python) is missing: run scripts/peers install")
        let targets = try await SandboxTargets.start()
        let environment = targets.environment(stateDir: URL(fileURLWithPath: "/unused"))
            .filter { $0.key != "LETHE_STATE_DIR" && $0.key != "LETHE_POLICIES" }
        try? FileManager.default.removeItem(at: Self.browserOutput)
        try await serving(environment) { served, _ in
            let key = served.scratch.appendingPathComponent("lethe.pub.pem")
            try Data(try await served.lethe.run(["keys", "public"]).stdout.utf8).write(to: key)
            var env = ProcessInfo.processInfo.environment
            env["LETHE_BASE"] = served.base
            env["LETHE_OFFICER_TOKEN"] = served.tokens["officer"]
            env["LETHE_AUDITOR_TOKEN"] = served.tokens["auditor"]
            env["LETHE_EMAIL"] = SandboxCustomers.email(0)
            env["LETHE_PUBKEY"] = key.path
            env["LETHE_OUT"] = Self.browserOutput.path
            let result = try await CommandRunner(executable: URL(fileURLWithPath: python), environment: env, workingDirectory: Repository.root)
                .run([Repository.path("Tests/Browser/dashboard.py").path])
            #expect(result.status == 0, "browser checks failed:\n\(result.stdout.suffix(8000))\(result.stderr.suffix(4000))")
            #expect(result.stdout.contains("all browser checks passed"), "\(result.stdout.suffix(2000))")
            let screenshots = try FileManager.default.contentsOfDirectory(atPath: Self.browserOutput.path).filter { $0.hasSuffix(".png") }
            #expect(screenshots.count >= 11, "one screenshot per page: \(screenshots.sorted())")
        }
    }

    @Test("the Tasks page in Chromium: a manual target's task is listed for an auditor without the subject's identifiers and without a form; an officer sees them, records the outcome, and afterwards no page shows the identifier; the request says 'confirmed by a person'",
          .enabled(if: browserPython != nil))
    func tasksInChromium() async throws {
        let python = try #require(Self.browserPython)
        let targets = try await SandboxTargets.start()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-tasks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let policies = try policiesWithSettings("grace: 0s\n", in: scratch)
        try Data(ManualTargetCLITests.warehouse.utf8).write(to: policies.appendingPathComponent("warehouse.yaml"))
        var environment = targets.environment(stateDir: URL(fileURLWithPath: "/unused")).filter { $0.key != "LETHE_STATE_DIR" }
        environment["LETHE_POLICIES"] = policies.path
        let output = Self.browserOutput.deletingLastPathComponent().appendingPathComponent("tasks")
        try? FileManager.default.removeItem(at: output)
        try await serving(environment) { served, _ in
            let email = SandboxCustomers.email(0)
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"], body: Self.erasure(email, ref: "TASK-1"))
            #expect(filed.status == 201)
            let id = try #require(filed.json?["id"]?.stringValue)
            // The engine inside hands the warehouse action to a person.
            var waiting = false
            for _ in 0..<150 where !waiting {
                let view = try await served.call(.get, "/api/v1/requests/\(id)", token: served.tokens["officer"])
                waiting = view.json?["actions"]?.arrayValue?.contains { $0["target"]?.stringValue == "warehouse" && $0["state"]?.stringValue == "awaiting_confirmation" } == true
                if !waiting { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(waiting, "the warehouse task was not handed over")
            var env = ProcessInfo.processInfo.environment
            env["LETHE_BASE"] = served.base
            env["LETHE_OFFICER_TOKEN"] = served.tokens["officer"]
            env["LETHE_AUDITOR_TOKEN"] = served.tokens["auditor"]
            env["LETHE_EMAIL"] = email
            env["LETHE_REQUEST"] = id
            env["LETHE_OUT"] = output.path
            let result = try await CommandRunner(executable: URL(fileURLWithPath: python), environment: env, workingDirectory: Repository.root)
                .run([Repository.path("Tests/Browser/tasks.py").path])
            #expect(result.status == 0, "browser checks failed:\n\(result.stdout.suffix(8000))\(result.stderr.suffix(4000))")
            #expect(result.stdout.contains("all browser checks passed"), "\(result.stdout.suffix(2000))")
            let view = try await served.call(.get, "/api/v1/requests/\(id)", token: served.tokens["auditor"])
            let warehouse = view.json?["actions"]?.arrayValue?.first { $0["target"]?.stringValue == "warehouse" }
            #expect(view.json?["state"]?.stringValue == "completed")
            #expect(warehouse?["evidence"]?.stringValue == "person" && warehouse?["confirmed_by"]?.stringValue == "officer desk",
                    "\(String(describing: warehouse))")
        }
    }
}
