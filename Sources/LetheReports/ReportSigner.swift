import Crypto
import Foundation
import LetheCore

/// The Ed25519 key that signs reports, and its public half as a PEM any openssl can read.
public struct ReportSigner: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// Reads the raw 32-byte private key written by `lethe init`.
    public init(rawPrivateKey: Data) throws {
        key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
    }

    public var publicKey: ReportPublicKey { ReportPublicKey(key.publicKey) }

    /// The raw 64-byte signature over exactly these bytes.
    public func sign(_ data: Data) throws -> Data {
        try key.signature(for: data)
    }
}

/// A report verification key.
public struct ReportPublicKey: Sendable, Hashable {
    let key: Curve25519.Signing.PublicKey

    init(_ key: Curve25519.Signing.PublicKey) { self.key = key }

    public static func == (lhs: ReportPublicKey, rhs: ReportPublicKey) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }
    public func hash(into hasher: inout Hasher) { hasher.combine(key.rawRepresentation) }

    /// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { AlgorithmIdentifier id-Ed25519, BIT STRING }.
    static let spkiPrefix = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

    /// `-----BEGIN PUBLIC KEY-----` PEM (SubjectPublicKeyInfo), as `openssl pkeyutl -pubin` reads it.
    public var pem: String {
        let der = Self.spkiPrefix + key.rawRepresentation
        return "-----BEGIN PUBLIC KEY-----\n\(der.base64EncodedString())\n-----END PUBLIC KEY-----\n"
    }

    /// SHA-256 of the raw 32-byte public key, in hex: the key id reports name.
    public var keyId: String {
        Hex.encode(SHA256.hash(data: key.rawRepresentation))
    }

    /// Reads a PEM SubjectPublicKeyInfo holding an Ed25519 key.
    public init(pem: String) throws(ReportError) {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body), der.count == 44, der.prefix(12) == Self.spkiPrefix,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32)) else {
            throw ReportError("not an Ed25519 public key in PEM (SubjectPublicKeyInfo) form")
        }
        self.key = key
    }

    /// True when `signature` is this key's signature over exactly `data`.
    public func isValidSignature(_ signature: Data, for data: Data) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: data)
    }
}

/// A report could not be built, written or verified.
public struct ReportError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Creates signing keys.
public enum ReportSignerFactory {
    /// A new raw 32-byte Ed25519 private key.
    public static func newRawKey() -> Data { Curve25519.Signing.PrivateKey().rawRepresentation }
}
