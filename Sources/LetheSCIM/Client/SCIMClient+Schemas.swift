import LetheCore

/// What a server's `/Schemas` say about returning User attributes (RFC 7643 §7, `returned`).
public struct ReturnedAttributes: Sendable, Hashable {
    /// Keys (lower case; `name`, `name.sub`, `urn:…:name`) of attributes never returned, even
    /// when asked for.
    public var never: Set<String> = []
    /// Top-level attributes returned only when asked for by name (`returned: request`).
    public var onRequest: [AttributePath] = []
}

extension SCIMClient {
    /// The core User schema's URN: its attributes are named without it.
    static let coreUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

    /// What the server's `/Schemas` declare about returning User attributes. Read once per
    /// target and run; empty when the server publishes no usable schemas (404, 501, a broken
    /// endpoint, an answer that is not a schema list), since then it declares nothing.
    public func returnedAttributes() async throws(SCIMClientError) -> ReturnedAttributes {
        if let known = knowledge.returned { return known }
        let operation = "GET /Schemas"
        let response = try await send(.get, "/Schemas", operation: operation)
        var found = ReturnedAttributes()
        func says(_ attribute: JSONValue, _ value: String) -> Bool {
            attribute["returned"]?.stringValue.map { ASCIICase.equal($0, value) } ?? false
        }
        if response.status == 200, let json = JSONValue.parse(response.body) {
            let schemas = json["Resources"]?.arrayValue ?? json.arrayValue ?? []
            for schema in schemas {
                guard let id = schema["id"]?.stringValue, !ASCIICase.equal(id, "urn:ietf:params:scim:schemas:core:2.0:Group") else { continue }
                let core = ASCIICase.equal(id, Self.coreUserSchema)
                let prefix = core ? "" : id + ":"
                for attribute in schema["attributes"]?.arrayValue ?? [] {
                    guard let name = attribute["name"]?.stringValue else { continue }
                    if says(attribute, "never") { found.never.insert((prefix + name).lowercased()) }
                    let subs = attribute["subAttributes"]?.arrayValue ?? []
                    if says(attribute, "request") || subs.contains(where: { says($0, "request") }) {
                        found.onRequest.append(AttributePath(schema: core ? nil : id, name: name))
                    }
                    for sub in subs {
                        guard let subName = sub["name"]?.stringValue, says(sub, "never") else { continue }
                        found.never.insert((prefix + name + "." + subName).lowercased())
                    }
                }
            }
        } else if [401, 403, 429, 503].contains(response.status) {
            // Credentials or load: the same answer would meet the next call.
            throw failure(response, operation)
        }
        knowledge.returned = found
        return found
    }

    /// The attributes the server's `/Schemas` declare `returned: "never"`: their values never
    /// appear in an answer, even when asked for, so a read-back can prove nothing about them.
    public func neverReturned() async throws(SCIMClientError) -> Set<String> {
        try await returnedAttributes().never
    }

    /// True when the server declares the attribute (or the attribute it belongs to) never returned.
    public static func isHidden(_ path: AttributePath, in hidden: Set<String>) -> Bool {
        hidden.contains(path.description.lowercased()) || hidden.contains(path.parent.description.lowercased())
    }
}
