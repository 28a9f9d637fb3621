import Foundation
import LetheApp
import LetheCore
import LetheSandbox
import LetheStorage
import LetheStore
import LetheTesting
import Testing

/// Graceful shutdown of `lethe run` through the binary, against a sandbox whose app target
/// takes 1.5 s per call.
@Suite("lethe run stops gracefully on SIGTERM", .serialized)
struct ShutdownCLITests {
    @Test("SIGTERM with actions in flight: no new call, every claimed action recorded, exit 0 within 3 s; the next run finishes")
    func sigtermWhileBusy() async throws {
        let targets = ["shop", "app", "newsletter", "crm"]
        let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: 4, randomSeed: 3,
                                                    faults: try FaultSpec.parse("app:latency=1500ms", targets: targets)))
        let server = try await SandboxServer.start(sandbox)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sigterm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var env = ["LETHE_STATE_DIR": scratch.path, "LETHE_POLICIES": Repository.path("policies").path]
        for target in targets {
            env["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        var ids: [String] = []
        for customer in 0..<2 where SandboxCustomers.isPresent(customer, in: "app") {
            let filed = try await lethe.run(["erase", "--email", SandboxCustomers.email(customer), "--ref", "SIG-\(customer)"])
            #expect(filed.status == 0, "\(filed.stderr)")
            ids.append(filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(!ids.isEmpty)

        let database = try StateDirectory(path: scratch.path).openDatabase()
        let (took, reason, status, callsAfter) = try await lethe.withStarted(["run"]) { run in
            // Wait until app's actions are in flight (claimed, first call under way).
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                let running = try ids.flatMap { try database.actions(of: $0) }.filter { $0.target == "app" && $0.state == .running }
                if running.count == ids.count { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            let callsBefore = sandbox.requestCount(target: "app")
            let signalled = Date()
            run.terminate()  // SIGTERM
            while run.isRunning && Date().timeIntervalSince(signalled) < 10 { try await Task.sleep(nanoseconds: 20_000_000) }
            let took = Date().timeIntervalSince(signalled)
            #expect(!run.isRunning)
            return (took, run.terminationReason, run.terminationStatus, sandbox.requestCount(target: "app") - callsBefore)
        }
        #expect(took <= 3.0, "exited \(String(format: "%.2f", took)) s after SIGTERM")
        #expect(reason == .exit && status == 0)
        // Calls to app after the signal: at most the one each action had in flight finishing.
        #expect(callsAfter <= ids.count, "no new call after SIGTERM")

        for id in ids {
            let actions = try database.actions(of: id)
            #expect(actions.allSatisfy { $0.state != .running }, "every claimed action recorded: \(actions.map { "\($0.target) \($0.state)" })")
            let app = try #require(actions.first { $0.target == "app" })
            #expect(app.state == .pending, "the interrupted app action waits for the next run")
            #expect(try database.attempts(of: app.id).last?.result == "interrupted")
        }

        let next = try await lethe.run(["run", "--until-idle", "--timeout", "2m"])
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        for id in ids {
            #expect(try database.request(id)?.state == .completed)
        }
        #expect(try await lethe.run(["audit", "verify"]).status == 0)
        await server.stop()
    }
}
