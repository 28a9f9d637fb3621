import Crypto
import Foundation
import LetheCore

/// Keeps a request's identifiers unreadable at rest while the request is open: each one is
/// sealed with ChaCha20-Poly1305 under the state directory's `identifiers.key`, bound to its
/// request and field, so the database alone (a copy, a dump, a backup) shows no e-mail address,
/// and a sealed value moved to another row or column does not open. Purging removes the sealed
/// value as it removed the plain one.
public struct IdentifierSealer: Sendable {
    private let key: SymmetricKey
    /// Names the key without revealing it (the first 16 hex digits of its SHA-256), so a store
    /// can refuse a worker that holds another key.
    public let keyId: String

    /// What every sealed value starts with; a value without it was stored before sealing.
    public static let prefix = "sealed1:"

    public init(key: Data) {
        self.key = SymmetricKey(data: key)
        keyId = String(Hex.encode(SHA256.hash(data: key)).prefix(16))
    }

    /// Why a stored value does not open.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case cannotOpen(request: String, field: String)

        public var description: String {
            switch self {
            case .cannotOpen(let request, let field):
                "the \(field) of request \(request) does not open with this state directory's identifiers.key: the key is not the one it "
                    + "was sealed with, or the value was changed; restore the key that sealed it"
            }
        }
    }

    private static func context(_ request: String, _ field: String) -> Data { Data("lethe.identifier:\(request):\(field)".utf8) }

    /// The sealed form of a value, or nil for nil.
    public func seal(_ value: String?, request: String, field: String) throws -> String? {
        guard let value else { return nil }
        let box = try ChaChaPoly.seal(Data(value.utf8), using: key, authenticating: Self.context(request, field))
        return Self.prefix + box.combined.base64EncodedString()
    }

    /// The value a stored text holds: opened when sealed, as it is when stored before sealing.
    public func open(_ stored: String?, request: String, field: String) throws -> String? {
        guard let stored else { return nil }
        guard stored.hasPrefix(Self.prefix) else { return stored }
        guard let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))),
              let box = try? ChaChaPoly.SealedBox(combined: combined),
              let plain = try? ChaChaPoly.open(box, using: key, authenticating: Self.context(request, field)),
              let text = String(data: plain, encoding: .utf8) else {
            throw Failure.cannotOpen(request: request, field: field)
        }
        return text
    }

    /// Whether a stored text is sealed.
    public static func isSealed(_ stored: String?) -> Bool { stored?.hasPrefix(prefix) == true }
}

/// A request's identifiers as every store keeps them: three columns (`email`, `external_id`,
/// `user_name`), sealed when the store seals.
public enum StoredIdentifiers {
    /// The columns, with the field names their seals are bound to.
    public static let columns = ["email", "external_id", "user_name"]

    /// The stored forms of a request's identifiers: sealed with `sealer`, as given without one.
    public static func stored(_ identifiers: SubjectIdentifiers?, request: String, sealer: IdentifierSealer?) throws -> [String?] {
        let values = [identifiers?.email, identifiers?.externalId, identifiers?.userName]
        guard let sealer else { return values }
        return try zip(values, columns).map { try sealer.seal($0, request: request, field: $1) }
    }

    /// A request's identifiers from their stored forms; nil when none is left (purged).
    public static func opened(_ stored: [String?], request: String, sealer: IdentifierSealer?) throws -> SubjectIdentifiers? {
        guard stored.contains(where: { $0 != nil }) else { return nil }
        let values: [String?] = try zip(stored, columns).map { value, field in
            if let sealer { return try sealer.open(value, request: request, field: field) }
            guard !IdentifierSealer.isSealed(value) else {
                throw StoreError.invalid("request \(request)'s identifiers are sealed, and this store was opened without the identifiers key")
            }
            return value
        }
        return SubjectIdentifiers(email: values[0], externalId: values[1], userName: values[2])
    }

    /// Filer principals as stored: a sorted JSON array, or NULL for none.
    public static func identitiesJSON(_ identities: Set<String>) -> String? {
        identities.isEmpty ? nil : String(decoding: CanonicalJSON.bytes(.array(identities.sorted().map(JSONValue.string))), as: UTF8.self)
    }
}

extension APIToken {
    /// The digest a token's secret is stored and looked up by (its SHA-256): the secret itself is kept nowhere.
    public static func digest(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Data(secret.utf8)))
    }
}
