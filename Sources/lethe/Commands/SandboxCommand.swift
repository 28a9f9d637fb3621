import ArgumentParser
import Foundation
import LetheApp
import LetheDemo
import LetheEngine
import LetheSandbox
import LetheServer
import Logging
import ServiceLifecycle

/// `lethe sandbox`
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve in-memory SCIM 2.0 targets on loopback, optionally misbehaving on purpose.",
        discussion: """
            One base path per target: http://127.0.0.1:PORT/TARGET/v2 with Users, Groups \
            (filters with eq, and, or, not, value paths and extension URNs; pagination; PATCH \
            add/replace/remove; ETags and If-Match), /ServiceProviderConfig, /Schemas and \
            /ResourceTypes, RFC 7644 §3.12 errors. In memory: stopping forgets everything.

            Faults, per target, reproducible for a given --random-seed:
              crm:429=0.2          answer 429 to 20% of requests (with Retry-After)
              crm:429-at=2         answer 429 to exactly the second SCIM call
              crm:retry-after=1    the Retry-After seconds (default 1)
              shop:503=0.1         answer 503 to 10% of requests
              app:latency=50ms     answer every request 50 ms late
              newsletter:drop=0.05 close 5% of connections without an answer
              app:soft-delete      DELETE answers 204 but only sets active=false
              crm:ignore-extension-patch  PATCH answers 200 but ignores urn: paths
              shop:no-patch        PATCH answers 501 (changes must use PUT)

            Example:
              lethe sandbox --seed 20 --token t0k3n --faults crm:429=0.2,app:soft-delete
              export LETHE_CRM_URL=http://127.0.0.1:8990/crm/v2 LETHE_CRM_TOKEN=t0k3n
            """
    )

    @Option(help: "Port on 127.0.0.1 (0 picks a free one).")
    var port = 8990

    @Option(help: ArgumentHelp("Targets to serve, comma-separated.", valueName: "names"))
    var targets = "shop,app,newsletter,crm"

    @Option(help: ArgumentHelp("Customers to create in each target.", valueName: "n"))
    var seed = 0

    @Option(help: ArgumentHelp("Bearer token to require (default: none).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Faults to inject, e.g. crm:429=0.2,app:soft-delete.", valueName: "spec"))
    var faults = ""

    @Flag(name: .customLong("groups-on-users"), help: "Users list their groups (RFC 7643 §4.1.2), as many servers do.")
    var groupsOnUsers = false

    @Option(name: .customLong("random-seed"), help: "Seed for ids, customers and faults.")
    var randomSeed: UInt64 = 1

    func run() async throws {
        let names = targets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty, Set(names).count == names.count else { throw ValidationError("--targets needs distinct names") }
        let faultSpecs: [String: FaultSpec]
        do { faultSpecs = try FaultSpec.parse(faults, targets: names) } catch { throw ValidationError(error.description) }
        let sandbox = Sandbox(Sandbox.Configuration(targets: names, token: token, seedCustomers: seed, randomSeed: randomSeed, faults: faultSpecs,
                                                    groupsOnUsers: groupsOnUsers))
        let server: SandboxServer
        do {
            server = try await SandboxServer.start(sandbox, port: port)
        } catch {
            Output.error("lethe sandbox: cannot listen on 127.0.0.1:\(port): \(error)")
            throw ExitStatus.tempFail
        }
        Output.line("SCIM sandbox on 127.0.0.1:\(server.port)\(seed > 0 ? ", \(seed) customers per target" : "")\(faults.isEmpty ? "" : ", faults \(faults)")")
        for name in names {
            Output.line("export LETHE_\(name.uppercased())_URL=\(server.baseURL(name))" + (token.map { " LETHE_\(name.uppercased())_TOKEN=\($0)" } ?? ""))
        }
        Output.line("Ctrl-C stops it.")
        Output.flush()  // the export lines must reach a pipe or file now, not at exit
        // One service in a group that turns SIGINT/SIGTERM into a graceful shutdown.
        try await ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: SandboxService(server: server))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "lethe.sandbox"))).run()
    }
}
