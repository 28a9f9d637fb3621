import Foundation
import LetheCore
import LetheSandbox
import Synchronization

/// A programmable hostile SCIM server for the tests: a real in-memory sandbox underneath, and
/// rules that answer chosen requests the way a lying or broken server would (malformed lists,
/// reused ids, 404 for everything, 2xx writes that do nothing, error texts full of names...).
/// The first rule that answers wins; everything else reaches the sandbox.
public final class HostileSCIM: SCIMRequestHandler {
    /// A request as rules see it.
    public struct Request: Sendable {
        public var method: String
        /// Path under the target's base, e.g. `/Users/abc` or `/Users`.
        public var path: String
        public var target: String
        public var query: String
        public var body: Data
    }

    public typealias Rule = @Sendable (Request, Sandbox) -> Sandbox.Outcome?
    /// Changes a JSON answer the sandbox gave (nil leaves it as it is).
    public typealias Rewrite = @Sendable (Request, JSONValue) -> JSONValue?

    public let sandbox: Sandbox
    private let rules = Mutex<[Rule]>([])
    private let rewrites = Mutex<[Rewrite]>([])

    public init(_ sandbox: Sandbox) { self.sandbox = sandbox }

    /// Adds a rule (tried in order).
    public func add(_ rule: @escaping Rule) { rules.withLock { $0.append(rule) } }

    /// Adds a rewrite of the sandbox's true JSON answers (applied in order): a server that
    /// hides an attribute, or shows what it does not hold.
    public func rewrite(_ rewrite: @escaping Rewrite) { rewrites.withLock { $0.append(rewrite) } }

    public func handle(method: String, uri: String, headers: [(String, String)], body: Data, host: String) -> Sandbox.Outcome {
        let question = uri.firstIndex(of: "?")
        let path = question.map { String(uri[..<$0]) } ?? uri
        let query = question.map { String(uri[uri.index(after: $0)...]).removingPercentEncoding ?? "" } ?? ""
        let segments = path.split(separator: "/").map(String.init)
        if segments.count >= 2, segments[1] == "v2" {
            let request = Request(method: method.uppercased(), path: "/" + segments.dropFirst(2).joined(separator: "/"), target: segments[0],
                                  query: query, body: body)
            for rule in rules.withLock({ $0 }) {
                if let outcome = rule(request, sandbox) { return outcome }
            }
            let outcome = sandbox.handle(method: method, uri: uri, headers: headers, body: body, host: host)
            let rewrites = rewrites.withLock { $0 }
            guard !rewrites.isEmpty, case .respond(var response, let delay) = outcome, var json = JSONValue.parse(response.body) else { return outcome }
            for rewrite in rewrites { json = rewrite(request, json) ?? json }
            response.body = CanonicalJSON.encode(json)
            return .respond(response, delayMs: delay)
        }
        return sandbox.handle(method: method, uri: uri, headers: headers, body: body, host: host)
    }

    /// A JSON answer.
    public static func json(_ status: Int, _ value: JSONValue, headers: [String: String] = [:]) -> Sandbox.Outcome {
        .respond(SandboxResponse(status: status, headers: headers.merging(["Content-Type": "application/scim+json"]) { a, _ in a },
                                 body: CanonicalJSON.encode(value)), delayMs: 0)
    }

    /// A list response with exactly these members (nil leaves a member out).
    public static func list(totalResults: JSONValue?, resources: JSONValue?) -> Sandbox.Outcome {
        var object: [String: JSONValue] = ["schemas": .array([.string("urn:ietf:params:scim:api:messages:2.0:ListResponse")])]
        if let totalResults { object["totalResults"] = totalResults }
        if let resources { object["Resources"] = resources }
        return json(200, .object(object))
    }

    /// The value without `key`, in it and in every object it holds (a list's resources too).
    public static func removing(_ key: String, from value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var kept: [String: JSONValue] = [:]
            for (name, member) in members where name != key { kept[name] = removing(key, from: member) }
            return .object(kept)
        case .array(let items): return .array(items.map { removing(key, from: $0) })
        default: return value
        }
    }
}
