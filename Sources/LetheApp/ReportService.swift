import Foundation
import LetheCore
import LetheReports
import LetheStore

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
        guard from <= to else { throw ReportError("the period starts \(from), after it ends \(to)") }
        let requests = try database.requests(receivedFrom: from, to: to)
        let actions = try database.actions(of: requests.map(\.id))
        let citations = try database.finalTargetEvents(requestIds: requests.map(\.id))
        let retention = try database.followUps(completedFrom: from, to: to)
        let retentionCitations = try database.finalTargetEvents(requestIds: retention.map(\.requestId).uniqued())
        let reportBuilder = try builder(now: now)
        let report = reportBuilder.periodReport(from: from, to: to, requests: requests, actions: actions, citations: citations,
                                          retentionErasures: retention, retentionCitations: retentionCitations)
        return try write(report, chain: reportBuilder.chain, base: "lethe-report-\(from)-\(to)", into: directory, csv: true, requests: requests.count)
    }

    /// Writes `lethe-certificate-ID.{json,json.sig,html}` into `directory`.
    public func exportCertificate(_ request: StoredRequest, into directory: String, now: Date = Date()) throws -> WrittenReport {
        let reportBuilder = try builder(now: now)
        let report = reportBuilder.certificate(request, actions: try database.actions(of: request.id),
                                         events: try database.auditEvents(request: request.id))
        return try write(report, chain: reportBuilder.chain, base: "lethe-certificate-\(request.id)", into: directory, csv: false, requests: 1)
    }

    private func write(_ report: JSONValue, chain: AppDatabase.ChainVerification, base: String, into directory: String, csv: Bool, requests: Int) throws -> WrittenReport {
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
        // The chain the report was built on: an export appends no event, so it is still the head.
        try state.appendCheckpoint(database: database, chain: chain)
        return WrittenReport(json: path(".json"), signature: path(".json.sig"), csv: csvPath, html: path(".html"), requests: requests)
    }
}
