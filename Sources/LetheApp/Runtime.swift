import Foundation
import LetheCore
import LetheEngine
import LetheReports
import LetheHTTP
import LetheSCIM
import LetheStorage
import LetheStore
import Logging
import ServiceLifecycle
import Synchronization

/// The composition root: the one place where Lethe's object graph is put together.
///
/// Built once per process (or per test) from the policies, the state directory, the
/// environment and an optional transport. It owns the HTTP client and its shutdown, the
/// target clients, and hands out the engine, intake, sweeps, reports and the run lock.
/// `lethe run`, `sweep --run`, `demo`, `target check/find` and the tests all start here.
public final class Runtime: Sendable {
    /// What a runtime is built from.
    public struct Configuration: Sendable {
        public var policies: PolicySet
        /// The state directory; nil for commands that only talk to targets (`target check`).
        public var state: StateDirectory?
        /// Where `${VAR}` secrets and URLs are read from.
        public var environment: [String: String]
        /// Replaces the live AsyncHTTPClient transport. The runtime does not shut an override
        /// down: its owner does.
        public var transport: (any HTTPTransport)?
        /// Wraps the transport (the live one or the override) before any client uses it: fault
        /// injection in tests, call counting in benchmarks.
        public var wrapTransport: (@Sendable (any HTTPTransport) -> any HTTPTransport)?
        public var clock: any LetheClock
        public var logger: Logger
        /// Told of every call to a target, after it: target, method, HTTP status (nil when no
        /// answer came) and how long it took. `lethe serve` counts them for `/metrics`.
        public var observeCall: (@Sendable (_ target: String, _ method: String, _ status: Int?, _ duration: Duration) -> Void)?

        public init(policies: PolicySet, state: StateDirectory? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                    transport: (any HTTPTransport)? = nil, wrapTransport: (@Sendable (any HTTPTransport) -> any HTTPTransport)? = nil,
                    clock: any LetheClock = SystemClock(), logger: Logger = Logger(label: "lethe")) {
            self.policies = policies
            self.state = state
            self.environment = environment
            self.transport = transport
            self.wrapTransport = wrapTransport
            self.clock = clock
            self.logger = logger
        }
    }

    /// The opened state directory: database and pseudonym key.
    public struct Storage: Sendable {
        /// Nil for an in-memory database in tests: no lock, no signing key.
        public let state: StateDirectory?
        public let database: any Store
        public let pseudonymizer: Pseudonymizer

        public init(state: StateDirectory?, database: any Store, pseudonymizer: Pseudonymizer) {
            self.state = state
            self.database = database
            self.pseudonymizer = pseudonymizer
        }

        /// Whether one process owns the store while it works (SQLite, under the run lock): then
        /// once-per-deployment jobs need not wait out the lease of a holder that died.
        public var isExclusive: Bool { database is AppDatabase }
    }

    public let configuration: Configuration
    public var policies: PolicySet { configuration.policies }
    /// Nil when the runtime was built without a state directory.
    public let storage: Storage?

    private struct Connections {
        var live: AsyncHTTPClientTransport?
        var clients: TargetClients?
        var shutDown = false
    }

    private let connections = Mutex(Connections())
    /// How many workers share each target's rate_limit (kept by `WorkerPresence` on a shared store).
    public let pace = PaceShare()

    /// Opens the state directory (when given). The HTTP client is created on first use.
    public convenience init(_ configuration: Configuration) throws {
        let storage = try configuration.state.map { state in
            Storage(state: state, database: try state.openDatabase(), pseudonymizer: try state.pseudonymizer())
        }
        self.init(configuration, storage: storage)
    }

    /// A runtime over storage opened elsewhere (an in-memory database in tests).
    public init(_ configuration: Configuration, storage: Storage?) {
        self.configuration = configuration
        self.storage = storage
    }

    /// Builds a runtime, runs `body` with it, and shuts it down on every path.
    public static func with<T: Sendable>(_ configuration: Configuration, _ body: (Runtime) async throws -> T) async throws -> T {
        let runtime = try Runtime(configuration)
        do {
            let result = try await body(runtime)
            await runtime.shutdown()
            return result
        } catch {
            await runtime.shutdown()
            throw error
        }
    }

    /// The opened state directory, or why there is none.
    public func requireStorage() throws(RuntimeError) -> Storage {
        guard let storage else { throw .noStateDirectory }
        return storage
    }

    /// The SCIM clients of every target, over one shared transport (created on first use).
    public var clients: TargetClients {
        get throws(RuntimeError) {
            try connections.withLock { (state: inout Connections) throws(RuntimeError) -> TargetClients in
                if let clients = state.clients { return clients }
                guard !state.shutDown else { throw .shutDown }
                var transport = Self.unwrapped(&state, configuration)
                if let wrap = configuration.wrapTransport { transport = wrap(transport) }
                let clients = TargetClients(policies: configuration.policies, environment: configuration.environment, transport: transport,
                                            pseudonymizer: storage?.pseudonymizer, now: { [clock = configuration.clock] in clock.now() },
                                            share: pace, observeCall: configuration.observeCall)
                state.clients = clients
                return clients
            }
        }
    }

    /// The transport for Lethe's own calls that are not to a target (webhook deliveries): the
    /// runtime's one HTTP client, without the targets' wrappers (faults, pacing). Closed by
    /// `shutdown()` like the rest.
    public var outgoing: any HTTPTransport {
        get throws(RuntimeError) {
            try connections.withLock { (state: inout Connections) throws(RuntimeError) -> any HTTPTransport in
                guard !state.shutDown else { throw .shutDown }
                return Self.unwrapped(&state, configuration)
            }
        }
    }

    /// The configured transport, or the live client (created here once).
    private static func unwrapped(_ state: inout Connections, _ configuration: Configuration) -> any HTTPTransport {
        if let override = configuration.transport { return override }
        if let live = state.live { return live }
        let live = AsyncHTTPClientTransport()
        state.live = live
        return live
    }

    /// Closes the HTTP client the runtime created. Idempotent; the runtime cannot reach
    /// targets afterwards.
    public func shutdown() async {
        let live = connections.withLock { state -> AsyncHTTPClientTransport? in
            state.shutDown = true
            state.clients = nil
            defer { state.live = nil }
            return state.live
        }
        await live?.shutdown()
    }

    /// Files requests: validates, plans, pseudonymises, stores.
    public func intake(newId: @escaping @Sendable () -> String = Intake.randomId) throws(RuntimeError) -> Intake {
        let storage = try requireStorage()
        return Intake(database: storage.database, policies: policies, pseudonymizer: storage.pseudonymizer, newId: newId)
    }

    /// Approve, reject, cancel, extend: the one door every front end uses.
    public func decisions() throws(RuntimeError) -> RequestDecisions {
        RequestDecisions(database: try requireStorage().database)
    }

    /// Requests and their actions as the front doors show them, as of the runtime's today.
    public func reading() throws(RuntimeError) -> RequestReading {
        RequestReading(database: try requireStorage().database, today: today)
    }

    /// Verifying the audit log and signing checkpoints.
    public func audit() throws(RuntimeError) -> AuditVerification {
        let storage = try requireStorage()
        guard let state = storage.state else { throw .noStateDirectory }
        return AuditVerification(database: storage.database, state: state, clock: configuration.clock)
    }

    /// API tokens.
    public func tokens() throws(RuntimeError) -> TokenAdministration {
        TokenAdministration(database: try requireStorage().database, clock: configuration.clock)
    }

    /// The runtime's day (UTC), from its clock.
    public var today: CalendarDate { CalendarDate(secondsSince1970: configuration.clock.now().timeIntervalSince1970) }

    /// Consent sweeps over this state directory.
    public func sweep() throws(RuntimeError) -> ConsentSweep {
        let storage = try requireStorage()
        return ConsentSweep(database: storage.database, policies: policies, pseudonymizer: storage.pseudonymizer)
    }

    /// Signed reports and certificates.
    public func reports() throws(RuntimeError) -> ReportService {
        let storage = try requireStorage()
        guard let state = storage.state else { throw .noStateDirectory }
        return ReportService(state: state, database: storage.database, policies: policies)
    }

    /// The engine over this state directory and these targets.
    public func engine(random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) throws(RuntimeError) -> Engine {
        let storage = try requireStorage()
        return Engine(store: storage.database, policies: policies, drivers: try clients,
                      clock: configuration.clock, random: random, logger: Logger(label: "lethe.engine"))
    }

    /// The run lock: only one engine works on a state directory at a time. Nil for an
    /// in-memory database, which no other process can reach.
    public func acquireRunLock() throws -> FileLock? {
        let storage = try requireStorage()
        // On a shared store (PostgreSQL) any number of runs work at once: leases keep them apart.
        guard storage.isExclusive, let state = storage.state else { return nil }
        guard let lock = try state.lock("run.lock") else {
            throw RuntimeError.runLockHeld(state: state.path, holder: FileLock.holder(of: state.file("run.lock")))
        }
        return lock
    }

    /// Runs the engine as a service, holding the run lock, next to `others` (a sandbox, a
    /// server), in one `ServiceGroup`. With `signals`, SIGINT and SIGTERM start a graceful
    /// shutdown: no new claims, in-flight actions recorded, then every service returns.
    /// With `options.untilIdle` the group ends when the engine is done.
    public func runEngine(_ options: Engine.Options, alongside others: [any Service] = [], signals: Bool = true) async throws -> Engine.Summary {
        let lock = try acquireRunLock()
        var options = options
        let opened = try requireStorage()
        options.shared = !opened.isExclusive
        let service = EngineService(engine: try engine(), options: options)
        var services = others.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if options.shared {
            // Shares each target's rate_limit with the other workers, known by their presence.
            services.append(.init(service: WorkerPresence(store: opened.database, pace: pace, clock: configuration.clock)))
        }
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                              failureTerminationBehavior: .gracefullyShutdownGroup))
        var group = ServiceGroupConfiguration(services: services, logger: Logger(label: "lethe.services"))
        if signals {
            group.gracefulShutdownSignals = [.sigterm, .sigint]
        }
        try await ServiceGroup(configuration: group).run()
        // Sign where the chain reaches now, so deleting the events this run wrote is detected.
        if let state = storage?.state, let database = storage?.database {
            try state.appendCheckpoint(database: database, now: configuration.clock.now())
        }
        withExtendedLifetime(lock) {}
        guard let summary = service.summary else { throw RuntimeError.engineDidNotFinish }
        return summary
    }
}

/// Why the runtime cannot give what was asked.
public enum RuntimeError: Error, Sendable, Hashable {
    /// A command that needs the state directory was given none.
    case noStateDirectory
    /// `shutdown()` was called; nothing may reach the targets any more.
    case shutDown
    /// Another process holds the run lock of this state directory.
    case runLockHeld(state: String, holder: String?)
    /// The service group ended before the engine returned a summary.
    case engineDidNotFinish
}
