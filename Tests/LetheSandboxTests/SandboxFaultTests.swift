import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSandbox
import LetheSCIM
import LetheStore
import Testing

/// The engine against the sandbox, one fault kind at a time.
@Suite("Engine against the sandbox's faults")
struct SandboxFaultTests {
    struct Harness {
        let server: SandboxServer
        let database: AppDatabase
        let policies: PolicySet
        let environment: [String: String]
        let transport = AsyncHTTPClientTransport()
        let pseudonymizer = Pseudonymizer(key: Data(repeating: 1, count: 32))

        init(faults: String, maxAttempts: Int = 5) async throws {
            let targets = ["shop", "app", "newsletter", "crm"]
            let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: 8, randomSeed: 7,
                                                        faults: try FaultSpec.parse(faults, targets: targets)))
            server = try await SandboxServer.start(sandbox)
            var env: [String: String] = [:]
            for t in targets {
                env["LETHE_\(t.uppercased())_URL"] = server.baseURL(t)
                env["LETHE_\(t.uppercased())_TOKEN"] = "tok"
            }
            environment = env
            let loaded = try DefaultPolicies.load(environment: env).get()
            policies = PolicySet(policies: loaded.policies.map { p in
                var fast = p
                fast.connection.retry = RetrySettings(base: TimeSpan(milliseconds: 20), max: TimeSpan(milliseconds: 100), maxAttempts: maxAttempts)
                return fast
            }, purposes: loaded.purposes)
            database = try AppDatabase.inMemory()
        }

        func file(_ kind: RequestKind, customer: Int) throws -> String {
            try Intake(database: database, policies: policies, pseudonymizer: pseudonymizer).file(
                Intake.Submission(kind: kind, subject: SubjectIdentifiers(email: SandboxCustomers.email(customer)), received: CalendarDate(iso: "2026-11-29")!),
                now: Date()).request.id
        }

        func run() async throws -> Engine.Summary {
            let engine = Engine(database: database, policies: policies,
                                clients: TargetClients(policies: policies, environment: environment, transport: transport), pseudonymizer: pseudonymizer)
            let summary = try await engine.run(Engine.Options(untilIdle: true, timeout: 60, pollInterval: 0.05))
            await transport.shutdown()
            await server.stop()
            return summary
        }

        func action(_ request: String, _ target: String) throws -> StoredAction {
            try database.actions(of: request).first { $0.target == target }!
        }
    }

    @Test("429 with Retry-After: retried after the wait, then completed")
    func rateLimited() async throws {
        let h = try await Harness(faults: "crm:429=0.15,crm:retry-after=1", maxAttempts: 20)
        let id = try h.file(.revocation(purposes: ["marketing"]), customer: 1)
        let summary = try await h.run()
        #expect(summary.requests[id] == .completed)
        let crm = try h.action(id, "crm")
        let attempts = try h.database.attempts(of: crm.id)
        #expect(attempts.count >= 2 && attempts.first?.statusCode == 429, "\(attempts.map(\.result))")
        for (a, b) in zip(attempts, attempts.dropFirst()) where a.statusCode == 429 {
            #expect(b.startedAt.timeIntervalSince(a.startedAt) >= 1.0, "waited for Retry-After")
        }
    }

    @Test("a soft delete ends failed, not verified")
    func softDelete() async throws {
        let h = try await Harness(faults: "app:soft-delete")
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.run()
        let app = try h.action(id, "app")
        #expect(app.state == .failed && app.verified == false && app.lastError?.contains("soft delete") == true)
        #expect(try h.action(id, "shop").state == .succeeded)
    }

    @Test("a PATCH that ignores extension paths ends failed, not verified")
    func ignoredPatch() async throws {
        let h = try await Harness(faults: "crm:ignore-extension-patch")
        let id = try h.file(.revocation(purposes: ["marketing"]), customer: 1)
        _ = try await h.run()
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.verified == false && crm.lastError?.contains("marketingSegment still holds a value") == true)
    }

    @Test("dropped connections are retried until the work is done")
    func dropped() async throws {
        let h = try await Harness(faults: "newsletter:drop=0.4", maxAttempts: 30)
        let id = try h.file(.revocation(purposes: ["newsletter"]), customer: 2)
        let summary = try await h.run()
        #expect(summary.requests[id] == .completed)
        let newsletter = try h.action(id, "newsletter")
        #expect(newsletter.attempts >= 2 && newsletter.outcome == .deleted)
        #expect(try h.database.attempts(of: newsletter.id).contains { $0.error?.contains("connection") == true })
    }

    @Test("503 and latency: the broken target fails within its budget; a slow one still completes")
    func brokenAndSlow() async throws {
        let h = try await Harness(faults: "shop:503=1,app:latency=200ms", maxAttempts: 3)
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.run()
        #expect(try h.action(id, "shop").state == .failed)
        #expect(try h.action(id, "app").state == .succeeded)
        #expect(try h.action(id, "crm").state == .succeeded)
    }
}
