import Foundation
import LetheCore

/// A SCIM resource (User or Group) as the server returned it.
public struct SCIMResource: Sendable, Hashable {
    public var id: String
    /// The version to send in `If-Match`: the ETag header, else `meta.version`.
    public var etag: String?
    public var json: JSONValue

    public init(json: JSONValue, etag: String? = nil) throws(SCIMProtocolError) {
        // RFC 7643 makes `id` a string; some servers send their integer keys as JSON numbers.
        guard let id = json["id"]?.stringValue ?? Self.integerText(json["id"]), !id.isEmpty else {
            throw SCIMProtocolError("a resource without an id")
        }
        // An id is used as one opaque path segment: one that could walk the URL is refused.
        guard !id.contains("/"), id != ".", id != "..", !id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw SCIMProtocolError("a resource whose id is not a single path segment")
        }
        self.id = id
        self.json = json
        self.etag = etag ?? json["meta"]?["version"]?.stringValue
    }

    /// The values at an attribute path: one for a simple attribute, several for a sub-attribute of
    /// a multi-valued one (`emails.value`), none when absent. Extension attributes are looked up
    /// under their schema URN.
    public func values(at path: AttributePath) -> [JSONValue] {
        let container: JSONValue? = path.schema.map { json[$0] } ?? json
        guard let top = container?[path.name], !top.isEmptyValue else { return [] }
        guard let sub = path.subAttribute else { return [top] }
        switch top {
        case .array(let items): return items.compactMap { $0[sub] }.filter { !$0.isEmptyValue }
        case .object: return top[sub].map { $0.isEmptyValue ? [] : [$0] } ?? []
        default: return []
        }
    }

    /// The string values of a match attribute (`emails.value` may hold several).
    public func strings(for attribute: MatchAttribute) -> [String] {
        switch attribute {
        case .userName: return json["userName"]?.stringValue.map { [$0] } ?? []
        case .externalId: return json["externalId"]?.stringValue.map { [$0] } ?? []
        case .email: return json["emails"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []
        }
    }

    /// True when the resource really carries `value` for the attribute, compared as the SCIM
    /// schema says: userName and emails case-insensitively in the ASCII sense only (never with
    /// Unicode case folding), externalId exactly.
    public func matches(_ attribute: MatchAttribute, _ value: String) -> Bool {
        let held = strings(for: attribute)
        switch attribute {
        case .externalId: return held.contains(value)
        case .userName, .email: return held.contains { ASCIICase.equal($0, value) }
        }
    }

    /// How an e-mail address belongs to this account.
    public enum EmailMatch: String, Sendable, Hashable {
        /// The account's only address.
        case only
        /// The address marked `primary`.
        case primary
        /// One of several addresses, and not the primary one: not an identity.
        case secondary
        /// The account does not hold it.
        case none
    }

    /// How `address` belongs to the account (ASCII case-insensitive).
    public func emailMatch(_ address: String) -> EmailMatch {
        let emails = json["emails"]?.arrayValue ?? []
        let matching = emails.filter { ($0["value"]?.stringValue).map { ASCIICase.equal($0, address) } ?? false }
        guard !matching.isEmpty else { return .none }
        if emails.count == 1 { return .only }
        if matching.contains(where: { $0["primary"]?.boolValue == true }) { return .primary }
        return .secondary
    }

    /// Member ids of a Group.
    public var memberIds: [String] {
        json["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue ?? Self.integerText($0["value"]) } ?? []
    }

    /// The decimal text of a JSON number that is a whole number (an id sent as a number).
    static func integerText(_ value: JSONValue?) -> String? {
        guard case .number = value, let integer = value?.intValue else { return nil }
        return String(integer)
    }

    /// `active`, when the server states it.
    public var active: Bool? { json["active"]?.boolValue }
}

/// A server answered something that is not valid SCIM.
public struct SCIMProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The error body of RFC 7644 §3.12. `status` may come as a string or a number.
public struct SCIMErrorBody: Sendable, Hashable {
    public var status: Int?
    public var scimType: String?
    public var detail: String?

    /// Decodes an error body; nil when the body is not one (HTML, empty, other JSON).
    public init?(_ data: Data) {
        guard let json = JSONValue.parse(data), case .object = json else { return nil }
        let schemas = json["schemas"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let status = json["status"]?.intValue
        guard schemas.contains(SCIMSchemas.error) || status != nil else { return nil }
        self.status = status
        scimType = json["scimType"]?.stringValue
        detail = json["detail"]?.stringValue
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
public enum RetryAfter {
    /// Seconds to wait from `now`, or nil when the header is absent or unreadable. Never negative.
    public static func seconds(_ header: String?, now: Date) -> Double? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Int(text) { return Double(max(0, seconds)) }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return max(0, date.timeIntervalSince(now)) }
        }
        return nil
    }
}
