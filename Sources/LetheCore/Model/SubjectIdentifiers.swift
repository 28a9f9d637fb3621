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

    /// The command-line flag that supplies this identifier.
    public var flag: String {
        switch self {
        case .userName: "--user-name"
        case .email: "--email"
        case .externalId: "--external-id"
        }
    }
}

/// Light syntactic checks on identifiers given by people.
public enum IdentifierSyntax {
    /// Accepts `local@domain` with a dot-free or dotted domain, no spaces, one `@`.
    ///
    /// Deliberately permissive (RFC 5322 allows quotes and more); it exists to catch
    /// typos such as a missing `@` or a pasted name before anything is filed.
    public static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, text.count <= 254 else { return false }
        guard !text.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        let domain = parts[1]
        return !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }
}
