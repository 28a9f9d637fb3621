import Foundation
import LetheCore
import LetheStorage

/// Turns a consent ledger into withdrawals, idempotently: one request per subject with all
/// its withdrawn purposes, never the same (subject, purpose, changed_at) twice.
///
/// The ledger is read twice, streaming: the first pass keeps only a compact latest state per
/// (subject, purpose); the second picks up the identifiers of the subjects that need a request.
public struct ConsentSweep: Sendable {
    public let database: any RequestLedger
    public let policies: PolicySet
    public let pseudonymizer: Pseudonymizer

    public init(database: any RequestLedger, policies: PolicySet, pseudonymizer: Pseudonymizer) {
        self.database = database
        self.policies = policies
        self.pseudonymizer = pseudonymizer
    }

    public struct Options: Sendable {
        public var format: LedgerFormat
        public var dryRun: Bool
        public var skipInvalid: Bool
        public var now: Date
        public var batchSize: Int
        /// Who files the withdrawals: the name shown in the request and the audit log, and the
        /// principals the four-eyes check compares (the uploader's token behind "consent sweep by alice").
        public var filer = Principal.person("consent sweep")
        /// Called now and then with the rows read so far (for a progress line).
        public var progress: (@Sendable (Int) -> Void)?

        public init(format: LedgerFormat, dryRun: Bool = false, skipInvalid: Bool = false, now: Date = Date(), batchSize: Int = 5000,
                    progress: (@Sendable (Int) -> Void)? = nil) {
            self.format = format
            self.dryRun = dryRun
            self.skipInvalid = skipInvalid
            self.now = now
            self.batchSize = batchSize
            self.progress = progress
        }
    }

    /// A withdrawal to file (or that would be filed).
    public struct Planned: Sendable, Hashable, Encodable {
        public var subject: String
        public var purposes: [String]
        public var lines: [Int]
    }

    /// What a sweep read and did.
    public struct Summary: Sendable, Encodable {
        public var dryRun: Bool
        public var rows = 0
        public var subjects = 0
        /// Requests filed (or that would be).
        public var revocationsFiled = 0
        public var purposesFiled = 0
        /// Withdrawals an earlier sweep already filed.
        public var alreadyFiled = 0
        /// Purpose → withdrawals ignored because no policy shares it under consent.
        public var ignoredPurposes: [String: Int] = [:]
        /// Latest consent granted again after a withdrawal: reported, not acted on.
        public var regrants = 0
        public var invalidRows = 0
        public var skippedLines: [Int] = []
        public var ignoredColumns: [String] = []
        public var requestIds: [String] = []
        /// Of the withdrawals filed (or that a dry run would file), those that wait for approval.
        public var awaitingApproval = 0
        /// The first withdrawals filed or planned (pseudonyms only).
        public var sample: [Planned] = []
        public var durationMs = 0

        enum CodingKeys: String, CodingKey {
            case rows, subjects, regrants, sample
            case dryRun = "dry_run"
            case revocationsFiled = "revocations_filed"
            case purposesFiled = "purposes_filed"
            case alreadyFiled = "already_filed"
            case ignoredPurposes = "ignored_purposes"
            case invalidRows = "invalid_rows"
            case skippedLines = "skipped_lines"
            case ignoredColumns = "ignored_columns"
            case requestIds = "request_ids"
            case awaitingApproval = "awaiting_approval"
            case durationMs = "duration_ms"
        }
    }

    /// Why a sweep filed nothing.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreadable(String)
        /// Not even a header: an export that went wrong, not a ledger with nothing to do.
        case empty
        /// Malformed rows (all of them, up to a limit) and how many rows were read.
        case invalid([LedgerProblem], total: Int, rows: Int)

        public var description: String {
            switch self {
            case .unreadable(let why): why
            case .empty: "the ledger is empty (not even a header row): nothing was read, nothing was filed"
            case .invalid(let problems, let total, let rows):
                problems.map { "  \($0)" }.joined(separator: "\n")
                    + (total > problems.count ? "\n  ... and \(total - problems.count) more" : "")
                    + "\n\(total) invalid row\(total == 1 ? "" : "s") of \(rows); nothing was filed."
            }
        }
    }

    /// Reads the ledger twice and files what the decision says, in transactional batches. The
    /// rules live in `SweepPassOne` and `SweepDecision`, which do no I/O.
    public func run(ledger path: String, options: Options) throws -> Summary {
        let started = Date()
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Failure.unreadable("cannot read the ledger \(path)")
        }
        let now = options.now.timeIntervalSince1970
        var summary = Summary(dryRun: options.dryRun)

        // Pass 1: validate every row; keep the latest state per (subject, purpose).
        var passOne = SweepPassOne(now: now)
        var parser = LedgerParser(format: options.format, now: now, purposes: policies.purposes)
        var records = 0
        for (number, record) in LedgerLines(path: path, csv: options.format == .csv) {
            records += 1
            if !parser.headerRead {
                do { try parser.readHeader(try record.get()) } catch {
                    throw Failure.invalid([error], total: 1, rows: 0)
                }
                continue
            }
            do {
                guard let row = try parser.row(try record.get(), line: number) else { continue }
                passOne.add(row)
                if passOne.rows % 100_000 == 0 { options.progress?(passOne.rows) }
            } catch {
                passOne.reject(error)
            }
        }
        if records == 0 { throw Failure.empty }
        summary.rows = passOne.rows
        summary.invalidRows = passOne.invalidRows
        summary.ignoredColumns = parser.ignoredColumns
        summary.subjects = passOne.subjectCount
        if passOne.invalidRows > 0 {
            summary.skippedLines = passOne.invalidLines.sorted()
            if !options.skipInvalid {
                throw Failure.invalid(passOne.problems, total: passOne.invalidRows, rows: passOne.rows + passOne.invalidRows)
            }
        }
        summary.regrants = passOne.regrants

        // Pass 2 reads only the lines that matter: latest rows that withdraw consent, and (to
        // notice consent granted again after an earlier sweep) latest grants.
        let history = try database.sweepHistory()
        var needed = passOne.neededLines(history: history)
        passOne = SweepPassOne(now: now)
        var decision = SweepDecision(policies: policies, pseudonymizer: pseudonymizer, history: history, now: now)
        decision.filer = options.filer
        parser = LedgerParser(format: options.format, now: now, purposes: policies.purposes)
        for (number, record) in LedgerLines(path: path, csv: options.format == .csv) {
            guard case .success(let text) = record else { continue }
            if !parser.headerRead {
                try? parser.readHeader(text)
                continue
            }
            guard needed.contains(Int32(number)), let row = try? parser.row(text, line: number) else { continue }
            decision.consider(row, summary: &summary)
        }
        needed = []

        // Decide, per subject, what to file; file in batches.
        var batch: [SweepFiling] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            if !options.dryRun {
                summary.requestIds += try database.file(sweep: batch, now: options.now).map(\.request.id)
            }
            batch.removeAll(keepingCapacity: true)
        }
        for email in decision.subjects {
            guard let filing = try decision.filing(for: email, summary: &summary) else { continue }
            batch.append(filing)
            if batch.count >= options.batchSize { try flush() }
        }
        try flush()
        summary.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        return summary
    }
}
