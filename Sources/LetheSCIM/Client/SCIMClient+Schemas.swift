import LetheCore

extension SCIMClient {
    /// The core User schema's URN: its attributes are named without it.
    static let coreUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

    /// The attributes the server's `/Schemas` declare `returned: "never"` (RFC 7643 §7): their
    /// values never appear in an answer, even when asked for, so a read-back can prove nothing
    /// about them. Read once per target and run; empty when the server publishes no usable
    /// schemas (404, 501, a broken endpoint, an answer that is not a schema list), since then it
    /// declares nothing hidden.
    public func neverReturned() async throws(SCIMClientError) -> Set<String> {
        if let known = knowledge.neverReturned { return known }
        let operation = "GET /Schemas"
        let response = try await send(.get, "/Schemas", operation: operation)
        var hidden: Set<String> = []
        if response.status == 200, let json = JSONValue.parse(response.body) {
            let schemas = json["Resources"]?.arrayValue ?? json.arrayValue ?? []
            for schema in schemas {
                guard let id = schema["id"]?.stringValue else { continue }
                let prefix = ASCIICase.equal(id, Self.coreUserSchema) ? "" : id + ":"
                for attribute in schema["attributes"]?.arrayValue ?? [] {
                    guard let name = attribute["name"]?.stringValue else { continue }
                    if attribute["returned"]?.stringValue.map({ ASCIICase.equal($0, "never") }) == true {
                        hidden.insert((prefix + name).lowercased())
                    }
                    for sub in attribute["subAttributes"]?.arrayValue ?? [] {
                        guard let subName = sub["name"]?.stringValue,
                              sub["returned"]?.stringValue.map({ ASCIICase.equal($0, "never") }) == true else { continue }
                        hidden.insert((prefix + name + "." + subName).lowercased())
                    }
                }
            }
        } else if [401, 403, 429, 503].contains(response.status) {
            // Credentials or load: the same answer would meet the next call.
            throw failure(response, operation)
        }
        knowledge.neverReturned = hidden
        return hidden
    }

    /// True when the server declares the attribute (or the attribute it belongs to) never returned.
    public static func isHidden(_ path: AttributePath, in hidden: Set<String>) -> Bool {
        hidden.contains(path.description.lowercased()) || hidden.contains(path.parent.description.lowercased())
    }
}
