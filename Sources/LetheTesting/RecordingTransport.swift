import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import Synchronization

/// A transport for unit tests: answers from a script and records every request, so tests
/// can assert exact URLs, headers and bodies. It can also wrap a live transport to record
/// what really went over the wire.
public final class RecordingTransport: HTTPTransport {
    public typealias Responder = @Sendable (HTTPRequest) async throws(TransportError) -> HTTPResponse

    private let responder: Responder
    private let log = Mutex<[HTTPRequest]>([])
    /// The transport it forwards to, if any: its executors are the ones to prefer.
    private let inner: (any HTTPTransport)?
    public var preferredExecutor: (any TaskExecutor)? { inner?.preferredExecutor }

    /// Answers each request with `responder`.
    public init(_ responder: @escaping Responder) {
        self.responder = responder
        inner = nil
    }

    private init(forwardingTo inner: any HTTPTransport) {
        self.responder = { request throws(TransportError) in try await inner.send(request) }
        self.inner = inner
    }

    /// Answers requests in order from `responses`; 599 when they run out.
    public convenience init(responses: [Result<HTTPResponse, TransportError>]) {
        let queue = Mutex(responses)
        self.init { _ throws(TransportError) in
            let next = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            guard let next else { return HTTPResponse(status: 599, body: Data("no scripted response left".utf8)) }
            return try next.get()
        }
    }

    /// Forwards to another transport, recording on the way.
    public convenience init(wrapping inner: any HTTPTransport) {
        self.init(forwardingTo: inner)
    }

    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        log.withLock { $0.append(request) }
        return try await responder(request)
    }

    /// Every request sent so far, in order.
    public var requests: [HTTPRequest] { log.withLock { $0 } }
}

extension HTTPResponse {
    /// A SCIM JSON answer.
    public static func scim(_ status: Int, _ json: String, headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.merging(["Content-Type": "application/scim+json"]) { a, _ in a }, body: Data(json.utf8))
    }

    /// A ListResponse holding the given resources.
    public static func list(_ resources: [String], total: Int? = nil, startIndex: Int = 1) -> HTTPResponse {
        scim(200, """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":\(total ?? resources.count),\
            "startIndex":\(startIndex),"itemsPerPage":\(resources.count),"Resources":[\(resources.joined(separator: ","))]}
            """)
    }
}

extension HTTPRequest {
    /// The body as text.
    public var bodyText: String? { body.map { String(decoding: $0, as: UTF8.self) } }
}
