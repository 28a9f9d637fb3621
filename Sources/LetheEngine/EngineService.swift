import LetheCore
import ServiceLifecycle
import Synchronization

/// The engine as a long-running service of a `ServiceGroup`: a graceful shutdown (SIGTERM,
/// SIGINT, or the group ending) becomes an engine stop, so in-flight actions are recorded
/// before `run()` returns. With `untilIdle` the service returns by itself when the work is done.
public final class EngineService: Service {
    private let engine: Engine
    private let options: Engine.Options
    private let outcome = Mutex<Engine.Summary?>(nil)

    public init(engine: Engine, options: Engine.Options) {
        self.engine = engine
        self.options = options
    }

    /// What the run did, once `run()` has returned.
    public var summary: Engine.Summary? { outcome.withLock { $0 } }

    public func run() async throws {
        let stop = EngineStop()
        let summary = try await withGracefulShutdownHandler {
            try await engine.run(options, stop: stop)
        } onGracefulShutdown: {
            stop.request()
        }
        outcome.withLock { $0 = summary }
    }
}
