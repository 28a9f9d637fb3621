import Foundation

/// A SCIM attribute named in a policy: `userName`, `name.givenName`, `emails`, or an
/// extension attribute with its schema URN, `urn:...:User:marketingSegment`.
///
/// Paths are kept in the catalog's spelling (SCIM attribute names are case-insensitive),
/// so `Name.GivenName` and `name.givenName` are the same path.
public struct AttributePath: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The extension schema URN, nil for core User attributes.
    public let schema: String?
    public let name: String
    public let subAttribute: String?

    public init(schema: String? = nil, name: String, subAttribute: String? = nil) {
        self.schema = schema
        self.name = name
        self.subAttribute = subAttribute
    }

    /// The path as SCIM writes it in a PATCH operation.
    public var description: String {
        let base = subAttribute.map { "\(name).\($0)" } ?? name
        return schema.map { "\($0):\(base)" } ?? base
    }

    /// The top-level attribute this path belongs to (`name` for `name.givenName`).
    public var parent: AttributePath { AttributePath(schema: schema, name: name) }

    public static func < (lhs: AttributePath, rhs: AttributePath) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        switch AttributeCatalog.standard.resolve(text) {
        case .success(let resolved): self = resolved.path
        case .failure(let problem):
            throw DecodingError.dataCorruptedError(in: container, debugDescription: problem.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// What Lethe knows about an attribute's shape, from the SCIM schemas (RFC 7643 §4).
public struct AttributeShape: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case string, boolean, complex, other }
    public var kind: Kind
    public var multiValued: Bool
    public var required: Bool
    /// Set by the server (`id`, `meta`): a policy can neither share nor change it.
    public var readOnly: Bool

    static let string = AttributeShape(kind: .string, multiValued: false, required: false, readOnly: false)
    static let boolean = AttributeShape(kind: .boolean, multiValued: false, required: false, readOnly: false)
    static let other = AttributeShape(kind: .other, multiValued: false, required: false, readOnly: false)
    static func complex(multi: Bool) -> AttributeShape {
        AttributeShape(kind: .complex, multiValued: multi, required: false, readOnly: false)
    }

    /// True when a string replacement (redact, random, pseudonym) can be written to it.
    public var takesStringValue: Bool { kind == .string && !multiValued }
}

/// The problem with an attribute path, and what would be right.
public struct AttributePathProblem: Error, Sendable, Hashable {
    public var message: String
    public var hint: String?
}
