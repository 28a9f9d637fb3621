/// The identifiers a request knows a subject by.
///
/// These are personal data: they live only in memory and in an open request's row,
/// never in logs, audit events or reports (those carry the pseudonym).
public struct SubjectIdentifiers: Sendable, Hashable, Codable {
    public var email: String?
    public var externalId: String?
    public var userName: String?

    public init(email: String? = nil, externalId: String? = nil, userName: String? = nil) {
        self.email = email
        self.externalId = externalId
        self.userName = userName
    }

    /// The value this subject has for a match attribute, if any.
    public func value(for attribute: MatchAttribute) -> String? {
        let raw: String?
        switch attribute {
        case .userName: raw = userName
        case .email: raw = email
        case .externalId: raw = externalId
        }
        guard let raw, !raw.isEmpty else { return nil }
        return raw
    }

    /// True when no identifier is present at all.
    public var isEmpty: Bool { MatchAttribute.allCases.allSatisfy { value(for: $0) == nil } }

    /// The identifier a pseudonym is derived from: the email when known, else externalId, else userName.
    public var primary: String? {
        value(for: .email).map { $0.lowercased() } ?? value(for: .externalId) ?? value(for: .userName)
    }
}

/// A SCIM attribute a target can find a subject by.
public enum MatchAttribute: String, Sendable, Hashable, Codable, CaseIterable {
    case userName
    case email = "emails.value"
    case externalId
}

/// Light syntactic checks on identifiers given by people.
public enum IdentifierSyntax {
    /// Accepts `local@domain` with a dot-free or dotted domain, no spaces, one `@`.
    ///
    /// Deliberately permissive (RFC 5322 allows quotes and more); it exists to catch
    /// typos such as a missing `@` or a pasted name before anything is filed.
    public static func isPlausibleEmail(_ text: String) -> Bool {
        var at = -1
        var count = 0
        var previous: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "@"):
                guard at < 0 else { return false }
                at = count
            case 0x00...0x20, 0x7F:
                return false
            case UInt8(ascii: "."):
                // The domain may not start with a dot or hold two in a row.
                if at >= 0 && (previous == UInt8(ascii: "@") || previous == UInt8(ascii: ".")) { return false }
            default:
                break
            }
            previous = byte
            count += 1
            if count > 254 { return false }
        }
        // Something before the @, a domain after it that does not end with a dot.
        return at > 0 && at < count - 1 && previous != UInt8(ascii: ".")
    }

}
