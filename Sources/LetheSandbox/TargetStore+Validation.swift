import Foundation
import LetheCore

/// What a written resource must look like.
extension TargetStore {
    /// Checks required and unique attributes; returns the cleaned body.
    func validate(_ body: JSONValue, _ kind: Kind, replacing id: String?) throws(SCIMFailure) -> JSONValue {
        guard case .object = body else { throw SCIMFailure.invalidSyntax("the body is not a JSON object") }
        var resource = body
        for key in ["id", "meta"] { resource.removeMember(key) }
        if kind == .user {
            guard let userName = resource.member("userName")?.value.stringValue, !userName.isEmpty else {
                throw SCIMFailure.invalidValue("userName is required")
            }
            let holders = userIndex.ids(AttributeRef(schema: nil, name: "userName", sub: nil), equal: userName) ?? []
            if holders.contains(where: { $0 != id }) { throw SCIMFailure(status: 409, scimType: "uniqueness", detail: "userName is already taken") }
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
}
