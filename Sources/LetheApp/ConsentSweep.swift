import Foundation
import LetheCore
import LetheStore

/// Turns a consent ledger into withdrawals, idempotently: one request per subject with all
/// its withdrawn purposes, never the same (subject, purpose, changed_at) twice.
///
/// The ledger is read twice, streaming: the first pass keeps only a compact latest state per
/// (subject, purpose); the second picks up the identifiers of the subjects that need a request.
public struct ConsentSweep: Sendable {
    public let database: AppDatabase
    public let policies: PolicySet
    public let pseudonymizer: Pseudonymizer

    public init(database: AppDatabase, policies: PolicySet, pseudonymizer: Pseudonymizer) {
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
        /// Called now and then with the rows read so far (for a progress line).
        public var progress: (@Sendable (Int) -> Void)?

        public init(format: LedgerFormat, dryRun: Bool = false, skipInvalid: Bool = false, now: Date = Date(), batchSize: Int = 500,
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
            case durationMs = "duration_ms"
        }
    }

    /// Why a sweep filed nothing.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreadable(String)
        /// Malformed rows (all of them, up to a limit) and how many rows were read.
        case invalid([LedgerProblem], total: Int, rows: Int)

        public var description: String {
            switch self {
            case .unreadable(let why): why
            case .invalid(let problems, let total, let rows):
                problems.map { "  \($0)" }.joined(separator: "\n")
                    + (total > problems.count ? "\n  ... and \(total - problems.count) more" : "")
                    + "\n\(total) invalid row\(total == 1 ? "" : "s") of \(rows); nothing was filed."
            }
        }
    }

    struct Key: Hashable {
        var a: Int
        var b: Int

        init(_ email: String, _ purpose: String) {
            var h1 = Hasher(), h2 = Hasher()
            h1.combine(1 as UInt8); h1.combine(email); h1.combine(purpose)
            h2.combine(2 as UInt8); h2.combine(purpose); h2.combine(email)
            a = h1.finalize()
            b = h2.finalize()
        }
    }

    /// A subject with withdrawn purposes, from the second pass.
    struct Candidate {
        var email: String
        var externalId: String?
        var userName: String?
        var newest: Double
        var purposes: [(purpose: String, changedAt: Double, line: Int)] = []

        init(_ row: LedgerRow) {
            email = row.email
            externalId = row.externalId
            userName = row.userName
            newest = row.changedAt
        }

        mutating func add(_ row: LedgerRow) {
            purposes.append((row.purpose, row.changedAt, row.line))
            // The newest row carries the identifiers to use.
            if row.changedAt >= newest {
                newest = row.changedAt
                email = row.email
                externalId = row.externalId ?? externalId
                userName = row.userName ?? userName
            }
        }
    }

    struct Latest {
        var changedAt: Double
        var line: Int32
        var withdrawn: Bool
        var withdrawnBefore: Bool
    }

    /// Lowercases ASCII quickly, and anything else the slow, correct way.
    static func lowercased(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 && !($0 >= 65 && $0 <= 90) }) { return text }
        return text.lowercased()
    }

    public func run(ledger path: String, options: Options) throws -> Summary {
        let started = Date()
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Failure.unreadable("cannot read the ledger \(path)")
        }
        let now = options.now.timeIntervalSince1970
        var summary = Summary(dryRun: options.dryRun)
        var parser = LedgerParser(format: options.format, now: now)
        var latest: [Key: Latest] = [:]
        var subjects = Set<Int>()
        var problems: [LedgerProblem] = []
        var invalidLines = Set<Int>()

        // Pass 1: validate every row; keep the latest state per (subject, purpose).
        for (number, text) in LedgerLines(path: path) {
            if !parser.headerRead {
                do { try parser.readHeader(text) } catch {
                    throw Failure.invalid([error], total: 1, rows: 0)
                }
                continue
            }
            let row: LedgerRow?
            do { row = try parser.row(text, line: number) } catch {
                summary.invalidRows += 1
                invalidLines.insert(number)
                if problems.count < 100 { problems.append(error) }
                continue
            }
            guard let row else { continue }
            summary.rows += 1
            if summary.rows % 100_000 == 0 { options.progress?(summary.rows) }
            let email = Self.lowercased(row.email)
            subjects.insert(email.hashValue)
            let key = Key(email, row.purpose)
            let withdrawn = row.isWithdrawn(at: now)
            if let previous = latest[key] {
                if row.changedAt >= previous.changedAt {
                    latest[key] = Latest(changedAt: row.changedAt, line: Int32(row.line), withdrawn: withdrawn,
                                         withdrawnBefore: previous.withdrawnBefore || previous.withdrawn)
                } else if withdrawn {
                    latest[key]?.withdrawnBefore = true
                }
            } else {
                latest[key] = Latest(changedAt: row.changedAt, line: Int32(row.line), withdrawn: withdrawn, withdrawnBefore: false)
            }
        }
        summary.ignoredColumns = parser.ignoredColumns
        summary.subjects = subjects.count
        subjects = []
        if summary.invalidRows > 0 {
            summary.skippedLines = invalidLines.sorted()
            if !options.skipInvalid {
                throw Failure.invalid(problems, total: summary.invalidRows, rows: summary.rows + summary.invalidRows)
            }
        }
        summary.regrants = latest.values.filter { !$0.withdrawn && $0.withdrawnBefore }.count

        // Pass 2 reads only the lines that matter: latest rows that withdraw consent, and (to
        // notice consent granted again after an earlier sweep) latest grants.
        let history = try database.sweepHistory()
        var needed = Set<Int32>(minimumCapacity: latest.count / 2)
        for state in latest.values where state.withdrawn || (!history.pairs.isEmpty && !state.withdrawnBefore) {
            needed.insert(state.line)
        }
        latest = [:]
        var candidates: [String: Candidate] = [:]
        parser = LedgerParser(format: options.format, now: now)
        for (number, text) in LedgerLines(path: path) {
            if !parser.headerRead {
                try? parser.readHeader(text)
                continue
            }
            guard needed.contains(Int32(number)), let row = try? parser.row(text, line: number) else { continue }
            let email = Self.lowercased(row.email)
            if row.isWithdrawn(at: now) {
                candidates[email, default: Candidate(row)].add(row)
            } else if let pseudonym = pseudonymizer.pseudonym(for: SubjectIdentifiers(email: row.email)),
                      history.pairs.contains(SweepHistory.pairKey(pseudonym, row.purpose)) {
                summary.regrants += 1
            }
        }
        needed = []

        // Decide, per subject, what to file.
        let consent = policies.consentPurposes
        let planner = Planner(policies: policies)
        // Plans depend only on the purposes, which identifiers are known and the day received.
        var plans: [String: [PlannedAction]] = [:]
        let today = CalendarDate(secondsSince1970: now)
        var batch: [SweepFiling] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            if !options.dryRun {
                summary.requestIds += try database.file(sweep: batch, now: options.now).map(\.request.id)
            }
            batch.removeAll(keepingCapacity: true)
        }
        for email in candidates.keys.sorted() {
            let candidate = candidates.removeValue(forKey: email)!
            let subject = SubjectIdentifiers(email: candidate.email, externalId: candidate.externalId, userName: candidate.userName)
            guard let pseudonym = pseudonymizer.pseudonym(for: subject) else { continue }
            var entries: [(purpose: String, changedAt: Double)] = []
            var lines: [Int] = []
            for (purpose, changedAt, line) in candidate.purposes.sorted(by: { $0.purpose < $1.purpose }) {
                if !consent.contains(purpose) {
                    summary.ignoredPurposes[purpose, default: 0] += 1
                } else if history.entries.contains(SweepHistory.entryKey(pseudonym, purpose, changedAt)) {
                    summary.alreadyFiled += 1
                } else {
                    entries.append((purpose, changedAt))
                    lines.append(line)
                }
            }
            guard !entries.isEmpty else { continue }
            let received = min(today, CalendarDate(secondsSince1970: entries.map(\.changedAt).max()!))
            let kind = RequestKind.revocation(purposes: entries.map(\.purpose))
            let planKey = "\(entries.map(\.purpose))|\(subject.externalId != nil)|\(subject.userName != nil)|\(received)"
            let plan: [PlannedAction]
            if let cached = plans[planKey] {
                plan = cached
            } else {
                plan = try planner.plan(PlanningRequest(kind: kind, subject: subject, received: received))
                plans[planKey] = plan
            }
            let request = NewRequest(id: Intake.randomId(), kind: kind, ref: nil, pseudonym: pseudonym, identifiers: subject,
                                     requestedBy: "consent sweep", received: received, plan: plan)
            summary.revocationsFiled += 1
            summary.purposesFiled += entries.count
            if summary.sample.count < 20 { summary.sample.append(Planned(subject: pseudonym, purposes: entries.map(\.purpose), lines: lines)) }
            batch.append(SweepFiling(request: request, entries: entries))
            if batch.count >= options.batchSize { try flush() }
        }
        try flush()
        summary.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        return summary
    }
}
