import Foundation
import LetheCore
import LetheStorage

/// Pass 1 of a consent sweep, as a pure reducer: every row of the ledger in, the latest state
/// per (subject, purpose) out. No I/O; `ConsentSweep.run` feeds it.
struct SweepPassOne {
    /// A compact (subject, purpose) key: two independent hashes, so a million rows fit in memory.
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

    /// The newest row seen for a (subject, purpose).
    struct Latest: Equatable {
        var changedAt: Double
        var line: Int32
        var withdrawn: Bool
        var withdrawnBefore: Bool
    }

    let now: Double
    private(set) var latest: [Key: Latest] = [:]
    private(set) var rows = 0
    private(set) var invalidRows = 0
    /// The first 100 problems.
    private(set) var problems: [LedgerProblem] = []
    private(set) var invalidLines = Set<Int>()
    private var subjects = Set<Int>()

    init(now: Double) { self.now = now }

    var subjectCount: Int { subjects.count }

    /// Latest states that grant consent again after a withdrawal in the same ledger.
    var regrants: Int { latest.values.filter { !$0.withdrawn && $0.withdrawnBefore }.count }

    /// A valid row.
    mutating func add(_ row: LedgerRow) {
        rows += 1
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

    /// A malformed row.
    mutating func reject(_ problem: LedgerProblem) {
        invalidRows += 1
        invalidLines.insert(problem.line)
        if problems.count < 100 { problems.append(problem) }
    }

    /// The lines pass 2 must read: latest withdrawals, and latest grants when an earlier sweep
    /// filed something (a grant may then undo it).
    func neededLines(history: SweepHistory) -> Set<Int32> {
        var needed = Set<Int32>(minimumCapacity: latest.count / 2)
        for state in latest.values where state.withdrawn || (!history.pairs.isEmpty && !state.withdrawnBefore) {
            needed.insert(state.line)
        }
        return needed
    }

    /// Lowercases ASCII quickly, and anything else the slow, correct way.
    static func lowercased(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 && !($0 >= 65 && $0 <= 90) }) { return text }
        return text.lowercased()
    }
}

/// The decision of a consent sweep, pure: from the rows pass 2 picked, per subject, the one
/// withdrawal to file (purposes no policy shares under consent are counted, withdrawals an
/// earlier sweep filed are skipped).
struct SweepDecision {
    /// A subject with withdrawn purposes.
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

    let policies: PolicySet
    let pseudonymizer: Pseudonymizer
    let history: SweepHistory
    /// The purposes some policy shares under consent (computed once, not per subject).
    let consentPurposes: Set<String>
    /// The sweep's time (seconds since 1970): what has expired by now is withdrawn.
    let now: Double
    var today: CalendarDate { CalendarDate(secondsSince1970: now) }
    /// New request ids.
    var newId: @Sendable () -> String = Intake.randomId
    /// Who files the withdrawals (the audit log's `by`, and the principals four eyes compare).
    var filer = Principal.person("consent sweep")
    private var candidates: [String: Candidate] = [:]
    /// Plans depend only on the purposes, which identifiers are known and the day received.
    private var plans: [PlanKey: [PlannedAction]] = [:]

    struct PlanKey: Hashable {
        var purposes: [String]
        var externalId: Bool
        var userName: Bool
        var received: CalendarDate
    }

    init(policies: PolicySet, pseudonymizer: Pseudonymizer, history: SweepHistory, now: Double) {
        self.policies = policies
        self.pseudonymizer = pseudonymizer
        self.history = history
        self.now = now
        consentPurposes = policies.consentPurposes
    }

    /// A latest row from pass 2: a withdrawal joins its subject's candidate; a grant of a purpose
    /// an earlier sweep withdrew is counted as consent given again.
    mutating func consider(_ row: LedgerRow, summary: inout ConsentSweep.Summary) {
        let email = SweepPassOne.lowercased(row.email)
        if row.isWithdrawn(at: now) {
            candidates[email, default: Candidate(row)].add(row)
        } else if let pseudonym = pseudonymizer.pseudonym(for: SubjectIdentifiers(email: row.email)),
                  history.pairs.contains(SweepHistory.pairKey(pseudonym, row.purpose)) {
            summary.regrants += 1
        }
    }

    /// Subjects with withdrawals, in a stable order.
    var subjects: [String] { candidates.keys.sorted() }

    /// The withdrawal to file for one subject, or nil when nothing is left to file.
    mutating func filing(for email: String, summary: inout ConsentSweep.Summary) throws -> SweepFiling? {
        guard let candidate = candidates.removeValue(forKey: email) else { return nil }
        let subject = SubjectIdentifiers(email: candidate.email, externalId: candidate.externalId, userName: candidate.userName)
        guard let pseudonym = pseudonymizer.pseudonym(for: subject) else { return nil }
        let consent = consentPurposes
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
        guard let newest = entries.map(\.changedAt).max() else { return nil }
        let received = min(today, CalendarDate(secondsSince1970: newest))
        let kind = RequestKind.revocation(purposes: entries.map(\.purpose))
        let planKey = PlanKey(purposes: entries.map(\.purpose), externalId: subject.externalId != nil, userName: subject.userName != nil,
                              received: received)
        let plan: [PlannedAction]
        if let cached = plans[planKey] {
            plan = cached
        } else {
            plan = try Planner(policies: policies).plan(PlanningRequest(kind: kind, subject: subject, received: received, today: today))
            plans[planKey] = plan
        }
        var request = NewRequest(id: newId(), kind: kind, ref: nil, pseudonym: pseudonym, identifiers: subject,
                                 requestedBy: filer.name, received: received, plan: plan)
        request.filers = filer.identities
        // `approval: all` holds withdrawals too; the approver must not be "consent sweep".
        request.apply(policies.settings)
        if request.needsApproval { summary.awaitingApproval += 1 }
        summary.revocationsFiled += 1
        summary.purposesFiled += entries.count
        if summary.sample.count < 20 { summary.sample.append(ConsentSweep.Planned(subject: pseudonym, purposes: entries.map(\.purpose), lines: lines)) }
        return SweepFiling(request: request, entries: entries)
    }
}
