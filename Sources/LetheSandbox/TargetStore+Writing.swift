import Foundation
import LetheCore

/// POST, PUT, PATCH and DELETE, with ETags.
extension TargetStore {
    func now() -> String { Timestamp.iso8601(Date()) }

    mutating func newId() -> String { random.hex(32) }

    func meta(_ kind: Kind, id: String, version: Int, created: String, base: String) -> JSONValue {
        .object([
            "resourceType": .string(kind.resourceType), "created": .string(created), "lastModified": .string(now()),
            "location": .string("\(base)/\(kind.endpoint)/\(id)"), "version": .string("W/\"\(version)\""),
        ])
    }

    mutating func store(_ resource: JSONValue, _ kind: Kind, id: String) {
        if kind == .user {
            order.append(id)
            userIndex.update(id: id, to: resource)
            users[id] = resource
        } else {
            groupOrder.append(id)
            groupIndex.update(id: id, to: resource)
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
            userIndex.update(id: id, to: nil)
            users[id] = nil
            order.remove(id)
            let holding = groupIndex.ids(AttributeRef(schema: nil, name: "members", sub: "value"), equal: id) ?? []
            for groupId in groupOrder.sorted(holding) {
                guard var group = groups[groupId], case .array(let members)? = group.member("members")?.value else { continue }
                let kept = members.filter { $0.member("value")?.value.stringValue != id }
                if kept.count != members.count {
                    group.setMember("members", .array(kept))
                    store(group, .group, id: groupId)
                }
            }
        } else {
            groupIndex.update(id: id, to: nil)
            groups[id] = nil
            groupOrder.remove(id)
        }
        return .empty(204)
    }
}
