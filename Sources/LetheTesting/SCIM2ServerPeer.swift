import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LetheCore

/// The third-party SCIM server the tests run against (scim2-server 0.8.3 from PyPI),
/// started by `scripts/test` (`scripts/peers start`), which exports its address.
public struct SCIM2ServerPeer: Sendable {
    public let rootURL: String
    public let token: String

    /// True when the peer's address is known, or when running in CI, where a missing peer
    /// must fail the tests rather than skip them.
    public static var shouldRun: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["LETHE_TEST_SCIM2_URL"] != nil || isCI
    }

    /// CI counts as set for `1`, `true` or `yes` (any case).
    public static var isCI: Bool {
        ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
    }

    /// The running peer; throws with instructions when it is not running.
    public static func running() throws -> SCIM2ServerPeer {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["LETHE_TEST_SCIM2_URL"], !url.isEmpty else {
            throw PeerMissing()
        }
        return SCIM2ServerPeer(rootURL: url, token: env["LETHE_TEST_SCIM2_TOKEN"] ?? "lethe-test-token")
    }

    /// A fresh, empty tenant: its own isolated store under a new path prefix.
    public func newTenant(_ label: String = "t") -> SCIMTenant {
        SCIMTenant(baseURL: "\(rootURL)/\(label)-\(UUID().uuidString.lowercased().prefix(12))/v2", token: token)
    }

    struct PeerMissing: Error, CustomStringConvertible {
        var description: String {
            "scim2-server is not running: run the tests with scripts/test, or `eval \"$(scripts/peers start)\"` first"
        }
    }
}

/// One SCIM base URL, read and written over plain HTTP (URLSession), independently of the
/// client under test, to create fixtures and to check what really happened.
public struct SCIMTenant: Sendable {
    public let baseURL: String
    public let token: String

    public init(baseURL: String, token: String) {
        self.baseURL = baseURL
        self.token = token
    }

    /// Sends a raw request; returns the status and the parsed body (nil when empty or not JSON).
    @discardableResult
    public func raw(_ method: String, _ path: String, json: String? = nil, token: String? = nil) async throws -> (status: Int, body: JSONValue?) {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(token ?? self.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/scim+json", forHTTPHeaderField: "Accept")
        if let json {
            request.setValue("application/scim+json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        // scim2-server is a development server shared by every suite running in parallel; under
        // that load it now and then resets a connection (seen once in six CI runs). One more try
        // after a pause: a POST that was applied before the reset answers 409, which
        // `createUser` resolves by looking the user up.
        for attempt in 0... {
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, JSONValue.parse(data))
            } catch let error as URLError where attempt < 2 && [.networkConnectionLost, .cannotConnectToHost, .timedOut].contains(error.code) {
                try await Task.sleep(nanoseconds: UInt64(attempt + 1) * 300_000_000)
            }
        }
        preconditionFailure("unreachable: the loop returns or throws")
    }

    /// Creates a user and returns its id.
    public func createUser(
        userName: String, email: String? = nil, externalId: String? = nil, givenName: String = "Ana", familyName: String = "Silva",
        locale: String? = nil, marketingSegment: String? = nil, address: String? = nil, preferredLanguage: String? = nil
    ) async throws -> String {
        var schemas = ["\"\(SCIMSchemas.coreUser)\""]
        var fields = ["\"userName\":\(Self.quote(userName))",
                      "\"name\":{\"givenName\":\(Self.quote(givenName)),\"familyName\":\(Self.quote(familyName))}"]
        if let email { fields.append("\"emails\":[{\"value\":\(Self.quote(email)),\"type\":\"work\",\"primary\":true}]") }
        if let externalId { fields.append("\"externalId\":\(Self.quote(externalId))") }
        if let locale { fields.append("\"locale\":\(Self.quote(locale))") }
        if let preferredLanguage { fields.append("\"preferredLanguage\":\(Self.quote(preferredLanguage))") }
        if let address { fields.append("\"addresses\":[{\"streetAddress\":\(Self.quote(address)),\"type\":\"home\"}]") }
        if let marketingSegment {
            schemas.append("\"\(SCIMSchemas.gdprUser)\"")
            fields.append("\"\(SCIMSchemas.gdprUser)\":{\"marketingSegment\":\(Self.quote(marketingSegment))}")
        }
        let body = "{\"schemas\":[\(schemas.joined(separator: ","))],\(fields.joined(separator: ","))}"
        let (status, json) = try await raw("POST", "/Users", json: body)
        if status == 409, let found = try await userId(named: userName) { return found }  // created before a reset (see `raw`)
        guard status == 201, let id = json?["id"]?.stringValue else { throw FixtureError("POST /Users answered \(status): \(String(describing: json))") }
        return id
    }

    /// The id of the one user with this userName, if there is exactly one.
    func userId(named userName: String) async throws -> String? {
        let filter = "userName eq \(Self.quote(userName))".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let (status, json) = try await raw("GET", "/Users?filter=\(filter)")
        guard status == 200, let found = json?["Resources"]?.arrayValue, found.count == 1 else { return nil }
        return found[0]["id"]?.stringValue
    }

    /// Creates a group with these member ids and returns its id.
    public func createGroup(_ name: String, members: [String]) async throws -> String {
        let list = members.map { "{\"value\":\(Self.quote($0)),\"type\":\"User\"}" }.joined(separator: ",")
        let body = "{\"schemas\":[\"\(SCIMSchemas.coreGroup)\"],\"displayName\":\(Self.quote(name)),\"members\":[\(list)]}"
        let (status, json) = try await raw("POST", "/Groups", json: body)
        guard status == 201, let id = json?["id"]?.stringValue else { throw FixtureError("POST /Groups answered \(status)") }
        return id
    }

    /// The user as the server holds it, or nil on 404; any other answer is an error (a test
    /// must never read a 500 as "the user is gone" or as the user).
    public func user(_ id: String) async throws -> JSONValue? {
        let (status, json) = try await raw("GET", "/Users/\(id)")
        switch status {
        case 404: return nil
        case 200: return json
        default: throw FixtureError("GET /Users/\(id) answered \(status)")
        }
    }

    /// Member ids of a group; an answer other than 200 is an error (never "no members").
    public func members(ofGroup id: String) async throws -> [String] {
        let (status, json) = try await raw("GET", "/Groups/\(id)")
        guard status == 200 else { throw FixtureError("GET /Groups/\(id) answered \(status)") }
        return json?["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []
    }

    static func quote(_ text: String) -> String {
        String(decoding: JSONValue.string(text).encoded(), as: UTF8.self)
    }
}

/// A fixture could not be set up.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
