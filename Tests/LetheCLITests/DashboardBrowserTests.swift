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
}
