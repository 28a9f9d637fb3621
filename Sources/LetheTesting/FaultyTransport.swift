import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import Synchronization

/// Wraps a real transport and misbehaves on purpose for chosen requests, so engine tests can
/// see what Lethe does when a server is down, rate-limits, or lies about a write.
public final class FaultyTransport: HTTPTransport {
    /// A way to misbehave.
    public enum Fault: Sendable {
        /// Answer this status (with Retry-After when given) instead of forwarding.
        case status(Int, retryAfter: Int?)
        /// Answer exactly this.
        case answer(HTTPResponse)
        /// Fail without an HTTP answer.
        case transport(TransportError)
        /// Turn a DELETE into `active=false` and answer 204 (a soft delete).
        case softDelete
        /// Answer a PATCH 200 without applying operations on extension (URN) paths.
        case ignoreExtensionPatch
    }

    /// Which requests a fault applies to, and how many times (nil: always).
    public struct Rule: Sendable {
        public var urlContains: String
        public var method: HTTPVerb?
        public var fault: Fault
        public var times: Int?

        public init(urlContains: String, method: HTTPVerb? = nil, fault: Fault, times: Int? = nil) {
            self.urlContains = urlContains
            self.method = method
            self.fault = fault
            self.times = times
        }
    }

    private let inner: any HTTPTransport
    public var preferredExecutor: (any TaskExecutor)? { inner.preferredExecutor }
    private let rules: Mutex<[Rule]>
    private let hits = Mutex<Int>(0)

    public init(wrapping inner: any HTTPTransport, rules: [Rule]) {
        self.inner = inner
        self.rules = Mutex(rules)
    }

    /// Replaces the rules (between runs).
    public func setRules(_ new: [Rule]) { rules.withLock { $0 = new } }

    /// How many requests were answered by a fault.
    public var faultsServed: Int { hits.withLock { $0 } }

    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let fault: Fault? = rules.withLock { rules in
            guard let index = rules.firstIndex(where: { rule in
                request.url.contains(rule.urlContains) && (rule.method == nil || rule.method == request.method) && rule.times != 0
            }) else { return nil }
            if let times = rules[index].times { rules[index].times = times - 1 }
            return rules[index].fault
        }
        guard let fault else { return try await inner.send(request) }
        hits.withLock { $0 += 1 }
        switch fault {
        case .status(let status, let retryAfter):
            var headers = ["Content-Type": "application/scim+json"]
            if let retryAfter { headers["Retry-After"] = String(retryAfter) }
            let body = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"\#(status)","detail":"injected fault"}"#
            return HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
        case .answer(let response):
            return response
        case .transport(let error):
            throw error
        case .softDelete:
            var patch = request
            patch.method = .patch
            patch.body = PatchRequest([.replace("active", with: .bool(false))]).encoded()
            if patch.header("Content-Type") == nil { patch.headers.append(HTTPHeader("Content-Type", "application/scim+json")) }
            _ = try await inner.send(patch)
            return HTTPResponse(status: 204)
        case .ignoreExtensionPatch:
            guard request.method == .patch, let body = request.body, let json = JSONValue.parse(body) else { return try await inner.send(request) }
            let kept = (json["Operations"]?.arrayValue ?? []).filter { !($0["path"]?.stringValue ?? "").lowercased().hasPrefix("urn:") }
            var filtered = request
            filtered.body = JSONValue.object(["schemas": .array([.string(SCIMSchemas.patchOp)]), "Operations": .array(kept)]).encoded()
            if kept.isEmpty { return HTTPResponse(status: 204) }
            return try await inner.send(filtered)
        }
    }
}
