import LetheCore

/// Why a SCIM operation did not succeed, with what a person needs to act on it.
///
/// Never carries a secret or a subject's identifier: server details are scrubbed of the
/// values Lethe searched for before they are kept.
public struct SCIMClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Hashable {
        /// The target is misconfigured on Lethe's side (missing secret, bad URL).
        case configuration
        /// No HTTP answer (timeout, refused, reset).
        case transport(TransportError)
        /// An HTTP answer with an error status.
        case http
        /// A 2xx answer that is not valid SCIM, or a server that ignores filters.
        case protocolViolation
    }

    public var kind: Kind
    public var target: String
    /// What was attempted, e.g. `PATCH /Users/{id}`.
    public var operation: String
    public var status: Int?
    public var scimType: String?
    /// The server's detail, or Lethe's, scrubbed of identifiers.
    public var detail: String?
    /// Seconds the server asked to wait (Retry-After).
    public var retryAfter: Double?

    public init(kind: Kind, target: String, operation: String, status: Int? = nil, scimType: String? = nil,
                detail: String? = nil, retryAfter: Double? = nil) {
        self.kind = kind
        self.target = target
        self.operation = operation
        self.status = status
        self.scimType = scimType
        self.detail = detail
        self.retryAfter = retryAfter
    }

    /// True when trying again later may succeed: 429, 500, 502, 503, 504, timeouts,
    /// refused or reset connections. Everything else needs a person.
    public var isTransient: Bool {
        switch kind {
        case .transport(let error):
            switch error {
            case .timeout, .connectionRefused, .connectionReset: return true
            case .invalidURL, .other, .cancelled: return false
            }
        case .http: return status.map(Self.transientStatuses.contains) ?? false
        case .configuration, .protocolViolation: return false
        }
    }

    /// True when Lethe itself stopped waiting (shutdown, deadline): the attempt says nothing
    /// about the target and is recorded as interrupted.
    public var isInterruption: Bool {
        if case .transport(.cancelled) = kind { return true }
        return false
    }

    static let transientStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    public var description: String {
        var text = "\(target): \(operation) "
        switch kind {
        case .configuration: text += "cannot be attempted"
        case .transport(let error): text += "failed: \(error)"
        case .http: text += "answered \(status.map(String.init) ?? "?")"
        case .protocolViolation: text += "got an invalid answer"
        }
        if let scimType { text += " (\(scimType))" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        if let retryAfter { text += "; retry after \(Int(retryAfter.rounded(.up)))s" }
        if case .http = kind, status == 401 || status == 403 {
            text += " — check the credentials in the target's auth settings"
        }
        return text
    }
}
