import ArgumentParser
import Foundation
import LetheApp
import LetheDemo
import LetheEngine
import LetheSandbox
import LetheServer
import Logging
import ServiceLifecycle

/// `lethe demo`
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See Lethe do its whole job against a sandbox, in a temporary state directory.",
        discussion: """
            Starts four in-memory SCIM targets (shop, app, newsletter, crm) with seeded \
            customers, points the embedded reference policies at them, files erasures and \
            consent withdrawals (one subject absent from two targets; crm answers 429 now and \
            then), runs until idle, prints the outcome per request and target with its \
            verification, exports a signed report into reports/, verifies it, and prints the \
            openssl command that verifies it without Lethe. Leaves nothing running.

            With --serve, the sandbox and the demo's state stay up afterwards and `lethe serve` \
            runs on them: it prints the dashboard's URL and a one-time officer token to sign in \
            with, and keeps working (file new requests in the browser) until Ctrl-C.
            """
    )

    @Option(help: ArgumentHelp("Where to write the report.", valueName: "dir"))
    var out = "reports"

    @Flag(name: .customLong("keep-state"), help: "Keep the temporary state directory.")
    var keepState = false

    @Flag(help: "Afterwards, serve the dashboard and the API on the demo's state until Ctrl-C.")
    var serve = false

    @Option(help: ArgumentHelp("With --serve: where to listen (loopback only).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    func validate() throws {
        guard let address = ListenAddress(listen), address.isLoopback else {
            throw ValidationError("--listen '\(listen)' must be a loopback HOST:PORT (e.g. 127.0.0.1:8080): the demo serves plain HTTP")
        }
    }

    func run() async throws {
        let result: Demo.Result
        var demo = Demo(reportsDirectory: out, keepState: keepState)
        if serve {
            let address = ListenAddress(listen)!
            demo.afterwards = { runtime, say in try await Self.serve(runtime: runtime, address: address, say: say) }
        }
        do {
            result = try await demo.run { Output.line($0) }
        } catch Demo.DemoError.interrupted {
            Output.error("lethe demo: stopped before it finished")
            throw ExitStatus.tempFail
        }
        if !result.allCompleted || !result.reportValid {
            Output.error("lethe demo: not every request completed, or the report did not verify")
            throw ExitCode.failure
        }
    }

    /// `lethe serve` on the demo's runtime: the dashboard, an officer token, until Ctrl-C.
    static func serve(runtime: Runtime, address: ListenAddress, say: @escaping @Sendable (String) -> Void) async throws {
        let tokens = try runtime.tokens()
        let (_, officer) = try tokens.create(name: "demo officer", role: .officer)
        let (_, auditor) = try tokens.create(name: "demo auditor", role: .auditor)
        let server = try LetheServer(runtime: runtime)
        let application = try server.application(listen: address) { url in
            say("")
            say("The dashboard: \(url)/")
            say("  sign in as an officer with  \(officer)")
            say("  or as an auditor with       \(auditor)")
            say("  (one-time tokens for this demo; the sandbox keeps running; Ctrl-C stops everything)")
            Output.flush()
        }
        _ = try await runtime.runEngine(Engine.Options(untilIdle: false, timeout: nil), alongside: [application], signals: false)
    }
}
