import Foundation
import LetheApp
import ServiceLifecycle

/// The server's part of the composition root: what `lethe serve` runs next to the engine,
/// built from a `Runtime` (which owns the store, the clock and the one HTTP client). The CLI
/// only turns flags into a `ServeGraph.Settings`; nothing here is built anywhere else.
///
/// Two steps, because the metrics must observe the targets' calls from the runtime's first
/// client on: `configure` the runtime's configuration before the runtime is built, then ask
/// for the `services` over the built runtime.
public struct ServeGraph: Sendable {
    /// What the flags of `lethe serve` decide.
    public struct Settings: Sendable {
        public var listen: ListenAddress
        public var tls: LetheServer.TLSFiles?
        public var options: LetheServer.Options
        /// Nil: no webhooks.
        public var webhooks: WebhookDispatcher.Settings?
        /// How often a checkpoint of the audit log is signed while the log grows.
        public var checkpointInterval: Duration

        public init(listen: ListenAddress, tls: LetheServer.TLSFiles? = nil, options: LetheServer.Options = LetheServer.Options(),
                    webhooks: WebhookDispatcher.Settings? = nil, checkpointInterval: Duration = .seconds(300)) {
            self.listen = listen
            self.tls = tls
            self.options = options
            self.webhooks = webhooks
            self.checkpointInterval = checkpointInterval
        }
    }

    public let settings: Settings
    /// `/metrics`: the targets' calls (through the runtime's `observeCall`) and the store's gauges.
    public let metrics = ServerMetrics()

    public init(_ settings: Settings) {
        self.settings = settings
    }

    /// Lets the metrics observe every call to a target.
    public func configure(_ configuration: inout Runtime.Configuration) {
        configuration.observeCall = { [metrics] target, method, status, duration in
            metrics.recordCall(target: target, method: method, status: status, duration: duration)
        }
    }

    /// The HTTP application (API, dashboard, metrics) and, with webhooks, their dispatcher over
    /// the runtime's one HTTP client (closed with the runtime). Throws when the server cannot
    /// be set up (an unreadable TLS file); nothing is started then.
    public func services(runtime: Runtime, onListening: @escaping @Sendable (String) async -> Void = { _ in }) throws -> [any Service] {
        let server = try LetheServer(runtime: runtime, metrics: metrics, options: settings.options)
        var services: [any Service] = [try server.application(listen: settings.listen, tls: settings.tls, onListening: onListening)]
        if var webhooks = settings.webhooks {
            let storage = try runtime.requireStorage()
            webhooks.exclusive = storage.isExclusive
            services.append(WebhookDispatcher(database: storage.database, settings: webhooks, transport: try runtime.outgoing,
                                              now: { [clock = runtime.configuration.clock] in clock.now() }))
        }
        let storage = try runtime.requireStorage()
        if storage.state != nil {
            services.append(CheckpointSchedule(audit: try runtime.audit(), jobs: storage.database, interval: settings.checkpointInterval,
                                               exclusive: storage.isExclusive))
        }
        return services
    }
}
