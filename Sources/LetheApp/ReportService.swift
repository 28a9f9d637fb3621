import Foundation
import LetheCore
import LetheReports
import LetheStorage

/// The files one export wrote.
public struct WrittenReport: Sendable, Hashable {
    public var json: String
    public var signature: String
    public var csv: String?
    public var html: String
    /// A period report over more requests than one page shows: the pages the HTML links to.
    public var htmlPages: [String] = []
    public var requests: Int
}

/// Exports signed period reports and erasure certificates.
public struct ReportService: Sendable {
    public let state: StateDirectory
    public let database: any AuditLog & RequestQueries
    public let policies: PolicySet?

    public init(state: StateDirectory, database: any AuditLog & RequestQueries, policies: PolicySet?) {
        self.state = state
        self.database = database
        self.policies = policies
    }

    /// Requests per HTML page of a period report, and per read of the database.
    public var pageSize = 1000

    func builder(now: Date, chain: ChainVerification) throws -> ReportBuilder {
        if let problem = chain.problem { throw ReportError("the audit log is broken (\(problem)); no report is signed over a broken log") }
        let recipients = Dictionary(uniqueKeysWithValues: (policies?.policies ?? []).map { ($0.target, $0.description) })
        return ReportBuilder(keyId: try state.signer().publicKey.keyId, generatedAt: now, chain: chain, recipients: recipients)
    }

    /// Writes `lethe-report-FROM-TO.{json,json.sig,csv,html}` into `directory`, and, over more
    /// than `pageSize` requests, `lethe-report-FROM-TO-requests-NNNN.html` pages that the
    /// HTML links to.
    ///
    /// Streamed: the requests are read a page at a time from one snapshot of the database and
    /// each row is written to the JSON, CSV and HTML as it is built, so memory stays flat
    /// whatever the period's size. The JSON is byte for byte `ReportBuilder.periodReport`.
    public func exportPeriod(from: CalendarDate, to: CalendarDate, into directory: String, now: Date = Date()) throws -> WrittenReport {
        guard from <= to else { throw ReportError("the period starts \(from), after it ends \(to)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = "lethe-report-\(from)-\(to)"
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent(base + suffix) }
        let signer = try state.signer()
        let json = try StagedFile(path(".json")), csv = try StagedFile(path(".csv")), html = try StagedFile(path(".html"))
        var pages: [StagedFile] = []
        defer { for file in [json, csv, html] + pages { file.discard() } }

        let (chain, count) = try database.snapshot { [database] snapshot in
            // The chain up to this snapshot's head is walked on another thread while the report
            // is written (three seconds at 100,000 requests); nothing is signed until it is whole.
            let chain = try snapshot.chainHead()
            let walk = ThreadWork { try database.verifyAuditChain(through: chain.lastSeq ?? 0) }
            let builder = try builder(now: now, chain: chain)
            let count = try snapshot.requestCount(receivedFrom: from, to: to)
            let paged = count > pageSize
            var members = builder.periodHeader(from: from, to: to)
            let title = ReportRendering.htmlTitle(.object(members))
            let heading = ReportRendering.htmlHeading(.object(members))

            // The members named before "requests", then the rows one by one, then the rest.
            json.write("{")
            for key in members.keys.sorted(by: CanonicalJSON.precedes) where CanonicalJSON.precedes(key, "requests") {
                json.write(CanonicalJSON.member(key, members.removeValue(forKey: key)!) + ",")
            }
            json.write("\"requests\":[")
            csv.write(ReportRendering.csvHeader + "\n")
            var summary = ReportBuilder.SummaryCounter(today: builder.today)
            var sections = ""  // one page: shown after the summary, which is known only at the end
            var attention: [(row: JSONValue, page: String)] = []
            var first = true
            // Two stages on two threads: this one reads a page of requests from the snapshot
            // (which only this thread may use) while the page before is built and encoded on
            // another; the files are written here, in order.
            var rendering: (work: ThreadWork<RenderedPage>, name: String)?
            func write(_ rendering: (work: ThreadWork<RenderedPage>, name: String)?) throws {
                guard let rendering else { return }
                let rendered = try rendering.work.join()
                if !rendered.json.isEmpty {
                    if !first { json.write(",") }
                    json.write(bytes: rendered.json)
                    first = false
                }
                csv.write(rendered.csv)
                if paged {
                    let file = try StagedFile(path(String(rendering.name.dropFirst(base.count))))
                    pages.append(file)
                    file.write(rendered.html)
                    try file.finish()
                    attention += rendered.attention.prefix(pageSize - attention.count).map { ($0, rendering.name) }
                } else {
                    sections += rendered.html
                }
            }
            try snapshot.requests(receivedFrom: from, to: to, pageSize: pageSize) { requests in
                let ids = requests.map(\.id)
                let actions = try snapshot.undecodedActions(of: ids)
                let citations = try snapshot.finalTargetEvents(requestIds: ids)
                let changes = try snapshot.changeEvents(requestIds: ids)
                let number = (rendering == nil ? pages.count : pages.count + 1) + 1
                let name = base + String(format: "-requests-%04d.html", number)
                let page = paged ? ReportRendering.htmlPageStart(title: "\(title) — requests \(summary.requests + 1) to \(summary.requests + requests.count)")
                    + "<nav><a href=\"\(ReportRendering.escape(base)).html\">Summary</a></nav>\n" + heading
                    + "<h2>Requests \(summary.requests + 1) to \(summary.requests + requests.count) of \(count)</h2>\n" : nil
                for request in requests { summary.add(request) }
                let work = ThreadWork { [builder] in
                    RenderedPage(requests, builder: builder, actions: try actions.decoded(), citations: citations, changes: changes, page: page)
                }
                try write(rendering)
                rendering = (work, name)
            }
            try write(rendering)
            json.write("],")
            let retention = try snapshot.followUps(completedFrom: from, to: to)
            let retentionCitations = try snapshot.finalTargetEvents(requestIds: retention.map(\.requestId).uniqued())
            let summaryJSON = summary.json
            members.merge(builder.periodTrailer(retentionErasures: retention, retentionCitations: retentionCitations, summary: summaryJSON)) { a, _ in a }
            json.write(members.keys.sorted(by: CanonicalJSON.precedes).map { CanonicalJSON.member($0, members[$0]!) }.joined(separator: ",") + "}")

            var body = heading + ReportRendering.htmlSummary(summaryJSON)
            if paged {
                body += ReportRendering.htmlAttention(attention, total: summary.attention, limit: pageSize)
                body += "<h2>All requests, \(pageSize) to a page</h2>\n<ol>\n"
                for (index, file) in pages.enumerated() {
                    let first = index * pageSize + 1, last = min(count, first + pageSize - 1)
                    body += "<li><a href=\"\(ReportRendering.escape(file.name))\">requests \(first) to \(last)</a></li>\n"
                }
                body += "</ol>\n"
            } else {
                body += "<h2>Requests</h2>\n" + sections
            }
            body += ReportRendering.htmlRetentionErasures(members["retention_erasures"]?.arrayValue ?? [])
            body += ReportRendering.htmlHowToVerify(jsonFileName: base + ".json")
            html.write(ReportRendering.htmlPage(title: title, body: body))
            let walked = try walk.join()
            if let problem = walked.problem { throw ReportError("the audit log is broken (\(problem)); no report is signed over a broken log") }
            guard walked == chain else {
                throw ReportError("the audit log's first \(chain.events) events changed while the report was written; export it again")
            }
            return (chain, count)
        }
        try json.finish()
        // The file is signed mapped and whole (Ed25519 hashes the message twice): its pages count
        // as resident while they are read, so first give back what building the rows freed on
        // the other thread (its heap keeps freed memory otherwise: 12 MiB at 100,000 requests).
        Heap.trim()
        let signature = try signer.sign(try Data(contentsOf: URL(fileURLWithPath: json.stagingPath), options: .alwaysMapped))
        try state.archivePublicKey()
        try signature.write(to: URL(fileURLWithPath: path(".json.sig")), options: .atomic)
        try json.commit()
        try csv.finish()
        try csv.commit()
        try html.finish()
        try html.commit()
        for page in pages { try page.commit() }
        // The chain the report was built on: an export appends no event, so it is still the head.
        try state.appendCheckpoint(database: database, chain: chain)
        return WrittenReport(json: path(".json"), signature: path(".json.sig"), csv: path(".csv"), html: path(".html"),
                             htmlPages: pages.map(\.path), requests: count)
    }

    /// Writes `lethe-certificate-ID.{json,json.sig,html}` into `directory`.
    public func exportCertificate(_ request: StoredRequest, into directory: String, now: Date = Date()) throws -> WrittenReport {
        let reportBuilder = try builder(now: now, chain: try database.verifyAuditChain())
        let report = reportBuilder.certificate(request, actions: try database.actions(of: request.id),
                                         events: try database.auditEvents(request: request.id))
        let base = "lethe-certificate-\(request.id)"
        if let unchanged = Self.existing(report, base: base, in: directory) { return unchanged }
        return try write(report, chain: reportBuilder.chain, base: base, into: directory)
    }

    /// The certificate already written for the same statement, if there is one: asking again
    /// when nothing about the request changed writes no file and signs nothing new. Only when
    /// and over which log head it was made differ (`generated_at`, `audit_chain`); the key,
    /// the rows, the events and the statement (which says "overdue" once it is) must be equal.
    static func existing(_ report: JSONValue, base: String, in directory: String) -> WrittenReport? {
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent(base + suffix) }
        let files = [".json", ".json.sig", ".html"].map(path)
        guard files.allSatisfy(FileManager.default.fileExists(atPath:)),
              let data = FileManager.default.contents(atPath: path(".json")),
              case .object(var old) = try? JSONValue.parsing(data), case .object(var new) = report else { return nil }
        for key in ["generated_at", "audit_chain"] {
            old[key] = nil
            new[key] = nil
        }
        guard old == new else { return nil }
        return WrittenReport(json: files[0], signature: files[1], csv: nil, html: files[2], requests: 1)
    }

    private func write(_ report: JSONValue, chain: ChainVerification, base: String, into directory: String) throws -> WrittenReport {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bytes = CanonicalJSON.encode(report)
        let signature = try state.signer().sign(bytes)
        try state.archivePublicKey()
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent(base + suffix) }
        try bytes.write(to: URL(fileURLWithPath: path(".json")), options: .atomic)
        try signature.write(to: URL(fileURLWithPath: path(".json.sig")), options: .atomic)
        try ReportRendering.html(report, jsonFileName: base + ".json").write(toFile: path(".html"), atomically: true, encoding: .utf8)
        // The chain the report was built on: an export appends no event, so it is still the head.
        try state.appendCheckpoint(database: database, chain: chain)
        return WrittenReport(json: path(".json"), signature: path(".json.sig"), csv: nil, html: path(".html"), requests: 1)
    }
}

/// One page of a period report's requests, built and encoded: its JSON rows (comma-separated),
/// CSV lines, and HTML (a whole page when the report is paged, else the page's sections).
struct RenderedPage: Sendable {
    var json: [UInt8] = []
    var csv = ""
    var html = ""
    /// Rows that need attention, in order (at most one page's worth).
    var attention: [JSONValue] = []

    /// - Parameter page: the start of the page's HTML when the report is paged, else nil.
    init(_ requests: [StoredRequest], builder: ReportBuilder, actions: [String: [StoredAction]], citations: [String: [String: AuditEvent]],
         changes: [String: [AuditEvent]], page: String?) {
        // Each row is written straight into its three forms (`RequestRowWriter`); a row's tree is
        // built only when it needs attention, for the summary page's list.
        var writer = RequestRowWriter(builder: builder)
        writer.json.reserveCapacity(requests.count * 3000)
        writer.html = page ?? ""
        for request in requests {
            let actions = actions[request.id] ?? [], citations = citations[request.id] ?? [:], changes = changes[request.id] ?? []
            let needsAttention = writer.append(request, actions: actions, citations: citations, changes: changes)
            if page != nil, needsAttention {
                attention.append(builder.requestRow(request, actions: actions, citations: citations, changes: changes))
            }
        }
        json = writer.json
        csv = writer.csv
        html = writer.html
        if page != nil { html += ReportRendering.htmlPageEnd }
    }
}

/// A file written through a staging file next to it and renamed into place when complete, so
/// a reader never sees half a report, and an export that fails leaves nothing behind.
final class StagedFile {
    let path: String
    let stagingPath: String
    private var handle: FileHandle?
    private var buffer = Data()
    private var committed = false

    var name: String { (path as NSString).lastPathComponent }

    init(_ path: String) throws {
        self.path = path
        stagingPath = (path as NSString).deletingLastPathComponent + "/." + (path as NSString).lastPathComponent + ".partial"
        guard FileManager.default.createFile(atPath: stagingPath, contents: nil), let handle = FileHandle(forWritingAtPath: stagingPath) else {
            throw ReportError("cannot write \(path)")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    /// The first write that failed (a full disk): nothing more is buffered, `finish` throws it.
    private var failure: (any Error)?

    /// Appends `text`; written out a megabyte at a time. A write error surfaces at `finish`.
    func write(_ text: String) {
        guard failure == nil else { return }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flushKeepingFailure() }
    }

    func write(bytes: [UInt8]) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flushKeepingFailure() }
    }

    private func flushKeepingFailure() {
        do {
            try flush()
        } catch {
            failure = error
            buffer = Data()
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty, let handle else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is left and closes the staging file.
    func finish() throws {
        guard let handle else { return }
        if let failure { throw ReportError("cannot write \(path): \(failure)") }
        try flush()
        try handle.close()
        self.handle = nil
    }

    /// Moves the finished file into place.
    func commit() throws {
        if handle != nil { try finish() }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: stagingPath, toPath: path)
        committed = true
    }

    /// Removes the staging file unless it was committed.
    func discard() {
        try? handle?.close()
        handle = nil
        if !committed { try? FileManager.default.removeItem(atPath: stagingPath) }
    }
}

/// Returns freed heap memory to the system (glibc's `malloc_trim`, which Swift's Glibc module
/// does not declare); nothing elsewhere.
enum Heap {
    static func trim() {
        #if os(Linux)
        _ = mallocTrim(0)
        #endif
    }
}

#if os(Linux)
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
#endif
