import Foundation
import Hummingbird
import LetheStore
import NIOCore
import Synchronization

/// A browser signed in with an API token: its token (checked again on every request, so a
/// revoked token ends the session), a CSRF secret every form carries, and when it ends.
struct DashboardSession: Sendable, Hashable {
    var id: String
    var tokenId: String
    var csrf: String
    var expires: Date
}

/// The dashboard's sessions, in memory: a restart signs everyone out (nothing about a session
/// is kept on disk). The cookie carries a random id only.
final class DashboardSessions: Sendable {
    static let cookieName = "lethe_session"
    /// Eight hours: a working day.
    static let lifetime: TimeInterval = 8 * 3600

    private let state = Mutex<[String: DashboardSession]>([:])

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next()) }.joined()
    }

    func open(token: APIToken, now: Date) -> DashboardSession {
        let session = DashboardSession(id: Self.random(), tokenId: token.id, csrf: Self.random(), expires: now.addingTimeInterval(Self.lifetime))
        state.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[session.id] = session
        }
        return session
    }

    func find(_ id: String, now: Date) -> DashboardSession? {
        state.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > now else {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    func close(_ id: String) { _ = state.withLock { $0.removeValue(forKey: id) } }

    /// The `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure under TLS, expiring with the session.
    static func cookie(_ value: String, secure: Bool, maxAge: Int) -> String {
        "\(cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }

    /// The session id a request's `Cookie` header carries.
    static func id(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookieName + "=") { return String(pair.dropFirst(cookieName.count + 1)) }
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
    let database: AppDatabase
    let sessions: DashboardSessions
    let clock: @Sendable () -> Date

    static let open: Set<String> = ["/signin", "/favicon.ico", "/healthz", "/readyz", "/metrics", "/api/v1/openapi.yaml"]

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.open.contains(path) || path.hasPrefix("/assets/") { return try await next(request, context) }
        let isAPI = path.hasPrefix("/api/")
        // A bearer token is the API's own way in; the auth middleware after this one checks it.
        if isAPI, request.headers[.authorization] != nil { return try await next(request, context) }
        guard let id = DashboardSessions.id(in: request), let session = sessions.find(id, now: clock()),
              let token = try database.tokens().first(where: { $0.id == session.tokenId }), !token.isRevoked else {
            if isAPI { throw Problem.unauthorized }
            var response = Response(status: .seeOther, headers: [.location: "/signin"])
            if DashboardSessions.id(in: request) != nil {
                response.headers[.setCookie] = DashboardSessions.cookie("", secure: false, maxAge: 0)
            }
            return response
        }
        var context = context
        context.token = token
        context.session = session
        if request.method != .get && request.method != .head {
            let header = request.headers[.init("X-CSRF-Token")!]
            if let header {
                guard DashboardSessions.same(header, session.csrf) else { throw Problem(.forbidden, "Forbidden", detail: "the form is stale or forged (CSRF check failed); reload the page") }
            } else if isAPI {
                throw Problem(.forbidden, "Forbidden", detail: "a browser session must send X-CSRF-Token")
            }
            // Forms: the CSRF field is checked where the form is read (`Form.read`).
        }
        return try await next(request, context)
    }
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
