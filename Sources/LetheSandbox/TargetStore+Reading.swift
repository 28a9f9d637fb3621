import Foundation
import LetheCore

/// GET: lookups, lists with filters and paging, `.search`.
extension TargetStore {
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
        let index = kind == .user ? userIndex : groupIndex
        let ids = (kind == .user ? order : groupOrder).ordered(expression.flatMap(index.candidates))
        let all = ids.compactMap { (kind == .user ? users : groups)[$0] }
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
}
