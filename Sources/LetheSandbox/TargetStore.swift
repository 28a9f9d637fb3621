import Foundation
import LetheCore

/// One target's Users and Groups, in memory.
struct TargetStore: Sendable {
    let name: String
    var random: SeededRandom
    var users: [String: JSONValue] = [:]
    var groups: [String: JSONValue] = [:]
    /// Creation order, for stable listing.
    var order = CreationOrder()
    var groupOrder = CreationOrder()
    /// What users and groups are looked up by (`TargetStore+Index.swift`).
    var userIndex = ValueIndex(keys: ["id", "userName", "externalId", "emails.value"])
    var groupIndex = ValueIndex(keys: ["id", "displayName", "externalId", "members.value"])
    /// Users show `groups`: the groups whose members list them.
    var listsGroups = false

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
            if faults.noPatch { throw SCIMFailure(status: 501, detail: "PATCH is not implemented") }
            return try patch(kind, request, ignoreExtensions: kind == .user && faults.ignoreExtensionPatch)
        case ("DELETE", 2):
            return try delete(kind, request, soft: kind == .user && faults.softDelete)
        default:
            throw SCIMFailure(status: 405, detail: "\(request.method) is not supported on /\(request.path.joined(separator: "/"))")
        }
    }

}
