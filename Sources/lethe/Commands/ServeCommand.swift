import ArgumentParser
import Foundation
import LetheApp
import LetheEngine
import LetheServer

/// `lethe serve`
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API for teams and run the engine in the same process.",
        discussion: """
            Examples:
              lethe token create --name "DPO desk" --role officer > desk.token
              lethe serve                                  listen on 127.0.0.1:8080
              lethe serve --listen 127.0.0.1:9000
              curl -H "Authorization: Bearer $(cat desk.token)" http://127.0.0.1:8080/api/v1/requests

            The API is under /api/v1 (its OpenAPI document at /api/v1/openapi.yaml); \
            /healthz and /readyz need no token. Every /api/v1 call needs a token from \
            `lethe token create`; the token's role decides what it may do, and its name is \
            recorded as who filed or cancelled a request.

            The engine runs inside: filed requests are carried out as with `lethe run`. The \
            server holds the run lock, so a separate `lethe run` exits 75; `lethe erase`, \
            `status` and the other commands keep working on the same state directory. SIGINT \
            and SIGTERM stop it gracefully: no new connections or claims, actions in flight \
            recorded, then exit 0.

            TLS is not served by Lethe itself yet: listen on loopback behind a TLS-terminating \
            proxy. Listening on any other address sends tokens in clear text and needs \
            --insecure-http.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("HOST:PORT to listen on (port 0: any free port, printed at start).", valueName: "address"))
    var listen = "127.0.0.1:8080"

    @Flag(name: .customLong("insecure-http"), help: "Allow plain HTTP on an address other machines can reach.")
    var insecureHTTP = false

    func validate() throws {
        guard let address = ListenAddress(listen) else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)")
        }
        if !address.isLoopback && !insecureHTTP {
            throw ValidationError("--listen \(address) is reachable from other machines, and Lethe serves plain HTTP: API tokens would cross "
                + "the network in clear text. Listen on 127.0.0.1 behind a TLS proxy, or pass --insecure-http if the network is trusted")
        }
    }

    func run() async throws {
        let address = ListenAddress(listen)!
        if !address.isLoopback {
            Output.error("lethe serve: WARNING: plain HTTP on \(address): tokens and requests cross the network unencrypted")
        }
        _ = try await AppContext.with(global) { context in
            let server = try LetheServer(runtime: context.runtime)
            let application = server.application(listen: address) { url in
                Output.error("lethe serve: listening on \(url) (engine running; SIGTERM stops both)")
            }
            do {
                return try await context.runtime.runEngine(Engine.Options(untilIdle: false, timeout: nil), alongside: [application])
            } catch let error as RuntimeError {
                if case .runLockHeld = error { throw ExitStatus.report(error, command: "lethe serve") }
                throw error
            }
        }
    }
}
