import AsyncHTTPClient
import Foundation
import LetheCore
import NIOCore
import NIOHTTP1
import Synchronization

/// The live transport: one AsyncHTTPClient shared by every target in the process, with
/// connection reuse. Call `shutdown()` once when done.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient
    /// One executor per event loop, handed out in turn.
    private let executors: [EventLoopTaskExecutor]
    private let handedOut = Atomic<Int>(0)
    /// Bodies larger than this are refused rather than buffered.
    static let maxBodyBytes = 16 * 1024 * 1024

    /// - Parameter connectionsPerHost: connections kept per host (AsyncHTTPClient's default of 8
    ///   caps concurrency below what the engine may ask for).
    public init(connectionsPerHost: Int = 32) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        // A refused connection must surface at once, not be retried until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10))
        // No tracing: by default the client takes the process's tracer, which is a no-op one when
        // none was set up, and still built every call's span attributes (3 % of the engine's CPU).
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        executors = client.eventLoopGroup.makeIterator().map(EventLoopTaskExecutor.init)
    }

    /// The event loops in turn, one per call: a task on a loop sends its calls on connections of
    /// that loop (AsyncHTTPClient prefers the caller's), so its answers resume it on the thread
    /// they arrived on, and the tasks are spread over every loop (every core) as on the global pool.
    public var preferredExecutor: (any TaskExecutor)? {
        executors[handedOut.add(1, ordering: .relaxed).oldValue % executors.count]
    }

    /// Sends one request. The policy's timeout bounds the whole exchange, the body included: a
    /// server that sends its headers and then stalls is cut off at the same deadline.
    ///
    /// This uses AsyncHTTPClient's delegate interface, whose deadline covers the body as well
    /// (its async interface stops watching once the head has arrived) and which answers on the
    /// calling event loop. The async interface also started a task on the cooperative pool for
    /// every call, only to register it for cancellation, and needed a second task here for the
    /// deadline: together about a third of `lethe run`'s thread switches (issue #13).
    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        do {
            var headers = HTTPHeaders()
            for header in request.headers { headers.add(name: header.name, value: header.value) }
            let outgoing = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method.rawValue),
                                                  headers: headers, body: request.body.map { .bytes($0) })
            let task = client.execute(request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: Self.maxBodyBytes),
                                      eventLoop: .indifferent, deadline: .now() + .milliseconds(request.timeout.milliseconds))
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            var fields: [String: String] = [:]
            for (name, value) in response.headers where fields[name.lowercased()] == nil {
                fields[name.lowercased()] = value
            }
            return HTTPResponse(status: Int(response.status.code), headers: fields,
                                body: response.body.map { Data($0.readableBytesView) } ?? Data())
        } catch {
            throw Self.classify(error, url: request.url)
        }
    }

    /// Closes every connection. The transport cannot be used afterwards.
    public func shutdown() async {
        try? await client.shutdown()
    }

    static func classify(_ error: any Error, url: String) -> TransportError {
        // Cancellation comes from Lethe (shutdown, deadline), not from the target: it must
        // not be mistaken for a reset connection, which would spend the action's retries.
        if error is CancellationError || Task.isCancelled { return .cancelled }
        if error is ResponseAccumulator.ResponseTooBigError {
            return .other("the answer was larger than \(maxBodyBytes / 1024 / 1024) MiB, more than Lethe reads from a target; it was not read")
        }
        if let error = error as? HTTPClientError {
            if error == .cancelled { return .cancelled }
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return .timeout
            case .remoteConnectionClosed:
                return .connectionReset
            case .invalidURL, .emptyHost, .emptyScheme:
                return .invalidURL(url)
            default:
                return .other("HTTP client: \(error)")
            }
        }
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("refused") { return .connectionRefused }
        if lower.contains("reset") || lower.contains("eof") || lower.contains("closed") || lower.contains("broken pipe") {
            return .connectionReset
        }
        if lower.contains("timeout") || lower.contains("timed out") { return .timeout }
        if let tls = tlsProblem(text, url: url) { return .other(tls) }
        return .other(text)
    }

    /// What a refused TLS handshake means for the person who configured the target, instead of
    /// BoringSSL's codes and the source file they come from.
    static func tlsProblem(_ text: String, url: String) -> String? {
        let host = URLComponents(string: url)?.host ?? url
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: the certificate \(host) presented is not trusted on this machine (CERTIFICATE_VERIFY_FAILED): "
                + "it must chain to a certificate authority in the system's trust store"
        }
        if text.contains("failedToValidateHostname") {
            return "TLS: the certificate \(host) presented does not name \(host); check the host in base_url"
        }
        guard text.contains("NIOSSL") || text.contains("handshakeFailed") else { return nil }
        // Other handshake failures keep their reason, without the source path BoringSSL adds.
        let reason = text.replacingOccurrences(of: #" at /[^\]]*:\d+"#, with: "", options: .regularExpression)
        return "TLS handshake with \(host) failed: \(reason)"
    }
}
