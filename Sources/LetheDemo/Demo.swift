import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheReports
import LetheSandbox
import LetheStorage
import Logging
import ServiceLifecycle
import Synchronization

/// `lethe demo`: the whole job on a fresh machine, against the sandbox.
public struct Demo: Sendable {
    public var reportsDirectory: String
    public var keepState: Bool
    public var customers = 14
    /// A rate limit met for certain: crm answers its second SCIM call with 429 and
    /// `Retry-After: 1`, once. (A random rate was timing-dependent both ways: at one in eight
    /// some runs met no 429; at one in five a consent withdrawal that makes seven calls per
    /// attempt could meet one in each of its eight attempts and fail the demo.)
    public var faults = "crm:429-at=2,crm:retry-after=1"
    /// Runs after the demo's job, with its runtime, while the sandbox still answers (`lethe
    /// demo --serve` serves the dashboard here until Ctrl-C).
    public var afterwards: (@Sendable (Runtime, _ say: @escaping @Sendable (String) -> Void) async throws -> Void)?

    public init(reportsDirectory: String, keepState: Bool) {
        self.reportsDirectory = reportsDirectory
        self.keepState = keepState
    }

    /// What the demo did, for the caller to print and to choose the exit status.
    public struct Result: Sendable {
        public var allCompleted: Bool
        public var reportValid: Bool
        public var reportPath: String
    }

    /// Runs the demo, telling what happens through `say`.
    ///
    /// The sandbox and the demo's job run as services of one `ServiceGroup`: SIGINT or SIGTERM
    /// shut both down gracefully (the engine records what is in flight), and the sandbox stops
    /// when the job is done.
    public func run(say: @escaping @Sendable (String) -> Void) async throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-demo-\(UUID().uuidString.prefix(8))")
        let state = StateDirectory(path: scratch.appendingPathComponent("state").path)
        try state.initialize()
        defer { if !keepState { try? FileManager.default.removeItem(at: scratch) } }

        let targets = ["shop", "app", "newsletter", "crm"]
        let token = "lethe-demo-\(UUID().uuidString.prefix(8))"
        let sandbox = Sandbox(Sandbox.Configuration(
            targets: targets, token: token, seedCustomers: customers, randomSeed: 2026,
            faults: try FaultSpec.parse(faults, targets: targets)))
        let server = try await SandboxServer.start(sandbox)
        var environment: [String: String] = [:]
        for target in sandbox.configuration.targets {
            environment["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            environment["LETHE_\(target.uppercased())_TOKEN"] = token
        }
        let policies: PolicySet
        do {
            policies = try DefaultPolicies.load(environment: environment, demo: true).get()
        } catch {
            await server.stop()
            throw error
        }
        let job = DemoJob(demo: self, state: state, policies: policies, environment: environment, port: server.port, say: say)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: SandboxService(server: server)),
                .init(service: job, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "lethe.demo")))
        try await group.run()
        guard let result = job.result else { throw DemoError.interrupted }
        return result
    }

    /// The demo was stopped (Ctrl-C) before it finished.
    public enum DemoError: Error, Sendable {
        case interrupted
    }

    func work(state: StateDirectory, policies: PolicySet, environment: [String: String], port: Int,
              say: @escaping @Sendable (String) -> Void) async throws -> Result {
        try await Runtime.with(Runtime.Configuration(policies: policies, state: state, environment: environment)) { runtime in
            try await work(runtime: runtime, port: port, say: say)
        }
    }

    private func work(runtime: Runtime, port: Int, say: @escaping @Sendable (String) -> Void) async throws -> Result {
        let storage = try runtime.requireStorage()
        let database = storage.database
        say("Lethe demo: four SCIM targets (shop, app, newsletter, crm) in a sandbox on 127.0.0.1:\(port), "
            + "\(customers) seeded customers each; crm answers one call with 429 and Retry-After: 1. "
            + "A fifth system, warehouse, has no API (kind: manual): a person deletes there and confirms.")
        say("State in \(storage.state?.path ?? "memory") (temporary). Policies: the embedded reference set (policies/*.yaml).")
        say("")

        let intake = try runtime.intake()
        let received = runtime.today
        let absent = (0..<customers).first { !SandboxCustomers.isPresent($0, in: "app") } ?? 6
        let filings: [(String, RequestKind, Int, String)] = [
            ("DEMO-1", .erasure, 0, "erase a customer known everywhere"),
            ("DEMO-2", .erasure, absent, "erase a customer with no account in app and newsletter"),
            ("DEMO-3", .revocation(purposes: ["marketing"]), 1, "withdraw consent for marketing"),
            ("DEMO-4", .revocation(purposes: ["newsletter"]), 2, "withdraw consent for the newsletter"),
        ]
        var requestIds: [String] = []
        for (ref, kind, customer, why) in filings {
            let subject = SubjectIdentifiers(email: SandboxCustomers.email(customer), externalId: SandboxCustomers.externalId(customer))
            let filed = try intake.file(Intake.Submission(kind: kind, subject: subject, ref: ref, requestedBy: "lethe demo", received: received), now: runtime.configuration.clock.now())
            requestIds.append(filed.request.id)
            say("filed \(ref) \(filed.request.id): \(why) (subject \(filed.request.pseudonym))")
        }
        say("")
        say("running until idle…")
        let started = Date()
        let engine = EngineService(engine: try runtime.engine(), options: Engine.Options(untilIdle: true, timeout: 50, pollInterval: 0.1))
        try await engine.run()
        guard let summary = engine.summary, !summary.stopped else { throw DemoError.interrupted }
        say("done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(summary.attempts) attempts"
            + (summary.timedOut ? " (TIMED OUT)" : ""))
        // The manual system's tasks: a second person does them by hand and confirms, as
        // `lethe tasks` and `lethe confirm` (or the dashboard's Tasks page) would.
        let tasks = try database.openTasks()
        for (request, action) in tasks {
            _ = try runtime.decisions().confirm(request.id, target: action.target, outcome: .erased, by: .person("Dana (data team)"),
                                                note: "deleted by hand, runbook DW-7", now: runtime.configuration.clock.now())
        }
        if !tasks.isEmpty {
            say("\(tasks.count) warehouse task\(tasks.count == 1 ? "" : "s") handed to a person; Dana (data team) did them by hand and confirmed "
                + "(`lethe tasks`, `lethe confirm`): recorded as confirmed by a person, not verified")
        }
        say("")

        // The outcome table.
        say("REF     REQUEST                   KIND        STATE       TARGET      OPERATION          OUTCOME             VERIFIED  ATTEMPTS")
        var allCompleted = true
        for ((ref, _, _, _), id) in zip(filings, requestIds) {
            guard let request = try database.request(id) else { continue }
            if request.state != .completed { allCompleted = false }
            for (index, action) in try database.actions(of: id).enumerated() {
                let prefix = index == 0
                    ? ref.padding(toLength: 8, withPad: " ", startingAt: 0) + id.padding(toLength: max(26, id.count + 2), withPad: " ", startingAt: 0)
                        + request.kind.padding(toLength: 12, withPad: " ", startingAt: 0) + request.state.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: 58)
                let verified = action.outcome == .notApplicable ? "-" : action.verified.map { $0 ? "yes" : "NO" } ?? (action.evidence == .person ? "person" : "-")
                say(prefix + action.target.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + (action.notBefore.map { "erase \($0)" } ?? action.plan.operation.rawValue).padding(toLength: 19, withPad: " ", startingAt: 0)
                    + (action.outcome?.rawValue ?? action.state.rawValue).padding(toLength: 20, withPad: " ", startingAt: 0)
                    + verified.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(action.attempts)")
            }
        }
        if try requestIds.contains(where: { try database.actions(of: $0).contains { $0.follows != nil } }) {
            say("(\"erase DATE\": data kept under a legal obligation, erased the day after its retention ends)")
        }
        say("")
        // Only actions that really met a 429 (not any retry).
        let retried = try requestIds.flatMap { try database.actions(of: $0) }
            .filter { action in try database.attempts(of: action.id).contains { $0.statusCode == 429 } }
        if !retried.isEmpty {
            say("retried after 429 + Retry-After: \(retried.map { "\($0.target) (\($0.attempts) attempts)" }.joined(separator: ", "))")
        }

        // The signed report, verified here and verifiable anywhere with openssl.
        let service = try runtime.reports()
        let written = try service.exportPeriod(from: received, to: received, into: reportsDirectory)
        let publicKeyPath = (reportsDirectory as NSString).appendingPathComponent("lethe-demo.pub.pem")
        try service.state.signer().publicKey.pem.write(toFile: publicKeyPath, atomically: true, encoding: .utf8)
        let verification = try ReportVerifier.verify(
            json: try Data(contentsOf: URL(fileURLWithPath: written.json)), signature: try Data(contentsOf: URL(fileURLWithPath: written.signature)),
            publicKey: try service.state.signer().publicKey, database: database)
        say("signed report: \(written.json)")
        say("  with \(written.signature), \(written.csv ?? ""), \(written.html)")
        say("  lethe verified it: " + (verification.isValid ? verification.passed.joined(separator: "; ") : "INVALID: \(verification.problem ?? "")"))
        say("verify it yourself with nothing but the public key:")
        say("  openssl pkeyutl -verify -pubin -inkey \(publicKeyPath) -rawin -in \(written.json) -sigfile \(written.signature)")
        if let afterwards { try await afterwards(runtime, say) }
        return Result(allCompleted: allCompleted && !summary.timedOut, reportValid: verification.isValid, reportPath: written.json)
    }
}

/// The demo's work (file, run, report) as the service that ends the group when it is done.
final class DemoJob: Service {
    let demo: Demo
    let state: StateDirectory
    let policies: PolicySet
    let environment: [String: String]
    let port: Int
    let say: @Sendable (String) -> Void
    private let outcome = Mutex<Demo.Result?>(nil)

    init(demo: Demo, state: StateDirectory, policies: PolicySet, environment: [String: String], port: Int, say: @escaping @Sendable (String) -> Void) {
        self.demo = demo
        self.state = state
        self.policies = policies
        self.environment = environment
        self.port = port
        self.say = say
    }

    var result: Demo.Result? { outcome.withLock { $0 } }

    func run() async throws {
        let result = try await demo.work(state: state, policies: policies, environment: environment, port: port, say: say)
        outcome.withLock { $0 = result }
    }
}
