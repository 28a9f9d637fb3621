import Foundation
import LetheCore
import LetheEngine
import LetheSCIM

/// One SCIM client per target over a single shared transport, each paced by its own
/// `rate_limit`. Built by `Runtime`.
public struct TargetClients: SCIMClientSource {
    public let transport: any HTTPTransport
    /// Per target: a client, or why none could be built (a missing secret, a bad URL).
    public let clients: [String: Result<SCIMClient, SCIMClientError>]

    public init(policies: PolicySet, environment: [String: String], transport: any HTTPTransport,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.transport = transport
        var clients: [String: Result<SCIMClient, SCIMClientError>] = [:]
        for policy in policies.policies {
            do {
                // Each target gets its own pace on the shared connection pool.
                let paced: any HTTPTransport = policy.connection.rateLimit.map { RateLimitedTransport(transport, limit: $0) } ?? transport
                clients[policy.target] = .success(try SCIMClient(policy: policy, environment: environment, transport: paced, now: now))
            } catch {
                clients[policy.target] = .failure(error)
            }
        }
        self.clients = clients
    }

    public func client(for target: String) throws(SCIMClientError) -> SCIMClient {
        guard let result = clients[target] else {
            throw SCIMClientError(kind: .configuration, target: target, operation: "connect", detail: "no policy names this target")
        }
        return try result.get()
    }
}
