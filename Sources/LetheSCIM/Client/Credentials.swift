import Foundation
import LetheCore
import LetheHTTP

/// Produces the `Authorization` header for a target. Secrets are read from the environment
/// once, when the client is built, and are never part of an error or a log line.
public struct Authorizer: Sendable {
    enum Source: Sendable {
        case none
        case fixed(String)
        case oauth(OAuth2TokenSource)
    }

    let source: Source

    /// Reads the secrets `auth` names from `environment`.
    public init(auth: AuthSettings, environment: [String: String], transport: any HTTPTransport,
                timeout: TimeSpan, now: @escaping @Sendable () -> Date) throws(SCIMConfigurationError) {
        func secret(_ name: String) throws(SCIMConfigurationError) -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw SCIMConfigurationError("\(name) is not set; export it with the target's secret")
            }
            return value
        }
        switch auth {
        case .none:
            source = .none
        case .bearer(let tokenEnv):
            source = .fixed("Bearer \(try secret(tokenEnv))")
        case .basic(let userEnv, let passwordEnv):
            let pair = "\(try secret(userEnv)):\(try secret(passwordEnv))"
            source = .fixed("Basic \(Data(pair.utf8).base64EncodedString())")
        case .oauth2ClientCredentials(let tokenURL, let idEnv, let secretEnv, let scope):
            source = .oauth(OAuth2TokenSource(
                tokenURL: tokenURL, clientId: try secret(idEnv), clientSecret: try secret(secretEnv), scope: scope,
                transport: transport, timeout: timeout, now: now, credentialNames: "\(idEnv) and \(secretEnv)"))
        }
    }

    /// The header value, or nil without auth.
    func header(refresh: Bool = false) async throws(TokenEndpointError) -> String? {
        switch source {
        case .none: return nil
        case .fixed(let value): return value
        case .oauth(let tokens): return "Bearer \(try await tokens.token(refresh: refresh))"
        }
    }

    /// True when a 401 may be cured by fetching a new token.
    var canRefresh: Bool {
        if case .oauth = source { return true }
        return false
    }
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4): a token cached until shortly before it expires.
actor OAuth2TokenSource {
    let tokenURL: String
    private let clientId: String
    private let clientSecret: String
    let scope: String?
    let transport: any HTTPTransport
    let timeout: TimeSpan
    let now: @Sendable () -> Date
    /// The environment variables that hold the client id and secret, for messages.
    let credentialNames: String
    private var cached: (token: String, expires: Date)?

    init(tokenURL: String, clientId: String, clientSecret: String, scope: String?, transport: any HTTPTransport,
         timeout: TimeSpan, now: @escaping @Sendable () -> Date, credentialNames: String) {
        self.credentialNames = credentialNames
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scope = scope
        self.transport = transport
        self.timeout = timeout
        self.now = now
    }

    /// A token; a token endpoint that is down, slow or busy (timeouts, 429, 5xx) is transient, one
    /// that refuses the credentials (400, 401, 403) is a configuration error.
    func token(refresh: Bool) async throws(TokenEndpointError) -> String {
        if !refresh, let cached, cached.expires > now() { return cached.token }
        var form = "grant_type=client_credentials"
        if let scope { form += "&scope=\(SCIMFilter.percentEncoded(scope))" }
        let basic = Data("\(SCIMFilter.percentEncoded(clientId)):\(SCIMFilter.percentEncoded(clientSecret))".utf8).base64EncodedString()
        let request = HTTPRequest(
            method: .post, url: tokenURL,
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Accept", "application/json"),
                      HTTPHeader("Authorization", "Basic \(basic)")],
            body: Data(form.utf8), timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw .unreachable(error, detail: "the OAuth2 token endpoint \(tokenURL) could not be reached: \(error)")
        }
        if [408, 429, 500, 502, 503, 504].contains(response.status) {
            throw .busy(status: response.status, retryAfter: RetryAfter.seconds(response.header("retry-after"), now: now()),
                        detail: "the OAuth2 token endpoint \(tokenURL) answered \(response.status)")
        }
        guard response.status == 200, let json = JSONValue.parse(response.body),
              let token = json["access_token"]?.stringValue, !token.isEmpty else {
            let reason = JSONValue.parse(response.body)?["error"]?.stringValue.map { " (\($0))" } ?? ""
            throw .refused(detail: "the OAuth2 token endpoint \(tokenURL) refused the client credentials: HTTP \(response.status)\(reason); "
                + "check \(credentialNames)")
        }
        let lifetime = json["expires_in"]?.intValue ?? 300
        // Renew a little early so a token never expires in flight.
        cached = (token, now().addingTimeInterval(Double(max(0, lifetime - 30))))
        return token
    }
}

/// A target cannot be used as configured.
public struct SCIMConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Why no OAuth2 token could be had.
enum TokenEndpointError: Error, Sendable {
    /// No answer (timeout, refused, reset): try again later.
    case unreachable(TransportError, detail: String)
    /// 408, 429 or 5xx: try again later.
    case busy(status: Int, retryAfter: Double?, detail: String)
    /// The credentials were refused (400, 401, 403) or the answer had no token: a person must fix it.
    case refused(detail: String)
}
