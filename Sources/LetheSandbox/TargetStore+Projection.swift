import Foundation
import LetheCore

/// `attributes` and `excludedAttributes`: which parts of a resource an answer shows.
extension TargetStore {
    /// Applies `attributes` / `excludedAttributes` and never returns write-only attributes.
    func project(_ resource: JSONValue, _ kind: Kind, attributes: String?, excluded: String?) -> JSONValue {
        let resource = kind == .user && listsGroups ? withGroups(resource) : resource
        guard case .object(var members) = resource else { return resource }
        members = members.filter { $0.key.lowercased() != "password" }
        let always: Set<String> = ["id", "schemas"]
        func names(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let include = names(attributes)
        if !include.isEmpty {
            var kept: [String: JSONValue] = [:]
            for (key, value) in members where always.contains(key) { kept[key] = value }
            for name in include {
                guard let ref = AttributeRef.parse(name) else { continue }
                let source = ref.schema.map { resource.member($0)?.value } ?? resource
                guard let top = source?.member(ref.name) else { continue }
                var value = top.value
                if let sub = ref.sub {
                    if case .array(let items) = value {
                        value = .array(items.compactMap { item in item.member(sub).map { .object([$0.key: $0.value]) } })
                    } else if let inner = value.member(sub) {
                        value = .object([inner.key: inner.value])
                    } else {
                        continue
                    }
                }
                if let schema = ref.schema {
                    var ext = kept[schema] ?? .object([:])
                    ext.setMember(top.key, value)
                    kept[schema] = ext
                } else if let existing = kept[top.key], case .object(var merged) = existing, case .object(let more) = value {
                    for (k, v) in more { merged[k] = v }
                    kept[top.key] = .object(merged)
                } else {
                    kept[top.key] = value
                }
            }
            return .object(kept)
        }
        var result = JSONValue.object(members)
        for name in names(excluded) {
            guard let ref = AttributeRef.parse(name), !always.contains(ref.name) else { continue }
            if let schema = ref.schema {
                if var ext = result.member(schema)?.value {
                    ext.removeMember(ref.name)
                    result.setMember(schema, ext)
                }
            } else if let sub = ref.sub, var parent = result.member(ref.name)?.value {
                if case .array(var items) = parent {
                    for i in items.indices { items[i].removeMember(sub) }
                    parent = .array(items)
                } else {
                    parent.removeMember(sub)
                }
                result.setMember(ref.name, parent)
            } else {
                result.removeMember(ref.name)
            }
        }
        return result
    }
}

extension TargetStore {
    /// The user with `groups`: every group whose member list holds it (readOnly, computed).
    func withGroups(_ user: JSONValue) -> JSONValue {
        guard case .object(var members) = user, let id = members["id"]?.stringValue else { return user }
        let holding = groupIndex.ids(AttributeRef(schema: nil, name: "members", sub: "value"), equal: id) ?? []
        // The index holds each member value exactly as listed: no member list is walked here.
        let listed = groupOrder.sorted(holding).compactMap { groupId -> JSONValue? in
            guard let group = groups[groupId] else { return nil }
            return .object(["value": .string(groupId), "display": group.member("displayName")?.value ?? .null,
                            "$ref": .string("../Groups/\(groupId)"), "type": .string("direct")])
        }
        members["groups"] = .array(listed)
        return .object(members)
    }
}
