import LetheCore

/// Applies PATCH operations to a resource as read, for a target that has no PATCH: the result
/// is replaced whole with PUT (RFC 7644 §3.5.1). Changes exactly the paths of the operations
/// and leaves everything else as the server sent it.
enum ResourceEdit {
    /// Attributes the server sets itself: never sent back in a PUT.
    static let readOnly: Set<String> = ["id", "meta", "groups"]

    /// A path the edit cannot apply (a value filter such as `members[value eq "x"]`).
    struct Unsupported: Error, Sendable {
        var path: String
    }

    static func apply(_ operations: [PatchOperation], to resource: JSONValue) throws(Unsupported) -> JSONValue {
        var json = resource
        for operation in operations {
            guard case .success(let resolved) = AttributeCatalog.standard.resolve(operation.path) else {
                throw Unsupported(path: operation.path)
            }
            json = edit(json, resolved.path, operation.op == .remove ? nil : operation.value)
        }
        return json
    }

    /// The resource as sent in a PUT: without its read-only attributes, and without empty
    /// values. RFC 7643 §2.5 makes an empty string, an empty list and a missing attribute the
    /// same state, and servers that show an unset e-mail as `{"value": ""}` refuse it back.
    static func body(_ resource: JSONValue) -> JSONValue {
        guard case .object(let members) = resource else { return resource }
        let kept = members.filter { key, _ in !readOnly.contains { ASCIICase.equal($0, key) } }
        return withoutEmpty(.object(kept)) ?? .object([:])
    }

    /// The value with empty strings, lists and objects left out (a multi-valued entry whose
    /// `value` is empty counts as empty); nil when nothing is left.
    private static func withoutEmpty(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let text): return text.isEmpty ? nil : value
        case .array(let items):
            let kept = items.compactMap { item -> JSONValue? in
                if case .object(let fields) = item, let inner = fields["value"], withoutEmpty(inner) == nil { return nil }
                return withoutEmpty(item)
            }
            return kept.isEmpty ? nil : .array(kept)
        case .object(let members):
            var kept: [String: JSONValue] = [:]
            for (key, member) in members {
                if let member = withoutEmpty(member) { kept[key] = member }
            }
            return kept.isEmpty ? nil : .object(kept)
        default: return value
        }
    }

    /// Sets (or with nil, removes) the value at `path`.
    static func edit(_ json: JSONValue, _ path: AttributePath, _ value: JSONValue?) -> JSONValue {
        guard case .object(var root) = json else { return json }
        guard let schema = path.schema else { return set(json, path.name, path.subAttribute, value) }
        let key = existingKey(root, schema) ?? schema
        let container = set(root[key] ?? .object([:]), path.name, path.subAttribute, value)
        if case .object(let members) = container, members.isEmpty {
            root[key] = nil
        } else {
            root[key] = container
            // A value under an extension is only read when `schemas` names it.
            if case .array(var schemas)? = root["schemas"], !schemas.contains(where: { $0.stringValue.map { ASCIICase.equal($0, schema) } ?? false }) {
                schemas.append(.string(schema))
                root["schemas"] = .array(schemas)
            }
        }
        return .object(root)
    }

    private static func set(_ object: JSONValue, _ name: String, _ sub: String?, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = object else { return object }
        let key = existingKey(members, name) ?? name
        guard let sub else {
            members[key] = value
            return .object(members)
        }
        switch members[key] {
        case .object(var inner)?:
            inner[existingKey(inner, sub) ?? sub] = value
            members[key] = inner.isEmpty ? nil : .object(inner)
        case .array(let items)?:
            // A sub-attribute of a multi-valued attribute: every value of it.
            members[key] = .array(items.map { item in
                guard case .object(var inner) = item else { return item }
                inner[existingKey(inner, sub) ?? sub] = value
                return .object(inner)
            })
        default:
            if let value { members[key] = .object([sub: value]) }
        }
        return .object(members)
    }

    /// The key as the server spelled it (attribute names are case-insensitive).
    private static func existingKey(_ members: [String: JSONValue], _ name: String) -> String? {
        members[name] != nil ? name : members.keys.first { ASCIICase.equal($0, name) }
    }
}
