import Foundation
import LetheCore

/// Sends one HTTP request and returns the whole response. The only way Lethe reaches the network.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse
    /// Where a task that mostly waits on this transport runs cheapest: a thread its
    /// connections' answers arrive on, so that resuming after a call is no thread hop. Asked
    /// once per task (the live transport hands out its loops in turn). Nil (the default): the
    /// global concurrent executor.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension HTTPTransport {
    public var preferredExecutor: (any TaskExecutor)? { nil }
}

/// The HTTP methods SCIM uses.
public enum HTTPVerb: String, Sendable, Hashable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
}

/// An HTTP request, fully formed.
public struct HTTPRequest: Sendable, Hashable {
    public var method: HTTPVerb
    public var url: String
    /// Header names as sent; order kept.
    public var headers: [HTTPHeader]
    public var body: Data?
    public var timeout: TimeSpan

    public init(method: HTTPVerb, url: String, headers: [HTTPHeader] = [], body: Data? = nil, timeout: TimeSpan = .seconds(30)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// One header line.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// An HTTP response with its body read in full.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// The request never got an HTTP answer.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer within the timeout.
    case timeout
    /// Nothing listens at the address.
    case connectionRefused
    /// The connection dropped before the answer was complete.
    case connectionReset
    /// The URL could not be used.
    case invalidURL(String)
    /// The caller gave up (the run is shutting down or past its deadline): says nothing
    /// about the target, so it is never counted as the target's failure.
    case cancelled
    /// Anything else (TLS, DNS, ...), described without secrets.
    case other(String)

    public var description: String {
        switch self {
        case .timeout: "no answer before the timeout"
        case .connectionRefused: "connection refused"
        case .connectionReset: "connection closed before the answer was complete"
        case .invalidURL(let url): "invalid URL \(url)"
        case .cancelled: "interrupted: Lethe stopped waiting for the answer"
        case .other(let detail): detail
        }
    }
}
