import Foundation
import LetheCore
import Synchronization

/// Answers one HTTP request: what `SandboxServer` serves.
public protocol SCIMRequestHandler: Sendable {
    func handle(method: String, uri: String, headers: [(String, String)], body: Data, host: String) -> Sandbox.Outcome
}

/// In-memory SCIM 2.0 service providers, one per target under `/{target}/v2`, with optional
/// seeded customers and fault injection. Pure request → response; `SandboxServer` puts it on HTTP.
public final class Sandbox: SCIMRequestHandler {
    /// How the sandbox is set up.
    public struct Configuration: Sendable {
        public var targets: [String]
        /// Bearer token required on /Users and /Groups (nil: no auth).
        public var token: String?
        /// Customers to create per target.
        public var seedCustomers: Int
        /// Seed for ids, customers and faults: the same seed gives the same run.
        public var randomSeed: UInt64
        public var faults: [String: FaultSpec]
        /// Users list the groups they belong to (`groups`, RFC 7643 §4.1.2), as many servers do.
        public var groupsOnUsers: Bool

        public init(targets: [String] = ["shop", "app", "newsletter", "crm"], token: String? = nil, seedCustomers: Int = 0,
                    randomSeed: UInt64 = 1, faults: [String: FaultSpec] = [:], groupsOnUsers: Bool = false) {
            self.targets = targets
            self.token = token
            self.seedCustomers = seedCustomers
            self.randomSeed = randomSeed
            self.faults = faults
            self.groupsOnUsers = groupsOnUsers
        }
    }

    /// What to do with a request.
    public enum Outcome: Sendable {
        case respond(SandboxResponse, delayMs: Int)
        /// Close the connection without answering (a dropped connection).
        case drop
        /// Send the status line and headers (announcing a body), then nothing: a stalled body.
        case stall(status: Int)
    }

    public let configuration: Configuration
    let stores: [String: Locked<TargetStore>]
    /// Requests answered, by "TARGET METHOD /Resource" (ids left out), so tests and benchmarks
    /// measure calls instead of computing them.
    private let calls = Mutex<[String: Int]>([:])
    /// Authenticated SCIM calls per target, for `429-at`.
    private let faulted = Mutex<[String: Int]>([:])
    let chaos: [String: Locked<SeededRandom>]

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var stores: [String: Locked<TargetStore>] = [:]
        var chaos: [String: Locked<SeededRandom>] = [:]
        for (index, target) in configuration.targets.enumerated() {
            var store = TargetStore(name: target, random: SeededRandom(seed: configuration.randomSeed &* 1_000_003 &+ UInt64(index)))
            store.listsGroups = configuration.groupsOnUsers
            if configuration.seedCustomers > 0 { store.seed(configuration.seedCustomers) }
            stores[target] = Locked(store)
            chaos[target] = Locked(SeededRandom(seed: configuration.randomSeed &+ 7919 &* UInt64(index + 1)))
        }
        self.stores = stores
        self.chaos = chaos
    }

    /// One user of a target by id, as stored (nil when there is none).
    public func user(in target: String, id: String) -> JSONValue? {
        stores[target]?.withLock { $0.users[id] }
    }

    /// The customers seeded in every target (target → their users), for demos and tests.
    public func users(in target: String) -> [JSONValue] {
        stores[target]?.withLock { store in store.order.live.compactMap { store.users[$0] } } ?? []
    }

    /// The groups of a target, as stored.
    public func groups(in target: String) -> [JSONValue] {
        stores[target]?.withLock { store in store.groupOrder.live.compactMap { store.groups[$0] } } ?? []
    }

    /// Requests received so far, by "TARGET METHOD /Resource" (e.g. `app DELETE /Users`).
    public var callCounts: [String: Int] { calls.withLock { $0 } }

    /// Requests received so far by one target.
    public func requestCount(target: String) -> Int {
        calls.withLock { $0.filter { $0.key.hasPrefix(target + " ") }.values.reduce(0, +) }
    }

    /// Answers one HTTP request.
    public func handle(method: String, uri: String, headers: [(String, String)], body: Data, host: String) -> Outcome {
        let (path, query) = Self.split(uri)
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if segments == ["stats"] && method.uppercased() == "GET" {
            let counts = callCounts.mapValues { JSONValue.number(Double($0)) }
            return .respond(SandboxResponse(status: 200, headers: ["Content-Type": "application/json"],
                                            body: CanonicalJSON.encode(.object(["calls": .object(counts)]))), delayMs: 0)
        }
        if segments.count >= 3, stores[segments[0]] != nil {
            let key = "\(segments[0]) \(method.uppercased()) /\(segments[2])"
            calls.withLock { $0[key, default: 0] += 1 }
        }
        guard segments.count >= 2, segments[1] == "v2", let store = stores[segments[0]] else {
            return .respond(.error(404, nil, "no SCIM target at \(path); targets: \(configuration.targets.map { "/\($0)/v2" }.joined(separator: ", "))"), delayMs: 0)
        }
        let target = segments[0]
        let rest = Array(segments.dropFirst(2))
        let base = "http://\(host)/\(target)/v2"
        let header = { (name: String) in headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

        // Discovery needs no credentials, and is read-only.
        if rest.first == "ServiceProviderConfig" || rest.first == "Schemas" || rest.first == "ResourceTypes" {
            guard method.uppercased() == "GET" else {
                var response = SandboxResponse.error(405, nil, "\(method) is not allowed on /\(rest.joined(separator: "/"))")
                response.headers["Allow"] = "GET"
                return .respond(response, delayMs: 0)
            }
            return .respond(Discovery.answer(rest, base: base), delayMs: 0)
        }
        if let token = configuration.token, header("authorization") != "Bearer \(token)" {
            var response = SandboxResponse.error(401, nil, "Authorization failure: a valid bearer token is required")
            response.headers["WWW-Authenticate"] = "Bearer realm=\"lethe-sandbox\""
            return .respond(response, delayMs: 0)
        }
        let faults = configuration.faults[target] ?? FaultSpec()
        let (roll429, roll503, rollDrop) = chaos[target]!.withLock { ($0.unit(), $0.unit(), $0.unit()) }
        let ordinal = faulted.withLock { counts -> Int in counts[target, default: 0] += 1; return counts[target]! }
        if rollDrop < faults.dropRate { return .drop }
        if roll429 < faults.rate429 || faults.call429 == ordinal {
            var response = SandboxResponse.error(429, nil, "too many requests (injected)")
            response.headers["Retry-After"] = String(faults.retryAfter)
            return .respond(response, delayMs: faults.latencyMs)
        }
        if roll503 < faults.rate503 {
            return .respond(.error(503, nil, "service unavailable (injected)"), delayMs: faults.latencyMs)
        }
        let request = SCIMRequest(method: method.uppercased(), path: rest, query: query, body: body, ifMatch: header("if-match"), base: base)
        let response = store.withLock { $0.handle(request, faults: faults) }
        return .respond(response, delayMs: faults.latencyMs)
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        guard let question = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: question)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            query[kv[0]] = kv.count == 2 ? kv[1] : ""
        }
        return (String(uri[..<question]), query)
    }
}

/// An HTTP answer.
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: Int, _ value: JSONValue, headers: [String: String] = [:]) -> SandboxResponse {
        SandboxResponse(status: status, headers: headers.merging(["Content-Type": "application/scim+json"]) { a, _ in a }, body: value.encoded())
    }

    static func error(_ status: Int, _ scimType: String?, _ detail: String) -> SandboxResponse {
        var object: [String: JSONValue] = [
            "schemas": .array([.string(SCIMSchemas.error)]), "status": .string(String(status)), "detail": .string(detail),
        ]
        if let scimType { object["scimType"] = .string(scimType) }
        return json(status, .object(object))
    }

    static func empty(_ status: Int, headers: [String: String] = [:]) -> SandboxResponse {
        SandboxResponse(status: status, headers: headers, body: Data())
    }
}

struct SCIMRequest {
    var method: String
    var path: [String]
    var query: [String: String]
    var body: Data
    var ifMatch: String?
    var base: String
}

/// `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
enum Discovery {
    static let schemas: [JSONValue] = (JSONValue.parse(Data(SchemaDocuments.schemas.utf8))?.arrayValue ?? []).map { withMeta($0, "Schema") }
    static let resourceTypes: [JSONValue] = (JSONValue.parse(Data(SchemaDocuments.resourceTypes.utf8))?.arrayValue ?? []).map { withMeta($0, "ResourceType") }

    static func withMeta(_ document: JSONValue, _ type: String) -> JSONValue {
        var document = document
        if document.member("schemas") == nil {
            document.setMember("schemas", .array([.string("urn:ietf:params:scim:schemas:core:2.0:\(type)")]))
        }
        return document
    }

    static func answer(_ rest: [String], base: String) -> SandboxResponse {
        switch (rest.first, rest.count) {
        case ("ServiceProviderConfig", 1):
            return .json(200, .object([
                "schemas": .array([.string("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig")]),
                "documentationUri": .string("https://github.com/lethe (sandbox)"),
                "patch": .object(["supported": .bool(true)]),
                "bulk": .object(["supported": .bool(false), "maxOperations": .number(0), "maxPayloadSize": .number(0)]),
                "filter": .object(["supported": .bool(true), "maxResults": .number(1000)]),
                "changePassword": .object(["supported": .bool(false)]),
                "sort": .object(["supported": .bool(false)]),
                "etag": .object(["supported": .bool(true)]),
                "authenticationSchemes": .array([.object([
                    "type": .string("oauthbearertoken"), "name": .string("Bearer token"),
                    "description": .string("Authentication with a bearer token"),
                ])]),
                "meta": .object(["resourceType": .string("ServiceProviderConfig"), "location": .string("\(base)/ServiceProviderConfig")]),
            ]))
        case ("Schemas", 1): return list(schemas)
        case ("ResourceTypes", 1): return list(resourceTypes)
        case ("Schemas", 2):
            guard let schema = schemas.first(where: { $0.member("id")?.value.stringValue == rest[1] }) else { return .error(404, nil, "no schema \(rest[1])") }
            return .json(200, schema)
        case ("ResourceTypes", 2):
            guard let type = resourceTypes.first(where: { $0.member("id")?.value.stringValue == rest[1] }) else { return .error(404, nil, "no resource type \(rest[1])") }
            return .json(200, type)
        default:
            return .error(404, nil, "not found")
        }
    }

    static func list(_ items: [JSONValue]) -> SandboxResponse {
        .json(200, .object([
            "schemas": .array([.string(SCIMSchemas.listResponse)]), "totalResults": .number(Double(items.count)),
            "itemsPerPage": .number(Double(items.count)), "startIndex": .number(1), "Resources": .array(items),
        ]))
    }
}

/// A value behind a lock, shareable across threads.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }
}
