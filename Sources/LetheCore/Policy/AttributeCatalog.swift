import Foundation

/// Resolves policy attribute names against the SCIM User schema and known extensions.
public struct AttributeCatalog: Sendable {
    /// A resolved path and its shape.
    public struct Resolved: Sendable, Hashable {
        public var path: AttributePath
        public var shape: AttributeShape
        /// A whole multi-valued attribute whose items carry a `value` (emails, phoneNumbers,
        /// ims, photos, entitlements, roles, x509Certificates): `random` and `redact` replace it
        /// with one placeholder item (`ErasurePatch`).
        public var takesPlaceholder = false
    }

    /// Whether `path` is a whole multi-valued attribute of the core schema whose items carry a
    /// `value` (see `Resolved.takesPlaceholder`).
    public func takesPlaceholder(_ path: AttributePath) -> Bool {
        guard path.schema == nil, path.subAttribute == nil, let entry = core[path.name.lowercased()] else { return false }
        return entry.shape.multiValued && entry.subAttributes["value"] != nil
    }

    struct Entry: Sendable {
        var name: String
        var shape: AttributeShape
        var subAttributes: [String: AttributeShape]
    }

    /// Known schemas: nil key is the core User schema.
    let schemas: [String: [String: Entry]]
    let core: [String: Entry]

    /// The schemas every SCIM 2.0 server shares, plus the enterprise and the example GDPR extension.
    public static let standard: AttributeCatalog = {
        func entry(_ name: String, _ shape: AttributeShape, _ subs: [String: AttributeShape] = [:]) -> (String, Entry) {
            (name.lowercased(), Entry(name: name, shape: shape, subAttributes: subs))
        }
        let multiSubs: [String: AttributeShape] = [
            "value": .string, "display": .string, "type": .string, "primary": .boolean,
        ]
        let addressSubs: [String: AttributeShape] = [
            "formatted": .string, "streetAddress": .string, "locality": .string, "region": .string,
            "postalCode": .string, "country": .string, "type": .string, "primary": .boolean,
        ]
        let readOnly = AttributeShape(kind: .other, multiValued: false, required: false, readOnly: true)
        var userName = AttributeShape.string
        userName.required = true
        let core: [String: Entry] = Dictionary(uniqueKeysWithValues: [
            entry("id", readOnly),
            entry("meta", readOnly),
            entry("externalId", .string),
            entry("userName", userName),
            entry("name", .complex(multi: false), [
                "formatted": .string, "familyName": .string, "givenName": .string,
                "middleName": .string, "honorificPrefix": .string, "honorificSuffix": .string,
            ]),
            entry("displayName", .string),
            entry("nickName", .string),
            entry("profileUrl", .string),
            entry("title", .string),
            entry("userType", .string),
            entry("preferredLanguage", .string),
            entry("locale", .string),
            entry("timezone", .string),
            entry("active", .boolean),
            entry("password", .string),
            entry("emails", .complex(multi: true), multiSubs),
            entry("phoneNumbers", .complex(multi: true), multiSubs),
            entry("ims", .complex(multi: true), multiSubs),
            entry("photos", .complex(multi: true), multiSubs),
            entry("addresses", .complex(multi: true), addressSubs),
            entry("groups", readOnly),
            entry("entitlements", .complex(multi: true), multiSubs),
            entry("roles", .complex(multi: true), multiSubs),
            entry("x509Certificates", .complex(multi: true), multiSubs),
        ])
        let enterprise: [String: Entry] = Dictionary(uniqueKeysWithValues: [
            entry("employeeNumber", .string), entry("costCenter", .string), entry("organization", .string),
            entry("division", .string), entry("department", .string),
            entry("manager", .complex(multi: false), ["value": .string, "$ref": .string, "displayName": .string]),
        ])
        let gdpr: [String: Entry] = Dictionary(uniqueKeysWithValues: [
            entry("marketingSegment", .string), entry("loyaltyTier", .string), entry("newsletterOptIn", .boolean),
            entry("crmId", .string), entry("legalHold", .boolean),
        ])
        return AttributeCatalog(core: core, schemas: [
            SCIMSchemas.enterpriseUser.lowercased(): enterprise,
            SCIMSchemas.gdprUser.lowercased(): gdpr,
        ])
    }()

    init(core: [String: Entry], schemas: [String: [String: Entry]]) {
        self.core = core
        self.schemas = schemas
    }

    /// Resolves a path written in a policy, or says what is wrong with it.
    public func resolve(_ text: String) -> Result<Resolved, AttributePathProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return .failure(.init(message: "empty attribute path", hint: nil)) }
        if trimmed.contains("[") || trimmed.contains("]") {
            return .failure(.init(
                message: "value filters are not allowed in policy attributes: '\(trimmed)'",
                hint: "name the whole attribute (emails) or a sub-attribute (emails.value)"))
        }
        var schema: String?
        var local = trimmed
        if trimmed.lowercased().hasPrefix("urn:") {
            guard let colon = trimmed.lastIndex(of: ":") else {
                return .failure(.init(message: "malformed extension path '\(trimmed)'", hint: nil))
            }
            schema = String(trimmed[..<colon])
            local = String(trimmed[trimmed.index(after: colon)...])
            if schema?.lowercased() == SCIMSchemas.coreUser.lowercased() { schema = nil }
            guard !local.isEmpty else {
                return .failure(.init(
                    message: "extension path '\(trimmed)' names no attribute",
                    hint: "write the schema URN, a colon and the attribute: \(SCIMSchemas.gdprUser):marketingSegment"))
            }
        }
        let pieces = local.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count <= 2, pieces.allSatisfy(Self.isAttributeName) else {
            return .failure(.init(
                message: "malformed attribute path '\(trimmed)'",
                hint: "write attribute or attribute.subAttribute, e.g. name.givenName"))
        }
        let table: [String: Entry]
        if let schema {
            guard let known = schemas[schema.lowercased()] else {
                // A target's own extension: Lethe cannot know its attributes, so it trusts the policy.
                let path = AttributePath(schema: schema, name: pieces[0], subAttribute: pieces.count == 2 ? pieces[1] : nil)
                return .success(Resolved(path: path, shape: pieces.count == 2 ? .string : .other))
            }
            table = known
        } else {
            table = core
        }
        guard let entry = table[pieces[0].lowercased()] else {
            let names = table.values.map(\.name).filter { !isReadOnly($0, in: table) }.sorted()
            let suggestion = Suggest.closest(to: pieces[0], in: names)
            return .failure(.init(
                message: "unknown attribute '\(pieces[0])'" + (schema.map { " in schema \($0)" } ?? " in the SCIM User schema"),
                hint: suggestion.map { "did you mean '\($0)'?" }
                    ?? (schema == nil ? "extension attributes are written with their schema URN: urn:...:User:attribute" : nil)))
        }
        if entry.shape.readOnly {
            return .failure(.init(
                message: "'\(entry.name)' is set by the server and cannot be shared or erased through a policy",
                hint: nil))
        }
        guard pieces.count == 2 else {
            let path = AttributePath(schema: schema, name: entry.name)
            return .success(Resolved(path: path, shape: entry.shape, takesPlaceholder: takesPlaceholder(path)))
        }
        guard let (subName, subShape) = entry.subAttributes.first(where: { $0.key.lowercased() == pieces[1].lowercased() }) else {
            let subs = entry.subAttributes.keys.sorted()
            return .failure(.init(
                message: "'\(entry.name)' has no sub-attribute '\(pieces[1])'",
                hint: subs.isEmpty ? "'\(entry.name)' is a simple attribute" : "known: \(subs.joined(separator: ", "))"))
        }
        var shape = subShape
        shape.multiValued = entry.shape.multiValued
        return .success(Resolved(path: AttributePath(schema: schema, name: entry.name, subAttribute: subName), shape: shape))
    }

    private func isReadOnly(_ name: String, in table: [String: Entry]) -> Bool {
        table[name.lowercased()]?.shape.readOnly ?? false
    }

    private static func isAttributeName(_ text: String) -> Bool {
        // RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; "$ref" is the exception.
        guard let first = text.unicodeScalars.first else { return false }
        if text == "$ref" { return true }
        return first.properties.isAlphabetic && first.isASCII
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
    }
}

/// Schema URNs Lethe names.
public enum SCIMSchemas {
    public static let coreUser = "urn:ietf:params:scim:schemas:core:2.0:User"
    public static let coreGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"
    public static let enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    public static let gdprUser = "urn:example:params:scim:schemas:extension:gdpr:2.0:User"
    public static let patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    public static let listResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    public static let error = "urn:ietf:params:scim:api:messages:2.0:Error"
}
