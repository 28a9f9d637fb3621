import LetheCore

/// A SCIM error to answer with (RFC 7644 §3.12).
struct SCIMFailure: Error, Sendable {
    var status: Int
    var scimType: String?
    var detail: String

    static func invalidPath(_ detail: String) -> SCIMFailure { SCIMFailure(status: 400, scimType: "invalidPath", detail: detail) }
    static func noTarget(_ detail: String) -> SCIMFailure { SCIMFailure(status: 400, scimType: "noTarget", detail: detail) }
    static func invalidValue(_ detail: String) -> SCIMFailure { SCIMFailure(status: 400, scimType: "invalidValue", detail: detail) }
    static func invalidSyntax(_ detail: String) -> SCIMFailure { SCIMFailure(status: 400, scimType: "invalidSyntax", detail: detail) }
    static func mutability(_ detail: String) -> SCIMFailure { SCIMFailure(status: 400, scimType: "mutability", detail: detail) }
}

/// A PATCH path: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, with an optional schema URN.
struct PatchPath {
    var ref: AttributeRef
    var filter: FilterExpression?
    var subAfterFilter: String?

    /// Schema URNs whose whole extension object a path may name.
    static let extensionSchemas: Set<String> = Set(Discovery.schemas.compactMap { $0.member("id")?.value.stringValue?.lowercased() })
        .subtracting([SCIMSchemas.coreUser.lowercased(), SCIMSchemas.coreGroup.lowercased()])

    static func parse(_ text: String) throws(SCIMFailure) -> PatchPath {
        if extensionSchemas.contains(text.lowercased()) {
            // The whole extension object, e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.
            return PatchPath(ref: AttributeRef(schema: nil, name: text, sub: nil))
        }
        guard let open = text.firstIndex(of: "[") else {
            guard let ref = AttributeRef.parse(text) else { throw .invalidPath("'\(text)' is not an attribute path") }
            return PatchPath(ref: ref)
        }
        guard let close = text.lastIndex(of: "]"), close > open, let ref = AttributeRef.parse(String(text[..<open])), ref.sub == nil else {
            throw .invalidPath("'\(text)' is not an attribute path")
        }
        let filter: FilterExpression
        do { filter = try FilterParser.parse(String(text[text.index(after: open)..<close])) } catch {
            throw .invalidPath("bad value filter in '\(text)': \(error.detail)")
        }
        let rest = text[text.index(after: close)...]
        var sub: String?
        if !rest.isEmpty {
            guard rest.hasPrefix("."), rest.count > 1 else { throw .invalidPath("'\(text)' is not an attribute path") }
            sub = String(rest.dropFirst())
        }
        return PatchPath(ref: ref, filter: filter, subAfterFilter: sub)
    }
}

/// Applies PATCH operations to a resource (RFC 7644 §3.5.2).
enum PatchApplier {
    static let readOnly: Set<String> = ["id", "meta", "schemas"]

    static func apply(_ operations: [JSONValue], to resource: JSONValue, ignoreExtensionPaths: Bool = false) throws(SCIMFailure) -> JSONValue {
        var resource = resource
        for operation in operations {
            guard let opText = operation.member("op")?.value.stringValue?.lowercased(), ["add", "replace", "remove"].contains(opText) else {
                throw .invalidValue("each operation needs op add, replace or remove")
            }
            let path = operation.member("path")?.value.stringValue
            let value = operation.member("value")?.value
            if ignoreExtensionPaths, path?.lowercased().hasPrefix("urn:") == true { continue }
            switch opText {
            case "remove":
                guard let path else { throw .noTarget("remove needs a path") }
                try remove(try PatchPath.parse(path), from: &resource)
            default:
                guard let value else { throw .invalidValue("\(opText) needs a value") }
                if let path {
                    try set(try PatchPath.parse(path), value, in: &resource, add: opText == "add")
                } else {
                    guard case .object(let members) = value else { throw .invalidValue("\(opText) without a path needs an object value") }
                    for (key, member) in members {
                        if ignoreExtensionPaths, key.lowercased().hasPrefix("urn:") { continue }
                        if key.lowercased().hasPrefix("urn:"), case .object(let ext) = member {
                            var container = resource.member(key)?.value ?? .object([:])
                            for (name, v) in ext { try setAttribute(name, v, in: &container, add: opText == "add") }
                            resource.setMember(key, container)
                        } else {
                            try setAttribute(key, member, in: &resource, add: opText == "add")
                        }
                    }
                }
            }
        }
        return resource
    }

    /// Sets (replace) or adds to (add, for multi-valued) one top-level attribute.
    static func setAttribute(_ name: String, _ value: JSONValue, in container: inout JSONValue, add: Bool) throws(SCIMFailure) {
        guard !readOnly.contains(name.lowercased()) else { throw .mutability("\(name) cannot be changed") }
        if name.lowercased().hasPrefix("urn:"), case .object(let fields) = value {
            // An extension object: merge its attributes.
            var current = container.member(name)?.value ?? .object([:])
            for (key, v) in fields { current.setMember(key, v) }
            container.setMember(name, current)
            return
        }
        if add, case .array(let new) = value, case .array(let old)? = container.member(name)?.value {
            container.setMember(name, .array(old + new.filter { !old.contains($0) }))
        } else if !add, case .object(let fields) = value, case .object? = container.member(name)?.value, !isMultiValued(value) {
            // Replacing a complex attribute with an object replaces the listed sub-attributes.
            var current = container.member(name)!.value
            for (key, v) in fields { current.setMember(key, v) }
            container.setMember(name, current)
        } else {
            container.setMember(name, value)
        }
    }

    static func isMultiValued(_ value: JSONValue) -> Bool { value.arrayValue != nil }

    static func set(_ path: PatchPath, _ value: JSONValue, in resource: inout JSONValue, add: Bool) throws(SCIMFailure) {
        var container = path.ref.schema.map { resource.member($0)?.value ?? .object([:]) } ?? resource
        if let filter = path.filter {
            guard case .array(var items)? = container.member(path.ref.name)?.value else {
                throw .noTarget("no value of \(path.ref.name) matches the filter")
            }
            var matched = false
            for i in items.indices where filter.matches(items[i]) {
                matched = true
                if let sub = path.subAfterFilter {
                    items[i].setMember(sub, value)
                } else if case .object(let fields) = value {
                    for (key, v) in fields { items[i].setMember(key, v) }
                } else {
                    throw .invalidValue("a value-filter path needs an object value")
                }
            }
            guard matched else { throw .noTarget("no value of \(path.ref.name) matches the filter") }
            container.setMember(path.ref.name, .array(items))
        } else if let sub = path.ref.sub {
            guard !readOnly.contains(path.ref.name.lowercased()) else { throw .mutability("\(path.ref.name) cannot be changed") }
            var parent = container.member(path.ref.name)?.value ?? .object([:])
            if case .array(var items) = parent {
                for i in items.indices { items[i].setMember(sub, value) }
                parent = .array(items)
            } else {
                parent.setMember(sub, value)
            }
            container.setMember(path.ref.name, parent)
        } else {
            let wrapped: JSONValue = add && container.member(path.ref.name)?.value.arrayValue != nil && value.arrayValue == nil ? .array([value]) : value
            try setAttribute(path.ref.name, wrapped, in: &container, add: add)
        }
        if let schema = path.ref.schema { resource.setMember(schema, container) } else { resource = container }
    }

    static func remove(_ path: PatchPath, from resource: inout JSONValue) throws(SCIMFailure) {
        guard !readOnly.contains(path.ref.name.lowercased()) else { throw .mutability("\(path.ref.name) cannot be removed") }
        if path.ref.name.lowercased() == "username", path.ref.schema == nil, path.ref.sub == nil {
            throw .mutability("userName is required")
        }
        var container = path.ref.schema.map { resource.member($0)?.value ?? .object([:]) } ?? resource
        if let filter = path.filter {
            if case .array(var items)? = container.member(path.ref.name)?.value {
                if let sub = path.subAfterFilter {
                    for i in items.indices where filter.matches(items[i]) { items[i].removeMember(sub) }
                } else {
                    items.removeAll { filter.matches($0) }
                }
                if items.isEmpty { container.removeMember(path.ref.name) } else { container.setMember(path.ref.name, .array(items)) }
            }
        } else if let sub = path.ref.sub {
            if var parent = container.member(path.ref.name)?.value {
                if case .array(var items) = parent {
                    for i in items.indices { items[i].removeMember(sub) }
                    parent = .array(items)
                } else {
                    parent.removeMember(sub)
                }
                container.setMember(path.ref.name, parent)
            }
        } else {
            container.removeMember(path.ref.name)
        }
        if let schema = path.ref.schema {
            if container.objectValue?.isEmpty == true { resource.removeMember(schema) } else { resource.setMember(schema, container) }
        } else {
            resource = container
        }
    }
}
