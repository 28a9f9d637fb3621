import Foundation

/// A JSON document as a value: what SCIM servers send and Lethe's reports are made of.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON bytes strictly; nil when they are not JSON (duplicate member names and
    /// invalid UTF-8 included). `parsing(_:)` says why and where.
    public static func parse(_ data: Data) -> JSONValue? {
        try? JSONParser.parse(data)
    }

    /// Parses JSON bytes strictly, or says why and where (line, column, byte offset) they are not
    /// the JSON Lethe accepts.
    public static func parsing(_ data: Data) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(data)
    }

    /// Compact JSON bytes with sorted keys (the canonical form).
    public func encoded() -> Data {
        CanonicalJSON.encode(self)
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .number(let value): return value.rounded() == value ? Int(exactly: value) : nil
        case .string(let text): return Int(text)
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member named `key`, compared case-insensitively as SCIM attribute names are (RFC 7643 §2.1).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        if let exact = members[key] { return exact }
        let lower = key.lowercased()
        return members.first { $0.key.lowercased() == lower }?.value
    }

    /// True for null, an empty string, an empty array or an empty object: "no value" in SCIM terms.
    public var isEmptyValue: Bool {
        switch self {
        case .null: true
        case .string(let value): value.isEmpty
        case .array(let value): value.isEmpty
        case .object(let value): value.isEmpty
        default: false
        }
    }
}
