import Foundation
import LetheCore
import LetheDrivers
import LetheHTTP
import LetheSCIM
import LetheStorage

/// One SCIM client per target over a single shared transport, each paced by its own
/// `rate_limit`, and the driver the engine uses for each. Built by `Runtime`.
public struct TargetClients: TargetDrivers {
    public let transport: any HTTPTransport
    /// Nil without a state directory (a target check): then there are clients but no drivers.
    let pseudonymizer: Pseudonymizer?
    /// Per target: a client, or why none could be built (a missing secret, a bad URL).
    public let clients: [String: Result<SCIMClient, SCIMClientError>]
    /// Per manual target: the task a person is handed.
    let manualTasks: [String: ManualTask]
    /// Per webhook target: its driver, or why there is none (its secret is not set).
    let webhooks: [String: Result<WebhookDriver, WebhookUnavailable>]

    /// A webhook target that cannot be used as configured.
    public struct WebhookUnavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public init(policies: PolicySet, environment: [String: String], transport: any HTTPTransport, pseudonymizer: Pseudonymizer?,
                now: @escaping @Sendable () -> Date = { Date() }, share: PaceShare? = nil,
                observeCall: (@Sendable (String, String, Int?, Duration) -> Void)? = nil) {
        self.transport = transport
        self.pseudonymizer = pseudonymizer
        var clients: [String: Result<SCIMClient, SCIMClientError>] = [:]
        var manualTasks: [String: ManualTask] = [:]
        var webhooks: [String: Result<WebhookDriver, WebhookUnavailable>] = [:]
        for policy in policies.policies {
            if policy.kind == .manual, let task = policy.manual {
                manualTasks[policy.target] = task
                continue
            }
            if policy.kind == .webhook, let endpoint = policy.webhook {
                guard let secret = environment[endpoint.secretEnv], secret.utf8.count >= 16 else {
                    webhooks[policy.target] = .failure(WebhookUnavailable(description: "\(policy.target): \(endpoint.secretEnv) is not set (or shorter than "
                        + "16 bytes): jobs cannot be signed; export it (e.g. openssl rand -hex 32) and give the system the same secret"))
                    continue
                }
                let paced: any HTTPTransport = policy.engine.rateLimit.map { RateLimitedTransport(transport, limit: $0, share: share) } ?? transport
                webhooks[policy.target] = .success(WebhookDriver(endpoint: endpoint, secret: Data(secret.utf8), transport: paced,
                                                                 timeout: policy.engine.timeout, publicURL: environment["LETHE_PUBLIC_URL"], now: now))
                continue
            }
            do {
                // Each target gets its own pace on the shared connection pool.
                var paced: any HTTPTransport = policy.engine.rateLimit.map { RateLimitedTransport(transport, limit: $0, share: share) } ?? transport
                if let observeCall { paced = ObservedTransport(paced, target: policy.target, observe: observeCall) }
                clients[policy.target] = .success(try SCIMClient(policy: policy, environment: environment, transport: paced, now: now))
            } catch {
                clients[policy.target] = .failure(error)
            }
        }
        self.clients = clients
        self.manualTasks = manualTasks
        self.webhooks = webhooks
    }

    public var preferredExecutor: (any TaskExecutor)? { transport.preferredExecutor }

    public func driver(for target: String) throws -> any TargetDriver {
        guard let pseudonymizer else { throw RuntimeError.noStateDirectory }
        if let task = manualTasks[target] { return ManualDriver(task: task) }
        if let webhook = webhooks[target] { return try webhook.get() }
        return SCIMDriver(client: try client(for: target), pseudonymizer: pseudonymizer)
    }

    public func client(for target: String) throws(SCIMClientError) -> SCIMClient {
        guard let result = clients[target] else {
            throw SCIMClientError(kind: .configuration, target: target, operation: "connect", detail: "no policy names this target")
        }
        return try result.get()
    }
}

/// Tells an observer of each call to one target: method, status (nil without an answer), time.
struct ObservedTransport: HTTPTransport {
    let base: any HTTPTransport
    let target: String
    let observe: @Sendable (String, String, Int?, Duration) -> Void
    var preferredExecutor: (any TaskExecutor)? { base.preferredExecutor }

    init(_ base: any HTTPTransport, target: String, observe: @escaping @Sendable (String, String, Int?, Duration) -> Void) {
        self.base = base
        self.target = target
        self.observe = observe
    }

    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let start = ContinuousClock.now
        do {
            let response = try await base.send(request)
            observe(target, request.method.rawValue, response.status, ContinuousClock.now - start)
            return response
        } catch {
            observe(target, request.method.rawValue, nil, ContinuousClock.now - start)
            throw error
        }
    }
}
