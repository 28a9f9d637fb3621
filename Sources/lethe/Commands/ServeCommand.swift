import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheServer
import ServiceLifecycle

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
            /healthz, /readyz and /metrics (Prometheus) need no token. Every /api/v1 call \
            needs a token from `lethe token create`; the token's role decides what it may do, \
            and its name is recorded as who filed, retried, cancelled or extended a request.

            --webhook URL posts a signed JSON event (HMAC-SHA256 under LETHE_WEBHOOK_SECRET) \
            when a request completes, fails, needs review or becomes overdue, at least once.

            The engine runs inside: filed requests are carried out as with `lethe run`. The \
            server holds the run lock, so a separate `lethe run` exits 75; `lethe erase`, \
            `status` and the other commands keep working on the same state directory. SIGINT \
            and SIGTERM stop it gracefully: no new connections or claims, actions in flight \
            recorded, then exit 0.

            With --tls-cert and --tls-key (PEM files) it serves HTTPS (TLS 1.2 or later). Without \
            them, an address other machines can reach would carry tokens in clear text: it needs \
            --insecure-http (or listen on loopback behind a TLS-terminating proxy, and say so with \
            --public-url https://... so session cookies are Secure and HSTS is sent).

            Each delivery carries Lethe-Webhook-Id, Lethe-Webhook-Timestamp and \
            Lethe-Webhook-Signature: sha256=HMAC(secret, TIMESTAMP + "." + BODY). Receivers refuse a \
            timestamp more than 5 minutes from their clock and deduplicate by id. The secret is at \
            least 32 bytes (openssl rand -hex 32).

            Slow clients: a connection must send its first request header within --header-timeout \
            (10s) and an idle one is closed after --keep-alive (60s); at most --max-connections \
            (256) are open at once. Ledger uploads above --max-ledger-bytes are refused with 413.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("HOST:PORT to listen on (port 0: any free port, printed at start).", valueName: "address"))
    var listen = "127.0.0.1:8080"

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain: serve HTTPS (with --tls-key).", valueName: "pem"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "pem"))
    var tlsKey: String?

    @Flag(name: .customLong("insecure-http"), help: "Allow plain HTTP on an address other machines can reach.")
    var insecureHTTP = false

    @Option(name: .customLong("webhook"), help: ArgumentHelp(
        "A URL told of each request that completes, fails, needs review or becomes overdue (repeatable); signed with LETHE_WEBHOOK_SECRET.",
        valueName: "url"))
    var webhooks: [String] = []

    func validate() throws {
        guard let address = ListenAddress(listen) else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)")
        }
        for url in webhooks {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw ValidationError("--webhook '\(url)' is not an http or https URL")
            }
        }
        if !webhooks.isEmpty {
            let secret = ProcessInfo.processInfo.environment["LETHE_WEBHOOK_SECRET"] ?? ""
            if secret.isEmpty {
                throw ValidationError("--webhook needs LETHE_WEBHOOK_SECRET in the environment: the key each event is signed with (HMAC-SHA256)")
            }
            if secret.utf8.count < WebhookDispatcher.minimumSecretBytes {
                throw ValidationError("LETHE_WEBHOOK_SECRET is \(secret.utf8.count) bytes; it must be at least \(WebhookDispatcher.minimumSecretBytes) "
                    + "so the signatures cannot be guessed (make one with `openssl rand -hex 32`)")
            }
        }
        if let publicURL {
            guard let url = URL(string: publicURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw ValidationError("--public-url '\(publicURL)' is not an http or https URL (e.g. https://lethe.example.com)")
            }
        }
        guard maxLedgerBytes > 0 else { throw ValidationError("--max-ledger-bytes must be a positive number of bytes") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be at least 1") }
        for (flag, text) in [("--header-timeout", headerTimeout), ("--keep-alive", keepAlive), ("--checkpoint-interval", checkpointInterval)] {
            guard let span = TimeSpan(parsing: text), span.milliseconds > 0 else {
                throw ValidationError("\(flag) '\(text)' is not a duration (e.g. 10s, 1m)")
            }
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both PEM files, or neither for plain HTTP")
        }
        if !address.isLoopback && !insecureHTTP && tlsCert == nil {
            throw ValidationError("--listen \(address) is reachable from other machines, and Lethe serves plain HTTP: API tokens would cross "
                + "the network in clear text. Listen on 127.0.0.1 behind a TLS proxy, or pass --insecure-http if the network is trusted")
        }
    }

    @Option(name: .customLong("public-url"), help: ArgumentHelp(
        "How browsers reach this server when a TLS proxy is in front (e.g. https://lethe.example.com): an https URL makes cookies Secure and __Host- and sends HSTS.",
        valueName: "url"))
    var publicURL: String?

    @Option(name: .customLong("max-ledger-bytes"), help: ArgumentHelp(
        "The largest consent ledger POST /api/v1/sweeps accepts, in bytes (a 1,000,000-row ledger is about 50 MB).", valueName: "bytes"))
    var maxLedgerBytes = 100 << 20

    @Option(name: .customLong("max-connections"), help: ArgumentHelp("Open connections at most; more wait until one closes.", valueName: "n"))
    var maxConnections = 256

    @Option(name: .customLong("header-timeout"), help: ArgumentHelp(
        "How long a new connection may take to send its first request header before it is closed.", valueName: "duration"))
    var headerTimeout = "10s"

    @Option(name: .customLong("checkpoint-interval"), help: ArgumentHelp(
        "How often a checkpoint of the audit log is signed while the log grows (and once when serve stops).", valueName: "duration"))
    var checkpointInterval = "5m"

    @Option(name: .customLong("keep-alive"), help: ArgumentHelp(
        "How long an idle kept-alive connection waits for its next request before it is closed.", valueName: "duration"))
    var keepAlive = "60s"

    /// What the flags say about the server itself.
    var serverOptions: LetheServer.Options {
        let header = TimeSpan(parsing: headerTimeout)?.milliseconds ?? 10_000, idle = TimeSpan(parsing: keepAlive)?.milliseconds ?? 60_000
        return LetheServer.Options(publicURL: publicURL.flatMap(URL.init(string:)),
                                   limits: ConnectionLimits(firstHeader: .milliseconds(header), keepAlive: .milliseconds(idle), maxConnections: maxConnections),
                                   maxLedgerBytes: maxLedgerBytes)
    }

    func run() async throws {
        let address = ListenAddress(listen)!
        let tls = tlsCert.flatMap { cert in tlsKey.map { LetheServer.TLSFiles(certificate: cert, privateKey: $0) } }
        if !address.isLoopback && tls == nil {
            Output.error("lethe serve: WARNING: plain HTTP on \(address): tokens and requests cross the network unencrypted")
        }
        let secret = Data((ProcessInfo.processInfo.environment["LETHE_WEBHOOK_SECRET"] ?? "").utf8)
        let graph = ServeGraph(.init(listen: address, tls: tls, options: serverOptions,
                                     webhooks: webhooks.isEmpty ? nil : WebhookDispatcher.Settings(urls: webhooks, secret: secret),
                                     checkpointInterval: .milliseconds(TimeSpan(parsing: checkpointInterval)?.milliseconds ?? 300_000)))
        _ = try await AppContext.with(global, configure: graph.configure) { context in
            let services: [any Service]
            do {
                services = try graph.services(runtime: context.runtime) { url in
                    Output.error("lethe serve: listening on \(url) (engine running; SIGTERM stops both)")
                }
            } catch {
                Output.error("lethe serve: \(error); nothing was started")
                throw ExitStatus.noInput
            }
            do {
                return try await context.runtime.runEngine(Engine.Options(untilIdle: false, timeout: nil), alongside: services)
            } catch let error as RuntimeError {
                if case .runLockHeld = error { throw ExitStatus.report(error, command: "lethe serve") }
                throw error
            }
        }
    }
}
