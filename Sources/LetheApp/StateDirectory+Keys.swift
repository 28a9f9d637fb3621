import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LetheCore
import LetheReports
import LetheStorage

extension StateDirectory {
    /// Where the public keys of earlier signing keys are kept, by key id, so old reports stay verifiable.
    public var publicKeysDirectory: String { file("public-keys") }

    /// The report signer (the key `lethe init` created).
    public func signer() throws -> ReportSigner {
        guard isInitialized else { throw Problem.notInitialized(path) }
        guard let raw = FileManager.default.contents(atPath: signingKeyPath) else {
            throw Problem.lost(file: "signing.key", directory: path)
        }
        do {
            return try ReportSigner(rawPrivateKey: raw)
        } catch {
            throw Problem.io("the signing key \(signingKeyPath) is damaged (\(error))")
        }
    }

    /// Keeps the current public key under `public-keys/KEYID.pem`.
    @discardableResult
    public func archivePublicKey() throws -> String {
        let key = try signer().publicKey
        try FileManager.default.createDirectory(atPath: publicKeysDirectory, withIntermediateDirectories: true)
        let path = (publicKeysDirectory as NSString).appendingPathComponent("\(key.keyId).pem")
        if !FileManager.default.fileExists(atPath: path) {
            try key.pem.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }

    /// The public key with this id: the current one, or one kept from before a rotation.
    public func publicKey(id: String) throws -> ReportPublicKey? {
        let current = try signer().publicKey
        if current.keyId == id { return current }
        let path = (publicKeysDirectory as NSString).appendingPathComponent("\(id).pem")
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return try ReportPublicKey(pem: pem)
    }

    /// Replaces the signing key; the old public key stays in `public-keys/` for old reports.
    public func rotateSigningKey() throws -> (old: String, new: String) {
        let old = try signer().publicKey.keyId
        // The database records which signing key the deployment uses (workers with another are
        // refused); opening it first also refuses to rotate a key it does not know.
        let database = isInitialized ? try openDatabase() : nil
        try archivePublicKey()
        let fresh = ReportSignerFactory.newRawKey()
        let temporary = signingKeyPath + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: fresh, attributes: [.posixPermissions: 0o600]) else {
            throw Problem.io("cannot write \(temporary)")
        }
        // rename(2) replaces the key atomically: at every moment there is exactly one signing key.
        guard rename(temporary, signingKeyPath) == 0 else {
            throw Problem.io("cannot replace \(signingKeyPath) (errno \(errno)); the old key is unchanged")
        }
        try archivePublicKey()
        try database?.setMeta(Self.signingKeyMeta, String(Hex.encode(SHA256.hash(data: fresh)).prefix(16)))
        return (old, try signer().publicKey.keyId)
    }
}
