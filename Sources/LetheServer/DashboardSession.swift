import Foundation
import Hummingbird
import LetheStorage
import NIOCore
import Synchronization

/// A browser signed in with an API token: its token (checked again on every request, so a
/// revoked token ends the session), a CSRF secret every form carries, and when it ends.
typealias DashboardSession = DashboardSessionRecord

/// The dashboard's sessions, kept in the store (`SessionStore`): every replica of `lethe serve`
/// on one database knows them, and a restart signs nobody out. The cookie carries a random id;
/// the store keeps its SHA-256.
final class DashboardSessions: Sendable {
    /// The cookie's name over plain HTTP (loopback, or a trusted network).
    static let plainCookieName = "lethe_session"
    /// Its name when the outside is HTTPS: browsers accept a `__Host-` cookie only with
    /// `Secure`, `Path=/` and no `Domain`, so no other host or plain-HTTP page can set it.
    static let secureCookieName = "__Host-lethe_session"
    /// Eight hours: a working day.
    static let lifetime: TimeInterval = 8 * 3600

    private let store: any SessionStore
    /// Whether browsers reach the server over HTTPS (its own TLS, or a proxy's `--public-url https://`).
    let secure = SecureFlag()

    init(store: any SessionStore) {
        self.store = store
    }

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next()) }.joined()
    }

    var cookieName: String { secure.isOn ? Self.secureCookieName : Self.plainCookieName }

    func open(token: APIToken, now: Date) throws -> DashboardSession {
        let session = DashboardSession(id: Self.random(), tokenId: token.id, csrf: Self.random(), expires: now.addingTimeInterval(Self.lifetime))
        try store.openSession(session, now: now)
        return session
    }

    func find(_ id: String, now: Date) throws -> DashboardSession? {
        try store.session(id: id, now: now)
    }

    func close(_ id: String) throws { try store.closeSession(id: id) }

    /// The `Set-Cookie` value: HttpOnly, SameSite=Strict, expiring with the session; under HTTPS
    /// also Secure, with the `__Host-` prefix.
    func cookie(_ value: String, maxAge: Int) -> String {
        "\(cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure.isOn ? "; Secure" : "")
    }

    /// The session id a request's `Cookie` header carries (under the name in use).
    func id(in request: Request) -> String? {
        let name = cookieName
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }

    /// Constant-time comparison of two secrets.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Who a dashboard page serves: the cookie's session makes `context.token`, as a bearer token
/// does for the API. Pages need a session (else: to the sign-in page); every POST must carry the
/// session's CSRF secret (form field `csrf` or header `X-CSRF-Token`), else 403. The API also
/// accepts the session cookie, with the CSRF header on anything but GET, so the dashboard's
/// scripts use the same endpoints and roles.
struct DashboardAuthMiddleware: RouterMiddleware {
    let database: any TokenStore
    let sessions: DashboardSessions
    let clock: @Sendable () -> Date

    static let open: Set<String> = ["/signin", "/favicon.ico", "/healthz", "/readyz", "/metrics", "/api/v1/openapi.yaml"]

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        // Decided on the path the router will route, never on the raw text (`//api/v1/...`).
        let path = RoutePath.normalised(request.uri.path)
        if Self.open.contains(path) || path.hasPrefix("/assets/") || RoutePath.isCallback(path) { return try await next(request, context) }
        let isAPI = RoutePath.isAPI(path)
        // A bearer token is the API's own way in; the auth middleware after this one checks it.
        if isAPI, request.headers[.authorization] != nil { return try await next(request, context) }
        guard let id = sessions.id(in: request), let session = try sessions.find(id, now: clock()),
              let token = try database.tokens().first(where: { $0.id == session.tokenId }), !token.isRevoked else {
            if isAPI { throw Problem.unauthorized }
            var response = Response(status: .seeOther, headers: [.location: "/signin"])
            if sessions.id(in: request) != nil {
                response.headers[.setCookie] = sessions.cookie("", maxAge: 0)
            }
            return response
        }
        var context = context
        context.token = token
        context.session = session
        guard request.method != .get && request.method != .head else { return try await next(request, context) }
        // Anything else a cookie authenticates changes something: it carries the session's CSRF
        // secret, whatever its path looks like, or it is refused here.
        var request = request
        try await Self.checkCSRF(&request, session: session, limit: context.maxUploadSize)
        return try await next(request, context)
    }

    /// The CSRF secret is in the `X-CSRF-Token` header (the dashboard's scripts) or in the
    /// `csrf` field of a URL-encoded form (its forms). A form body is read here and put back
    /// for the handler.
    static func checkCSRF(_ request: inout Request, session: DashboardSession, limit: Int) async throws {
        if let header = request.headers[.init("X-CSRF-Token")!] {
            guard DashboardSessions.same(header, session.csrf) else { throw forged }
            return
        }
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw Problem(.forbidden, "Forbidden", detail: "a browser session must send X-CSRF-Token (or a form with its csrf field)")
        }
        let buffer = try await request.collectBody(upTo: limit)
        guard let csrf = Form.parse(String(buffer: buffer))["csrf"], DashboardSessions.same(csrf, session.csrf) else { throw forged }
    }

    static let forged = Problem(.forbidden, "Forbidden", detail: "the form is stale or forged (CSRF check failed); reload the page and try again")
}

/// A URL-encoded form body (`application/x-www-form-urlencoded`).
struct Form: Sendable {
    var fields: [(String, String)]

    subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    /// A trimmed, non-empty value.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    static func parse(_ text: String) -> Form {
        Form(fields: text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        })
    }

    /// Reads a posted form, refusing it (403) unless it carries the session's CSRF secret.
    static func read(_ request: Request, context: APIContext) async throws -> Form {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw Problem(.unsupportedMediaType, "Unsupported media type", detail: "send the form as application/x-www-form-urlencoded")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let form = parse(String(buffer: buffer))
        guard let session = context.session, let csrf = form["csrf"], DashboardSessions.same(csrf, session.csrf) else {
            throw Problem(.forbidden, "Forbidden", detail: "the form is stale or forged (CSRF check failed); reload the page and try again")
        }
        return form
    }
}
