import ServiceLifecycle

/// A started sandbox as a service of a `ServiceGroup`: it serves until the group shuts
/// down gracefully (or is cancelled), then closes its listener and connections.
public struct SandboxService: Service {
    public let server: SandboxServer

    public init(server: SandboxServer) {
        self.server = server
    }

    public func run() async throws {
        // Cancellation and graceful shutdown both end the wait; either way the server stops.
        try? await gracefulShutdown()
        await server.stop()
    }
}
