import Foundation
import Hummingbird

/// Headers every answer carries, decided in one place: `nosniff` everywhere; `no-store` on the
/// API (its answers hold request data a shared cache must not keep); the dashboard's content
/// policy on any HTML that has none yet (an HTML report served by the API); and, when browsers
/// reach the server over HTTPS, `Strict-Transport-Security`.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = APIContext

    let secure: SecureFlag

    /// One year, the usual HSTS lifetime.
    static let hsts = "max-age=31536000"

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        if RoutePath.isAPI(RoutePath.normalised(request.uri.path)) {
            response.headers[.cacheControl] = "no-store"
        }
        if response.headers[.contentType]?.lowercased().hasPrefix("text/html") == true,
           response.headers[.init("Content-Security-Policy")!] == nil {
            response.headers[.init("Content-Security-Policy")!] = Dashboard.contentSecurityPolicy
            response.headers[.init("Referrer-Policy")!] = Dashboard.referrerPolicy
        }
        if secure.isOn { response.headers[.init("Strict-Transport-Security")!] = Self.hsts }
        return response
    }
}
