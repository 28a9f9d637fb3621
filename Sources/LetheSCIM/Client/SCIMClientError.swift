import Foundation
import LetheCore
import LetheHTTP

/// Why a SCIM operation did not succeed, with what a person needs to act on it.
///
/// Never carries a secret or a subject's identifier. What the server wrote in its own words
/// (`serverMessage`) is kept apart from what Lethe says: a target's error text can name the
/// subject's name or street, which Lethe never saw and so cannot scrub. `description` — what
/// audit events, reports, certificates, logs and webhooks keep — holds only the structure of
/// the answer (operation, status, `scimType`, content type, length) and Lethe's own sentence.
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
    /// Lethe's own sentence about what went wrong (never the server's words).
    public var detail: String?
    /// Seconds the server asked to wait (Retry-After).
    public var retryAfter: Double?
    /// What the server wrote in its own words (its error `detail`, or the start of a plain-text
    /// body), scrubbed of the identifiers Lethe knows. Shown while the request is open, never
    /// kept after it: see `description`.
    public var serverMessage: String?
    /// The error answer's content type and length in bytes, when it had a body.
    public var contentType: String?
    public var bodyLength: Int?

    public init(kind: Kind, target: String, operation: String, status: Int? = nil, scimType: String? = nil,
                detail: String? = nil, retryAfter: Double? = nil, serverMessage: String? = nil,
                contentType: String? = nil, bodyLength: Int? = nil) {
        self.kind = kind
        self.target = target
        self.operation = operation
        self.status = status
        self.scimType = scimType.flatMap(Self.plainSCIMType)
        self.detail = detail
        self.retryAfter = retryAfter
        self.serverMessage = serverMessage
        self.contentType = contentType
        self.bodyLength = bodyLength
    }

    /// A `scimType` as RFC 7644 §3.12 spells them (`invalidFilter`, `uniqueness`, ...): letters
    /// only, short. Anything else is a server's free text and is not kept.
    static func plainSCIMType(_ text: String) -> String? {
        text.count <= 40 && !text.isEmpty && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) } ? text : nil
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
        if let bodyLength, bodyLength > 0 {
            text += " [\(contentType.map { "\(Self.plainContentType($0)), " } ?? "")\(bodyLength) bytes]"
        }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        if let retryAfter { text += "; retry after \(Int(retryAfter.rounded(.up)))s" }
        if case .http = kind, status == 401 || status == 403 {
            text += " — check the credentials in the target's auth settings"
        }
        return text
    }

    /// `description` and, when the server wrote any, its own words: for a person looking at an
    /// open request, never for anything kept.
    public var descriptionWithServerMessage: String {
        guard let serverMessage, !serverMessage.isEmpty else { return description }
        return description + "; the server said: \(serverMessage)"
    }

    /// A content type without its parameters, and only if it looks like one (`type/subtype`).
    static func plainContentType(_ text: String) -> String {
        let type = text.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type.range(of: #"^[a-z0-9.+-]{1,40}/[a-z0-9.+-]{1,60}$"#, options: .regularExpression) != nil ? type : "unknown type"
    }
}
