import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LetheApp
import LetheCore
import LetheStorage
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What a request handler knows: the token that authenticated it, if any.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var token: APIToken?
    /// The dashboard session that made `token` (a browser), if any.
    var session: DashboardSession?

    /// The client's IP address (a proxy's, behind one), for the sign-in limit.
    var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies larger than this are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }

    /// The token, when its role is one of `roles` (admin may do everything).
    func require(_ roles: TokenRole...) throws -> APIToken {
        guard let token else { throw Problem.unauthorized }
        guard token.role == .admin || roles.contains(token.role) else {
            throw Problem.forbidden(token.role.rawValue, needs: (roles + [.admin]).map(\.rawValue).uniqued().joined(separator: " or "))
        }
        return token
    }
}

extension APIToken {
    /// The token as an actor: compared by its id, shown by its name.
    var actor: Principal { .token(id: id, name: name) }
}

/// Where `lethe serve` listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for 127.0.0.1.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon].isEmpty ? "127.0.0.1" : text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else { return nil }
        self.host = String(host)
        self.port = number
    }

    /// Only this machine can reach it: `localhost`, or an address (parsed, not matched as text)
    /// in 127.0.0.0/8 or `::1`. A host name such as `127.example.com` is not loopback.
    public var isLoopback: Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `lethe serve`: the HTTP API over one `Runtime`, run next to the engine in its service group.
public struct LetheServer: Sendable {
    public let runtime: Runtime
    public let storage: Runtime.Storage
    public let metrics: ServerMetrics
    public let logger: Logger
    /// The last `POST /api/v1/targets/{name}/check` of each target, with when it ran.
    let checks = CheckBoard()
    /// The dashboard's signed-in browsers, kept in the store.
    let sessions: DashboardSessions
    /// Whether browsers reach the server over HTTPS: its own TLS, or a TLS proxy in front
    /// (`publicURL`). Cookies are then `Secure` and `__Host-`, and HSTS is sent.
    var secure: SecureFlag { sessions.secure }

    public let options: Options
    /// Failed sign-ins by client address.
    let signIns = SignInGuard()

    /// What a deployment sets about the server itself (the `lethe serve` flags).
    public struct Options: Sendable {
        /// How browsers reach the server when a TLS proxy stands in front (`--public-url`): an
        /// `https` URL makes cookies `Secure` and `__Host-` and sends HSTS, as the server's own
        /// TLS does.
        public var publicURL: URL?
        /// Slow clients: header deadlines and the cap on open connections.
        public var limits = ConnectionLimits()
        /// The largest consent ledger `POST /api/v1/sweeps` takes (`--max-ledger-bytes`).
        public var maxLedgerBytes = 100 << 20

        public init(publicURL: URL? = nil, limits: ConnectionLimits = ConnectionLimits(), maxLedgerBytes: Int = 100 << 20) {
            self.publicURL = publicURL
            self.limits = limits
            self.maxLedgerBytes = maxLedgerBytes
        }
    }

    /// `metrics` should be the one the runtime's `observeCall` reports to.
    public init(runtime: Runtime, metrics: ServerMetrics = ServerMetrics(), options: Options = Options(),
                logger: Logger = Logger(label: "lethe.server")) throws {
        self.runtime = runtime
        storage = try runtime.requireStorage()
        sessions = DashboardSessions(store: storage.database)
        self.metrics = metrics
        self.options = options
        self.logger = logger
        secure.set(options.publicURL?.scheme?.lowercased() == "https")
    }

    /// Directories of this machine that error texts may name, and what to call them instead.
    var machinePaths: [(path: String, name: String)] {
        var paths: [(String, String)] = []
        if let state = storage.state { paths.append((state.path, "the state directory")) }
        if let source = runtime.policies.settings.sourceFile {
            paths.append(((source as NSString).deletingLastPathComponent, "the policy directory"))
        }
        paths.append((NSTemporaryDirectory(), "the temporary directory/"))
        paths.append((FileManager.default.currentDirectoryPath, "the working directory"))
        // Longest first, so a state directory inside the working directory is named as such.
        return paths.filter { $0.0.count > 1 }.sorted { $0.0.count > $1.0.count }
    }

    /// A certificate chain and its private key, PEM files, for HTTPS.
    public struct TLSFiles: Sendable, Hashable {
        public var certificate: String
        public var privateKey: String

        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }

        /// The server's TLS configuration, or what is wrong with the files.
        func configuration() throws(ServeError) -> TLSConfiguration {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificate)
            } catch {
                throw .tls("\(certificate) is not a readable PEM certificate (\(error))")
            }
            guard !chain.isEmpty else { throw .tls("\(certificate) holds no certificate") }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
            } catch {
                throw .tls("\(privateKey) is not a readable PEM private key (\(error))")
            }
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            // TLS 1.0 and 1.1 are broken and deprecated (RFC 8996): a client that offers only them is refused.
            configuration.minimumTLSVersion = .tlsv12
            return configuration
        }
    }

    /// Why the server cannot start.
    public enum ServeError: Error, Sendable, Hashable, CustomStringConvertible {
        case tls(String)

        public var description: String {
            switch self {
            case .tls(let why): why
            }
        }
    }

    /// The HTTP application: a `Service` to run in the runtime's service group; HTTPS with
    /// `tls`. `onListening` gets the address bound (the port, when 0 was asked for).
    public func application(listen: ListenAddress, tls: TLSFiles? = nil, onListening: @escaping @Sendable (String) async -> Void = { _ in })
        throws(ServeError) -> some ApplicationProtocol & Service {
        let limits = options.limits
        let http1 = HTTPServerBuilder.http1(configuration: HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestHeaderDeadline(limits: limits)], idleTimeout: TimeAmount(limits.keepAlive)))
        let server: HTTPServerBuilder
        if let tls {
            let configuration = try tls.configuration()
            do {
                server = try .tls(http1, tlsConfiguration: configuration)
            } catch {
                throw .tls("the certificate and key cannot be used together (\(error))")
            }
        } else {
            server = http1
        }
        let scheme = tls == nil ? "http" : "https"
        if tls != nil { secure.set(true) }
        return Application(router: router(), server: server,
                           configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "lethe",
                                                                   availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
                           onServerRunning: { channel in
                               let port = channel.localAddress?.port ?? listen.port
                               await onListening("\(scheme)://\(ListenAddress("\(listen.host):\(port)")?.description ?? listen.description)")
                           },
                           logger: logger)
    }

    func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: SecurityHeadersMiddleware(secure: secure))
        let routes = RouteTable()
        router.add(middleware: ProblemMiddleware(logger: logger, machinePaths: machinePaths, routes: routes))
        router.add(middleware: DashboardAuthMiddleware(database: storage.database, sessions: sessions, clock: { [runtime] in runtime.configuration.clock.now() }))
        router.add(middleware: AuthMiddleware(database: storage.database))
        API(server: self).register(on: router)
        Dashboard(server: self).register(on: router)
        // What 405 knows is what was registered: no second list to keep in step.
        routes.set(router.routes.map { (method: $0.method.rawValue, path: $0.path.description) })
        return router
    }
}

/// Whether the server speaks HTTPS, set when its application is made.
final class SecureFlag: Sendable {
    private let value = Mutex(false)
    func set(_ on: Bool) { value.withLock { $0 = on } }
    var isOn: Bool { value.withLock { $0 } }
}

/// The API's routes as the router registered them: a known API path asked with another method
/// is answered 405 with `Allow` (dashboard pages keep their 404 page).
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: String, path: String)]>([])

    func set(_ all: [(method: String, path: String)]) {
        let api = all.filter { RoutePath.isAPI($0.path) || ["/healthz", "/readyz", "/metrics"].contains($0.path) }
        routes.withLock { $0 = api }
    }

    /// The methods a path answers to (empty for a path that is not an API route), matched as
    /// the router matches it.
    func methods(for path: String) -> [String] {
        let segments = RoutePath.normalised(path).split(separator: "/")
        return routes.withLock { routes in
            routes.filter { route in
                let template = route.path.split(separator: "/")
                return template.count == segments.count && zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }.map(\.method).uniqued()
        }
    }
}

/// The last health check of each target, kept while the server runs.
final class CheckBoard: Sendable {
    private let state = Mutex<[String: (check: TargetCheck, at: Date)]>([:])

    func set(_ check: TargetCheck, at date: Date) { state.withLock { $0[check.target] = (check, date) } }
    func get(_ target: String) -> (check: TargetCheck, at: Date)? { state.withLock { $0[target] } }
}

/// Authenticates `Authorization: Bearer TOKEN` under `/api/` (the OpenAPI document aside), as
/// the router will route the path: an unknown or revoked token is 401 before any handler runs.
struct AuthMiddleware: RouterMiddleware {
    let database: any TokenStore

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let path = RoutePath.normalised(request.uri.path)
        guard RoutePath.isAPI(path), path != "/api/v1/openapi.yaml", !RoutePath.isCallback(path), context.session == nil else {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { throw Problem.unauthorized }
        let secret = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard !secret.isEmpty, let token = try database.token(secret: secret), !token.isRevoked else { throw Problem.unauthorized }
        var context = context
        context.token = token
        return try await next(request, context)
    }
}

/// Every error leaves as a problem document; an unexpected one is logged by type only (its
/// text could hold personal data from a target) and answered 500 without detail.
struct ProblemMiddleware: RouterMiddleware {
    let logger: Logger
    /// Directories of this machine (state, policies, temporary files) that an error's text may
    /// name; a problem document says "the state directory" instead of where it is.
    let machinePaths: [(path: String, name: String)]
    /// The API's routes, for 405 and `Allow`.
    let routes: RouteTable

    /// `text` with every machine path replaced by what it is.
    func withoutPaths(_ text: String) -> String {
        var text = text
        for (path, name) in machinePaths {
            text = text.replacingOccurrences(of: path, with: name)
        }
        return text
    }

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch var problem as Problem {
            problem.detail = withoutPaths(problem.detail)
            if Dashboard.isPage(request.uri.path) { return Dashboard.errorPage(problem, context: context) }
            return try problem.response(from: request, context: context)
        } catch let text as FreeText.Problem {
            let problem = Problem.badRequest(withoutPaths("\(text); nothing was changed"), pointer: "#/\(text.field)")
            if Dashboard.isPage(request.uri.path) { return Dashboard.errorPage(problem, context: context) }
            return try problem.response(from: request, context: context)
        } catch StoreError.unavailable {
            // The database is away (restarting, unreachable): nothing was changed; ask again soon.
            var problem = Problem(.serviceUnavailable, "Database unavailable", detail: "the database does not answer now; nothing was changed; try again shortly")
            problem.headers[.retryAfter] = "5"
            if Dashboard.isPage(request.uri.path) { return Dashboard.errorPage(problem, context: context) }
            return try problem.response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try Problem(.contentTooLarge, "Content too large", detail: "the body is over \(context.maxUploadSize) bytes")
                .response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound && !routes.methods(for: request.uri.path).isEmpty {
            let allowed = routes.methods(for: request.uri.path)
            var problem = Problem(.methodNotAllowed, "Method not allowed",
                                  detail: "\(request.uri.path) answers \(allowed.joined(separator: " and ")), not \(request.method)")
            problem.headers[.allow] = allowed.joined(separator: ", ")
            return try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            let problem = Problem(error.status, error.status.reasonPhrase,
                                  detail: withoutPaths(error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)))
            if Dashboard.isPage(request.uri.path) { return Dashboard.errorPage(problem, context: context) }
            return try problem.response(from: request, context: context)
        } catch {
            logger.error("internal error answering \(request.method) \(request.uri.path): \(type(of: error))")
            return try Problem(.internalServerError, "Internal error", detail: "the server could not answer; see its log")
                .response(from: request, context: context)
        }
    }
}

extension Response {
    /// A JSON answer in canonical form.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.bytes(value))))
    }

    /// An `Encodable` as JSON (the CLI's `--json` shapes).
    static func encoded<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
