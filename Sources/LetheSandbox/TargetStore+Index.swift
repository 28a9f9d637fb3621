import LetheCore

/// Equality indexes over the attributes clients look people up by, as a real directory keeps
/// them: without them every filter, every `groups` listing and every delete walked all
/// resources, so the sandbox (not the client) set the pace of any run over many customers.
///
/// An index only narrows the candidates: each one is still matched against the whole filter,
/// so an answer is exactly what a full scan gives, in the same order.
struct ValueIndex: Sendable {
    /// Indexed attribute (lowercased `name` or `name.sub`) → normalised value → resource ids.
    private var entries: [String: [String: Set<String>]] = [:]
    let keys: [AttributeRef]

    init(keys: [String]) {
        self.keys = keys.compactMap(AttributeRef.parse)
    }

    static func key(_ ref: AttributeRef) -> String {
        (ref.sub.map { "\(ref.name).\($0)" } ?? ref.name).lowercased()
    }

    /// The indexed string values of a resource, normalised as the filter compares them.
    private func values(of resource: JSONValue?, _ ref: AttributeRef) -> [String] {
        // As `AttributeRef.values(in:)`, without the intermediate arrays (a group's members).
        guard let top = resource.flatMap(ref.container)?.member(ref.name)?.value else { return [] }
        var found: [String] = []
        func add(_ value: JSONValue?) {
            if case .string(let text)? = value { found.append(ref.caseExact ? text : text.lowercased()) }
        }
        if case .array(let items) = top {
            found.reserveCapacity(items.count)
            for item in items { add(ref.sub.map { item.member($0)?.value } ?? item) }
        } else {
            add(ref.sub.map { top.member($0)?.value } ?? top)
        }
        return found
    }

    /// Each resource's indexed values as last stored, by key: what an update moves them from.
    private var held: [String: [String: [String]]] = [:]

    /// Moves one resource's entries to how it is now (nil: gone). A group that loses one member
    /// of thousands changes by that one: the lists are compared in order.
    mutating func update(id: String, to new: JSONValue?) {
        let previous = held.removeValue(forKey: id) ?? [:]
        var now: [String: [String]] = [:]
        for ref in keys {
            let key = Self.key(ref)
            let before = previous[key] ?? [], after = values(of: new, ref)
            if !after.isEmpty { now[key] = after }
            if before == after { continue }
            var removed: Set<String> = [], inserted: Set<String> = []
            for change in after.difference(from: before) {
                switch change {
                case .remove(_, let value, _): removed.insert(value)
                case .insert(_, let value, _): inserted.insert(value)
                }
            }
            // A value can be listed twice: it leaves the index only when no copy is left.
            for value in removed where !inserted.contains(value) && !after.contains(value) {
                entries[key]?[value]?.remove(id)
                if entries[key]?[value]?.isEmpty == true { entries[key]?[value] = nil }
            }
            for value in inserted { entries[key, default: [:]][value, default: []].insert(id) }
        }
        if new != nil { held[id] = now }
    }

    /// The ids holding this value, or nil when the attribute is not indexed.
    func ids(_ ref: AttributeRef, equal value: String) -> Set<String>? {
        guard ref.schema == nil, let indexed = keys.first(where: { Self.key($0) == Self.key(ref) }) else { return nil }
        return entries[Self.key(ref)]?[indexed.caseExact ? value : value.lowercased()] ?? []
    }

    /// A superset of the resources the filter matches, or nil when the index cannot narrow it.
    func candidates(_ expression: FilterExpression) -> Set<String>? {
        switch expression {
        case .compare(let ref, let op, .string(let value)) where op.lowercased() == "eq":
            return ids(ref, equal: value)
        case .valuePath(let ref, .compare(let inner, let op, .string(let value)))
            where op.lowercased() == "eq" && ref.sub == nil && inner.schema == nil && inner.sub == nil:
            // Inside brackets the filter compares by the inner name's case rule (`value` ignores
            // case even under `members`): the index serves only where the two rules agree.
            let path = AttributeRef(schema: ref.schema, name: ref.name, sub: inner.name)
            return path.caseExact == inner.caseExact ? ids(path, equal: value) : nil
        case .and(let a, let b):
            switch (candidates(a), candidates(b)) {
            case let (x?, y?): return x.intersection(y)
            case let (x?, nil): return x
            case let (nil, y?): return y
            case (nil, nil): return nil
            }
        case .or(let a, let b):
            guard let x = candidates(a), let y = candidates(b) else { return nil }
            return x.union(y)
        default:
            return nil
        }
    }
}

/// Creation order with removals in O(1): a removed id stays in the list until there are as
/// many of them as live ones, then the list is compacted. An entry counts only at the place its
/// id's position names, so an id removed and stored again is listed once, where it came back.
struct CreationOrder: Sendable {
    private(set) var ids: [String] = []
    private var position: [String: Int] = [:]
    private var removed = 0

    mutating func append(_ id: String) {
        guard position[id] == nil else { return }
        // An id stored again after removal: its old place stays a dead one (counted in `removed`).
        position[id] = ids.count
        ids.append(id)
    }

    mutating func remove(_ id: String) {
        guard position.removeValue(forKey: id) != nil else { return }
        removed += 1
        if removed > 64 && removed * 2 > ids.count {
            ids = live
            for (offset, id) in ids.enumerated() { position[id] = offset }
            removed = 0
        }
    }

    /// The live ids in creation order.
    var live: [String] {
        removed == 0 ? ids : ids.enumerated().filter { position[$0.element] == $0.offset }.map(\.element)
    }

    /// The given ids in creation order; every live id when none are given.
    func ordered(_ some: Set<String>?) -> [String] { some.map(sorted) ?? live }

    /// The given ids in creation order.
    func sorted(_ some: Set<String>) -> [String] {
        some.compactMap { id in position[id].map { (id, $0) } }.sorted { $0.1 < $1.1 }.map(\.0)
    }
}
