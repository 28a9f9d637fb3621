import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LetheCore
import LetheReports
import LetheStore

extension StateDirectory {
    /// Where the public keys of earlier signing keys are kept, by key id, so old reports stay verifiable.
    public var publicKeysDirectory: String { file("public-keys") }

    /// The report signer (the key `lethe init` created).
    public func signer() throws -> ReportSigner {
        guard isInitialized else { throw Problem.notInitialized(path) }
        guard let raw = FileManager.default.contents(atPath: signingKeyPath) else {
            throw Problem.io("the signing key \(signingKeyPath) is missing; run `lethe init` to create one")
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
        return (old, try signer().publicKey.keyId)
    }
}

/// The files one export wrote.
public struct WrittenReport: Sendable, Hashable {
    public var json: String
    public var signature: String
    public var csv: String?
    public var html: String
    public var requests: Int
}

/// Exports signed period reports and erasure certificates.
public struct ReportService: Sendable {
    public let state: StateDirectory
    public let database: AppDatabase
    public let policies: PolicySet?

    public init(state: StateDirectory, database: AppDatabase, policies: PolicySet?) {
        self.state = state
        self.database = database
        self.policies = policies
    }

    func builder(now: Date) throws -> ReportBuilder {
        let chain = try database.verifyAuditChain()
        if let problem = chain.problem { throw ReportError("the audit log is broken (\(problem)); no report is signed over a broken log") }
        let recipients = Dictionary(uniqueKeysWithValues: (policies?.policies ?? []).map { ($0.target, $0.description) })
        return ReportBuilder(keyId: try state.signer().publicKey.keyId, generatedAt: now, chain: chain, recipients: recipients)
    }

    /// Writes `lethe-report-FROM-TO.{json,json.sig,csv,html}` into `directory`.
    public func exportPeriod(from: CalendarDate, to: CalendarDate, into directory: String, now: Date = Date()) throws -> WrittenReport {
        guard from <= to else { throw ReportError("--from \(from) is after --to \(to)") }
        let requests = try database.requests(receivedFrom: from, to: to)
        let actions = try database.actions(of: requests.map(\.id))
        let report = try builder(now: now).periodReport(from: from, to: to, requests: requests, actions: actions)
        return try write(report, base: "lethe-report-\(from)-\(to)", into: directory, csv: true, requests: requests.count)
    }

    /// Writes `lethe-certificate-ID.{json,json.sig,html}` into `directory`.
    public func exportCertificate(_ request: StoredRequest, into directory: String, now: Date = Date()) throws -> WrittenReport {
        let report = try builder(now: now).certificate(request, actions: try database.actions(of: request.id),
                                                       events: try database.auditEvents(request: request.id))
        return try write(report, base: "lethe-certificate-\(request.id)", into: directory, csv: false, requests: 1)
    }

    private func write(_ report: JSONValue, base: String, into directory: String, csv: Bool, requests: Int) throws -> WrittenReport {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bytes = CanonicalJSON.encode(report)
        let signature = try state.signer().sign(bytes)
        try state.archivePublicKey()
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent(base + suffix) }
        try bytes.write(to: URL(fileURLWithPath: path(".json")), options: .atomic)
        try signature.write(to: URL(fileURLWithPath: path(".json.sig")), options: .atomic)
        var csvPath: String?
        if csv {
            csvPath = path(".csv")
            try ReportRendering.csv(report).write(toFile: csvPath!, atomically: true, encoding: .utf8)
        }
        try ReportRendering.html(report, jsonFileName: base + ".json").write(toFile: path(".html"), atomically: true, encoding: .utf8)
        return WrittenReport(json: path(".json"), signature: path(".json.sig"), csv: csvPath, html: path(".html"), requests: requests)
    }
}
