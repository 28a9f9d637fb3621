import Foundation
import LetheCore

/// One target's Users and Groups, in memory.
struct TargetStore: Sendable {
    let name: String
    var random: SeededRandom
    var users: [String: JSONValue] = [:]
    var groups: [String: JSONValue] = [:]
    /// Creation order, for stable listing.
    var order: [String] = []
    var groupOrder: [String] = []

    init(name: String, random: SeededRandom) {
        self.name = name
        self.random = random
    }

    enum Kind {
        case user, group

        var endpoint: String { self == .user ? "Users" : "Groups" }
        var resourceType: String { self == .user ? "User" : "Group" }
        var coreSchema: String { self == .user ? SCIMSchemas.coreUser : SCIMSchemas.coreGroup }
    }

    mutating func handle(_ request: SCIMRequest, faults: FaultSpec) -> SandboxResponse {
        do {
            return try route(request, faults: faults)
        } catch let failure as SCIMFailure {
            return .error(failure.status, failure.scimType, failure.detail)
        } catch {
            return .error(500, nil, "\(error)")
        }
    }

    mutating func route(_ request: SCIMRequest, faults: FaultSpec) throws -> SandboxResponse {
        guard let first = request.path.first else { throw SCIMFailure(status: 404, detail: "not found") }
        if first == ".search", request.path.count == 1, request.method == "POST" {
            return try searchEverything(request)
        }
        let kind: Kind
        switch first {
        case "Users": kind = .user
        case "Groups": kind = .group
        default: throw SCIMFailure(status: 404, detail: "no endpoint /\(first)")
        }
        switch (request.method, request.path.count) {
        case ("GET", 1):
            return try list(kind, filter: request.query["filter"], startIndex: request.query["startIndex"], count: request.query["count"],
                            attributes: request.query["attributes"], excluded: request.query["excludedAttributes"], base: request.base)
        case ("POST", 2) where request.path[1] == ".search":
            guard let body = JSONValue.parse(request.body), case .object = body else { throw SCIMFailure.invalidSyntax("the body is not a JSON object") }
            func text(_ key: String) -> String? {
                if let s = body.member(key)?.value.stringValue { return s }
                if let n = body.member(key)?.value.intValue { return String(n) }
                if let a = body.member(key)?.value.arrayValue { return a.compactMap(\.stringValue).joined(separator: ",") }
                return nil
            }
            return try list(kind, filter: text("filter"), startIndex: text("startIndex"), count: text("count"),
                            attributes: text("attributes"), excluded: text("excludedAttributes"), base: request.base)
        case ("POST", 1):
            return try create(kind, request)
        case ("GET", 2):
            let resource = try find(kind, request.path[1])
            return .json(200, project(resource, kind, attributes: request.query["attributes"], excluded: request.query["excludedAttributes"]),
                         headers: etag(resource))
        case ("PUT", 2):
            return try replace(kind, request)
        case ("PATCH", 2):
            return try patch(kind, request, ignoreExtensions: kind == .user && faults.ignoreExtensionPatch)
        case ("DELETE", 2):
            return try delete(kind, request, soft: kind == .user && faults.softDelete)
        default:
            throw SCIMFailure(status: 405, detail: "\(request.method) is not supported on /\(request.path.joined(separator: "/"))")
        }
    }

    // MARK: reading

    func find(_ kind: Kind, _ id: String) throws(SCIMFailure) -> JSONValue {
        guard let resource = (kind == .user ? users : groups)[id] else {
            throw SCIMFailure(status: 404, detail: "\(kind.resourceType) \(id) not found")
        }
        return resource
    }

    func etag(_ resource: JSONValue) -> [String: String] {
        resource.member("meta")?.value.member("version")?.value.stringValue.map { ["ETag": $0] } ?? [:]
    }

    /// `POST /.search` at the root: Users and Groups together (RFC 7644 §3.4.3).
    func searchEverything(_ request: SCIMRequest) throws -> SandboxResponse {
        guard let body = JSONValue.parse(request.body), case .object = body else { throw SCIMFailure.invalidSyntax("the body is not a JSON object") }
        let filter = body.member("filter")?.value.stringValue
        func names(_ key: String) -> String? { body.member(key)?.value.arrayValue?.compactMap(\.stringValue).joined(separator: ",") }
        var resources: [JSONValue] = []
        var total = 0
        for kind in [Kind.user, .group] {
            let response = try list(kind, filter: filter, startIndex: "1", count: "1000", attributes: names("attributes"),
                                    excluded: names("excludedAttributes"), base: request.base)
            guard let page = JSONValue.parse(response.body) else { continue }
            total += page.member("totalResults")?.value.intValue ?? 0
            resources += page.member("Resources")?.value.arrayValue ?? []
        }
        let start = max(1, body.member("startIndex")?.value.intValue ?? 1)
        let count = min(1000, max(0, body.member("count")?.value.intValue ?? 100))
        let page = Array(resources.dropFirst(start - 1).prefix(count))
        return .json(200, .object([
            "schemas": .array([.string(SCIMSchemas.listResponse)]), "totalResults": .number(Double(total)),
            "startIndex": .number(Double(start)), "itemsPerPage": .number(Double(page.count)), "Resources": .array(page),
        ]))
    }

    func list(_ kind: Kind, filter: String?, startIndex: String?, count: String?, attributes: String?, excluded: String?,
              base: String) throws -> SandboxResponse {
        let expression: FilterExpression?
        if let filter, !filter.isEmpty {
            do { expression = try FilterParser.parse(filter) } catch {
                throw SCIMFailure(status: 400, scimType: "invalidFilter", detail: "invalid filter: \(error.detail)")
            }
        } else {
            expression = nil
        }
        let all = (kind == .user ? order.compactMap { users[$0] } : groupOrder.compactMap { groups[$0] })
        let matched = expression.map { e in all.filter { e.matches($0) } } ?? all
        let start = max(1, Int(startIndex ?? "1") ?? 1)
        let size = min(1000, max(0, Int(count ?? "100") ?? 100))
        let page = Array(matched.dropFirst(start - 1).prefix(size))
        var body: [String: JSONValue] = [
            "schemas": .array([.string(SCIMSchemas.listResponse)]),
            "totalResults": .number(Double(matched.count)),
            "startIndex": .number(Double(start)),
            "itemsPerPage": .number(Double(page.count)),
        ]
        if size > 0 { body["Resources"] = .array(page.map { project($0, kind, attributes: attributes, excluded: excluded) }) }
        return .json(200, .object(body))
    }

    /// Applies `attributes` / `excludedAttributes` and never returns write-only attributes.
    func project(_ resource: JSONValue, _ kind: Kind, attributes: String?, excluded: String?) -> JSONValue {
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

    // MARK: writing

    func now() -> String { Timestamp.iso8601(Date()) }

    mutating func newId() -> String { random.hex(32) }

    /// Checks required and unique attributes; returns the cleaned body.
    func validate(_ body: JSONValue, _ kind: Kind, replacing id: String?) throws(SCIMFailure) -> JSONValue {
        guard case .object = body else { throw SCIMFailure.invalidSyntax("the body is not a JSON object") }
        var resource = body
        for key in ["id", "meta"] { resource.removeMember(key) }
        if kind == .user {
            guard let userName = resource.member("userName")?.value.stringValue, !userName.isEmpty else {
                throw SCIMFailure.invalidValue("userName is required")
            }
            let clash = users.first { $0.key != id && $0.value.member("userName")?.value.stringValue?.lowercased() == userName.lowercased() }
            if clash != nil { throw SCIMFailure(status: 409, scimType: "uniqueness", detail: "userName is already taken") }
        } else {
            guard let name = resource.member("displayName")?.value.stringValue, !name.isEmpty else {
                throw SCIMFailure.invalidValue("displayName is required")
            }
        }
        // `schemas` lists the core schema and exactly the extensions the resource holds.
        var schemas = (resource.member("schemas")?.value.arrayValue ?? []).compactMap(\.stringValue)
            .filter { !$0.lowercased().hasPrefix("urn:") || $0.lowercased() == kind.coreSchema.lowercased() || resource.member($0) != nil }
        if !schemas.contains(where: { $0.lowercased() == kind.coreSchema.lowercased() }) { schemas.insert(kind.coreSchema, at: 0) }
        for key in resource.objectValue?.keys.sorted() ?? [] where key.lowercased().hasPrefix("urn:") {
            if resource.member(key)?.value.objectValue?.isEmpty == true {
                resource.removeMember(key)
                schemas.removeAll { $0.lowercased() == key.lowercased() }
            } else if !schemas.contains(where: { $0.lowercased() == key.lowercased() }) {
                schemas.append(key)
            }
        }
        resource.setMember("schemas", .array(schemas.map(JSONValue.string)))
        return resource
    }

    func meta(_ kind: Kind, id: String, version: Int, created: String, base: String) -> JSONValue {
        .object([
            "resourceType": .string(kind.resourceType), "created": .string(created), "lastModified": .string(now()),
            "location": .string("\(base)/\(kind.endpoint)/\(id)"), "version": .string("W/\"\(version)\""),
        ])
    }

    mutating func store(_ resource: JSONValue, _ kind: Kind, id: String) {
        if kind == .user {
            if users[id] == nil { order.append(id) }
            users[id] = resource
        } else {
            if groups[id] == nil { groupOrder.append(id) }
            groups[id] = resource
        }
    }

    mutating func create(_ kind: Kind, _ request: SCIMRequest) throws -> SandboxResponse {
        guard let body = JSONValue.parse(request.body) else { throw SCIMFailure.invalidSyntax("the body is not JSON") }
        var resource = try validate(body, kind, replacing: nil)
        let id = newId()
        resource.setMember("id", .string(id))
        resource.setMember("meta", meta(kind, id: id, version: 1, created: now(), base: request.base))
        store(resource, kind, id: id)
        return .json(201, project(resource, kind, attributes: nil, excluded: nil),
                     headers: etag(resource).merging(["Location": "\(request.base)/\(kind.endpoint)/\(id)"]) { a, _ in a })
    }

    func checkVersion(_ resource: JSONValue, _ request: SCIMRequest) throws(SCIMFailure) -> Int {
        let current = resource.member("meta")?.value.member("version")?.value.stringValue ?? "W/\"1\""
        if let ifMatch = request.ifMatch, ifMatch != "*", ifMatch != current {
            throw SCIMFailure(status: 412, scimType: nil, detail: "the resource changed: If-Match \(ifMatch), current \(current)")
        }
        return Int(current.filter(\.isNumber)) ?? 1
    }

    mutating func replace(_ kind: Kind, _ request: SCIMRequest) throws -> SandboxResponse {
        let id = request.path[1]
        let existing = try find(kind, id)
        let version = try checkVersion(existing, request)
        guard let body = JSONValue.parse(request.body) else { throw SCIMFailure.invalidSyntax("the body is not JSON") }
        var resource = try validate(body, kind, replacing: id)
        let created = existing.member("meta")?.value.member("created")?.value.stringValue ?? now()
        resource.setMember("id", .string(id))
        resource.setMember("meta", meta(kind, id: id, version: version + 1, created: created, base: request.base))
        store(resource, kind, id: id)
        return .json(200, project(resource, kind, attributes: nil, excluded: nil), headers: etag(resource))
    }

    mutating func patch(_ kind: Kind, _ request: SCIMRequest, ignoreExtensions: Bool) throws -> SandboxResponse {
        let id = request.path[1]
        let existing = try find(kind, id)
        let version = try checkVersion(existing, request)
        guard let body = JSONValue.parse(request.body), case .object = body else { throw SCIMFailure.invalidSyntax("the body is not a JSON object") }
        guard let operations = body.member("Operations")?.value.arrayValue else {
            throw SCIMFailure.invalidSyntax("a PatchOp needs an Operations list")
        }
        var resource = try PatchApplier.apply(operations, to: existing, ignoreExtensionPaths: ignoreExtensions)
        resource = try validate(resource, kind, replacing: id)
        let created = existing.member("meta")?.value.member("created")?.value.stringValue ?? now()
        resource.setMember("id", .string(id))
        resource.setMember("meta", meta(kind, id: id, version: version + 1, created: created, base: request.base))
        store(resource, kind, id: id)
        if request.query["attributes"] != nil || request.query["excludedAttributes"] != nil {
            return .json(200, project(resource, kind, attributes: request.query["attributes"], excluded: request.query["excludedAttributes"]),
                         headers: etag(resource))
        }
        return .json(200, project(resource, kind, attributes: nil, excluded: nil), headers: etag(resource))
    }

    mutating func delete(_ kind: Kind, _ request: SCIMRequest, soft: Bool) throws -> SandboxResponse {
        let id = request.path[1]
        let existing = try find(kind, id)
        _ = try checkVersion(existing, request)
        if soft {
            // The fault: answer as if deleted, but only deactivate.
            var resource = existing
            resource.setMember("active", .bool(false))
            store(resource, kind, id: id)
            return .empty(204)
        }
        if kind == .user {
            users[id] = nil
            order.removeAll { $0 == id }
            for groupId in groupOrder {
                guard var group = groups[groupId], case .array(let members)? = group.member("members")?.value else { continue }
                let kept = members.filter { $0.member("value")?.value.stringValue != id }
                if kept.count != members.count {
                    group.setMember("members", .array(kept))
                    groups[groupId] = group
                }
            }
        } else {
            groups[id] = nil
            groupOrder.removeAll { $0 == id }
        }
        return .empty(204)
    }
}
