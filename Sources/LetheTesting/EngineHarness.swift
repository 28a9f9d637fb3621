import Foundation
import LetheApp
import LetheCore
import LetheDemo
import LetheEngine
import LetheSandbox
import LetheSCIM
import LetheStorage
import LetheStore
import Synchronization

/// The engine in-process on the same composition root as `lethe run` (a `Runtime`), over a
/// fresh in-memory database, with fast retries and optional faults on the wire. Every engine
/// and sandbox test uses it, against scim2-server tenants or the in-process sandbox.
public final class EngineHarness: Sendable {
    public let runtime: Runtime
    public let database: AppDatabase
    public let pseudonymizer: Pseudonymizer
    /// Faults on the wire, changeable between runs.
    public let faults: FaultyTransport?
    /// The clock the engine runs on.
    public let clock: any LetheClock
    /// The scim2-server tenants (nil against the sandbox) and their seeder.
    public let seeder: Seeder?
    public let peer: SCIM2ServerPeer?
    /// The sandbox server (nil against scim2-server).
    public let sandbox: SandboxServer?
    /// The rules that make the sandbox lie (with `sandbox(hostile: true)`).
    public let hostile: HostileSCIM?

    public var policies: PolicySet { runtime.policies }

    init(policies: PolicySet, environment: [String: String], clock: any LetheClock, seeder: Seeder?, peer: SCIM2ServerPeer?,
         sandbox: SandboxServer?, hostile: HostileSCIM? = nil) {
        self.hostile = hostile
        let faults = Mutex<FaultyTransport?>(nil)
        let pseudonymizer = Pseudonymizer(key: Data((0..<32).map { UInt8($0) }))
        let database: AppDatabase
        do { database = try AppDatabase.inMemory() } catch { preconditionFailure("an in-memory database always opens: \(error)") }
        runtime = Runtime(
            Runtime.Configuration(policies: policies, environment: environment, wrapTransport: { live in
                let wrapped = FaultyTransport(wrapping: live, rules: [])
                faults.withLock { $0 = wrapped }
                return wrapped
            }, clock: clock),
            storage: Runtime.Storage(state: nil, database: database, pseudonymizer: pseudonymizer))
        // Build the clients now so the fault layer exists before the first run.
        _ = try? runtime.clients
        self.faults = faults.withLock { $0 }
        self.database = database
        self.pseudonymizer = pseudonymizer
        self.clock = clock
        self.seeder = seeder
        self.peer = peer
        self.sandbox = sandbox
    }

    /// Policies with retries in milliseconds and no rate limit, so tests do not wait.
    static func fast(_ loaded: PolicySet, maxAttempts: Int, retryMax: TimeSpan = TimeSpan(milliseconds: 200)) -> PolicySet {
        PolicySet(policies: loaded.policies.map { policy in
            var fast = policy
            fast.engine.retry = RetrySettings(base: TimeSpan(milliseconds: 20), max: retryMax, maxAttempts: maxAttempts)
            fast.engine.rateLimit = nil
            return fast
        }, purposes: loaded.purposes, settings: loaded.settings)
    }

    /// The reference policies (`policies/`) against four fresh scim2-server tenants.
    public static func scim2Server(maxAttempts: Int = 3, clock: any LetheClock = SystemClock(),
                                   adjust: (inout TargetPolicy) -> Void = { _ in }) throws -> EngineHarness {
        let peer = try SCIM2ServerPeer.running()
        let tenants = Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) })
        let seeder = Seeder(tenants: tenants)
        let environment = seeder.environment(token: peer.token)
        let loaded = try PolicyDirectory.load(Repository.path("policies").path, environment: environment).get()
        var policies = fast(loaded, maxAttempts: maxAttempts)
        policies = PolicySet(policies: policies.policies.map { var p = $0; adjust(&p); return p }, purposes: policies.purposes, settings: policies.settings)
        return EngineHarness(policies: policies, environment: environment, clock: clock, seeder: seeder, peer: peer, sandbox: nil)
    }

    /// The portal policy against the django-scim2 peer (`DjangoPeer`).
    public static func django(maxAttempts: Int = 3, adjust: (inout TargetPolicy) -> Void = { _ in }) throws -> EngineHarness {
        let tenant = try DjangoPeer.running()
        let (loaded, environment) = try DjangoPeer.policies(tenant)
        var policies = fast(loaded, maxAttempts: maxAttempts)
        policies = PolicySet(policies: policies.policies.map { var p = $0; adjust(&p); return p }, purposes: policies.purposes, settings: policies.settings)
        return EngineHarness(policies: policies, environment: environment, clock: SystemClock(),
                             seeder: Seeder(tenants: ["portal": tenant]), peer: nil, sandbox: nil)
    }

    /// The embedded reference policies against the in-process sandbox, with its faults
    /// (`crm:429=0.2`, `app:latency=1500ms`, ...).
    public static func sandbox(faults: String = "", customers: Int = 8, maxAttempts: Int = 5, clock: any LetheClock = SystemClock(),
                               hostile: Bool = false, groupsOnUsers: Bool = false, extraEnvironment: [String: String] = [:],
                               settings: LetheSettings = .defaults,
                               adjust: (inout TargetPolicy) -> Void = { _ in }) async throws -> EngineHarness {
        let targets = ["shop", "app", "newsletter", "crm"]
        let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: customers, randomSeed: 7,
                                                    faults: try FaultSpec.parse(faults, targets: targets), groupsOnUsers: groupsOnUsers))
        let liar = hostile ? HostileSCIM(sandbox) : nil
        let server = try await SandboxServer.start(handler: liar ?? sandbox, sandbox: sandbox)
        var environment: [String: String] = [:]
        for target in targets {
            environment["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            environment["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        environment.merge(extraEnvironment) { _, new in new }
        let loaded = try DefaultPolicies.load(environment: environment).get()
        var policies = fast(loaded, maxAttempts: maxAttempts, retryMax: TimeSpan(milliseconds: 100))
        policies = PolicySet(policies: policies.policies.map { var p = $0; adjust(&p); return p }, purposes: policies.purposes, settings: settings)
        return EngineHarness(policies: policies, environment: environment, clock: clock, seeder: nil, peer: nil, sandbox: server, hostile: liar)
    }

    public var tenants: [String: SCIMTenant] { seeder?.tenants ?? [:] }

    /// Files a request received on 2026-11-29.
    public func file(_ kind: RequestKind, _ subject: SubjectIdentifiers, ref: String? = nil, requestedBy: String? = nil) throws -> String {
        try runtime.intake().file(Intake.Submission(kind: kind, subject: subject, ref: ref, requestedBy: requestedBy,
                                                    received: CalendarDate(iso: "2026-11-29")!),
                                  now: clock.now()).request.id
    }

    /// Runs until idle with the given faults on the wire (they replace earlier ones).
    @discardableResult
    public func run(faults rules: [FaultyTransport.Rule] = [], timeout: Double? = 60, stop: EngineStop = EngineStop()) async throws -> Engine.Summary {
        faults?.setRules(rules)
        return try await runtime.engine().run(Engine.Options(untilIdle: true, timeout: timeout, pollInterval: 0.05), stop: stop)
    }

    /// The action of a request in a target.
    public func action(_ requestId: String, _ target: String) throws -> StoredAction {
        guard let action = try database.actions(of: requestId).first(where: { $0.target == target }) else {
            throw HarnessError(description: "request \(requestId) has no action in \(target)")
        }
        return action
    }

    /// Closes the HTTP client and the sandbox. Call on every path (use `with`).
    public func shutdown() async {
        await runtime.shutdown()
        await sandbox?.stop()
    }

    /// Runs `body` with the harness and shuts it down on every path, so one failing test never
    /// leaves an HTTP client to crash the whole run.
    @discardableResult
    public func with<T: Sendable>(_ body: (EngineHarness) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    struct HarnessError: Error, CustomStringConvertible {
        var description: String
    }
}
