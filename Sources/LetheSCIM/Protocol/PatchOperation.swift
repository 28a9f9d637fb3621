import Foundation
import LetheCore

/// One operation of a SCIM PATCH (RFC 7644 §3.5.2).
public struct PatchOperation: Sendable, Hashable {
    public enum Op: String, Sendable, Hashable {
        case add
        case replace
        case remove
    }

    public var op: Op
    /// An attribute path: `name.givenName`, `emails[type eq "work"].value`, `urn:...:User:marketingSegment`.
    public var path: String
    public var value: JSONValue?

    public init(op: Op, path: String, value: JSONValue? = nil) {
        self.op = op
        self.path = path
        self.value = value
    }

    public static func remove(_ path: String) -> PatchOperation { PatchOperation(op: .remove, path: path) }
    public static func replace(_ path: String, with value: JSONValue) -> PatchOperation { PatchOperation(op: .replace, path: path, value: value) }

    var json: JSONValue {
        var object: [String: JSONValue] = ["op": .string(op.rawValue), "path": .string(path)]
        if let value { object["value"] = value }
        return .object(object)
    }
}

/// The body of a PATCH request.
public struct PatchRequest: Sendable, Hashable {
    public var operations: [PatchOperation]

    public init(_ operations: [PatchOperation]) { self.operations = operations }

    /// `{"Operations":[...],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, keys sorted.
    public func encoded() -> Data {
        JSONValue.object([
            "schemas": .array([.string(SCIMSchemas.patchOp)]),
            "Operations": .array(operations.map(\.json)),
        ]).encoded()
    }
}
