import Foundation
@testable import LetheApp
import LetheCore
import LetheStorage
import LetheStore
import LetheTesting
import Testing

@Suite("Consent sweeps")
final class ConsentSweepTests {
    let database: AppDatabase
    let policies: PolicySet
    let sweep: ConsentSweep
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sweep-\(UUID().uuidString)")
    let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01

    init() throws {
        database = try AppDatabase.inMemory()
        let root = Repository.root
        policies = try PolicyDirectory.load(root.appendingPathComponent("policies").path, environment: [:]).get()
        sweep = ConsentSweep(database: database, policies: policies, pseudonymizer: Pseudonymizer(key: Data(repeating: 5, count: 32)))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: scratch) }

    func ledger(_ rows: [String], name: String = "ledger.csv") throws -> String {
        let path = scratch.appendingPathComponent(name).path
        try (["subject_email,purpose,status,changed_at,expires_at"] + rows).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ path: String, dryRun: Bool = false, skipInvalid: Bool = false, format: LedgerFormat = .csv) throws -> ConsentSweep.Summary {
        try sweep.run(ledger: path, options: ConsentSweep.Options(format: format, dryRun: dryRun, skipInvalid: skipInvalid, now: now))
    }

    @Test("one request per subject with all its withdrawn purposes; the same ledger twice files nothing; a superset files only what is new")
    func idempotent() throws {
        let first = try ledger([
            "ana@example.com,marketing,granted,2026-10-01,",
            "ana@example.com,marketing,revoked,2026-11-01,",
            "ana@example.com,newsletter,revoked,2026-11-02,",
            "bo@example.com,marketing,granted,2026-11-01,",
        ])
        let one = try run(first)
        #expect(one.rows == 4 && one.subjects == 2)
        #expect(one.revocationsFiled == 1 && one.purposesFiled == 2)
        let request = try #require(try database.request(one.requestIds[0]))
        #expect(request.purposes == ["marketing", "newsletter"] && request.kind == "revocation")
        #expect(request.received.description == "2026-11-02")

        let again = try run(first)
        #expect(again.revocationsFiled == 0 && again.alreadyFiled == 2)
        #expect(try database.requests().count == 1)

        let superset = try ledger([
            "ana@example.com,marketing,granted,2026-10-01,",
            "ana@example.com,marketing,revoked,2026-11-01,",
            "ana@example.com,newsletter,revoked,2026-11-02,",
            "bo@example.com,marketing,granted,2026-11-01,",
            "bo@example.com,marketing,revoked,2026-11-20,",
            "cy@example.com,newsletter,expired,2026-11-21,",
        ], name: "later.csv")
        let later = try run(superset)
        #expect(later.revocationsFiled == 2 && later.alreadyFiled == 2)
        #expect(try database.requests().count == 3)
    }

    @Test("request ids sort in filing order (the second first), and ids filed in the same second differ")
    func requestIds() throws {
        let id = Intake.randomId(at: 1_796_083_200.7)
        #expect(id.hasPrefix("req-6b0e0e00") && id.count == 24, "\(id)")
        #expect(id.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(Intake.randomId(at: 1_796_083_199) < Intake.randomId(at: 1_796_083_200))
        #expect(Intake.randomId(at: 0).hasPrefix("req-00000000"))
        let sameSecond = (0..<10_000).map { _ in Intake.randomId(at: 1_796_083_200) }
        #expect(Set(sameSecond).count == sameSecond.count)
        // Filed ids come from the clock: a sweep's requests sort after earlier ones.
        let filed = try run(try ledger(["ana@example.com,marketing,revoked,2026-11-01,", "bo@example.com,marketing,revoked,2026-11-01,"]))
        let now = UInt64(Date().timeIntervalSince1970)
        for id in filed.requestIds {
            let seconds = try #require(UInt64(id.dropFirst(4).prefix(8), radix: 16))
            #expect(seconds <= now && now - seconds < 600, "\(id)")
        }
    }

    @Test("a granted consent past its expires_at counts as expired")
    func expiry() throws {
        let summary = try run(try ledger([
            "ana@example.com,newsletter,granted,2026-01-01,2026-11-15",
            "bo@example.com,newsletter,granted,2026-01-01,2027-06-01",
        ]))
        #expect(summary.revocationsFiled == 1)
        #expect(try database.requests().first?.purposes == ["newsletter"])
    }

    @Test("consent granted again is reported, not acted on — in the ledger, or after a filed withdrawal")
    func regrant() throws {
        let inLedger = try run(try ledger([
            "ana@example.com,marketing,revoked,2026-11-01,",
            "ana@example.com,marketing,granted,2026-11-10,",
        ]))
        #expect(inLedger.revocationsFiled == 0 && inLedger.regrants == 1)

        _ = try run(try ledger(["bo@example.com,marketing,revoked,2026-11-01,"], name: "a.csv"))
        let after = try run(try ledger(["bo@example.com,marketing,granted,2026-11-15,"], name: "b.csv"))
        #expect(after.regrants == 1 && after.revocationsFiled == 0)
        #expect(try database.requests().count == 1)
    }

    @Test("purposes no policy shares under consent are counted, not filed")
    func ignoredPurposes() throws {
        let summary = try run(try ledger([
            "ana@example.com,loyalty,revoked,2026-11-01,",
            "ana@example.com,account,revoked,2026-11-01,",
            "bo@example.com,analytics,revoked,2026-11-01,",
        ]))
        #expect(summary.revocationsFiled == 0)
        #expect(summary.ignoredPurposes == ["loyalty": 1, "account": 1, "analytics": 1])
        #expect(try database.requests().isEmpty)
    }

    @Test("malformed rows: nothing is filed and every bad line is named; --skip-invalid files the rest")
    func invalidRows() throws {
        let path = try ledger([
            "ana@example.com,marketing,revoked,2026-11-01,",
            "not-an-email,marketing,revoked,2026-11-01,",
            "bo@example.com,marketing,maybe,2026-11-01,",
            "cy@example.com,marketing,revoked,yesterday,",
            "dee@example.com,,revoked,2026-11-01,",
        ])
        do {
            _ = try run(path)
            Issue.record("accepted")
        } catch let failure as ConsentSweep.Failure {
            let text = failure.description
            #expect(text.contains("line 3, field subject_email"))
            #expect(text.contains("line 4, field status"))
            #expect(text.contains("line 5, field changed_at"))
            #expect(text.contains("line 6, field purpose"))
            #expect(text.contains("4 invalid rows of 5; nothing was filed"))
        }
        #expect(try database.requests().isEmpty)

        let skipped = try run(path, skipInvalid: true)
        #expect(skipped.revocationsFiled == 1 && skipped.skippedLines == [3, 4, 5, 6])
    }

    @Test("--dry-run counts what would be filed and changes nothing")
    func dryRun() throws {
        let path = try ledger(["ana@example.com,marketing,revoked,2026-11-01,", "bo@example.com,newsletter,revoked,2026-11-01,"])
        let summary = try run(path, dryRun: true)
        #expect(summary.revocationsFiled == 2 && summary.requestIds.isEmpty && summary.sample.count == 2)
        #expect(summary.sample.allSatisfy { $0.subject.hasPrefix("psn_") })
        #expect(try database.requests().isEmpty)
        #expect(try database.verifyAuditChain().events == 0)
        #expect(try run(path).revocationsFiled == 2)
    }

    @Test("JSON Lines ledgers work the same")
    func jsonLines() throws {
        let path = scratch.appendingPathComponent("ledger.jsonl").path
        try """
            {"subject_email":"ana@example.com","purpose":"marketing","status":"revoked","changed_at":"2026-11-01T09:00:00Z","external_id":"C-7"}
            {"subject_email":"ana@example.com","purpose":"newsletter","status":"granted","changed_at":"2026-11-01T09:00:00Z"}

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let summary = try run(path, format: .jsonl)
        #expect(summary.rows == 2 && summary.revocationsFiled == 1)
        let request = try #require(try database.request(summary.requestIds[0]))
        #expect(request.identifiers?.externalId == "C-7")
    }

    @Test("pass 1 as a pure reducer: the newest row wins per subject and purpose, e-mail case folded in ASCII, grants after withdrawals counted")
    func passOneReducer() throws {
        func row(_ email: String, _ purpose: String, _ status: LedgerRow.Status, _ at: Double, line: Int) -> LedgerRow {
            LedgerRow(email: email, purpose: purpose, status: status, changedAt: at, externalId: nil, userName: nil, expiresAt: nil, line: line)
        }
        var pass = SweepPassOne(now: 1_000)
        pass.add(row("Ana@Example.com", "marketing", .revoked, 10, line: 2))
        pass.add(row("ana@example.com", "marketing", .granted, 20, line: 3))   // granted again, later
        pass.add(row("ana@example.com", "newsletter", .revoked, 30, line: 4))
        pass.add(row("bo@example.com", "newsletter", .revoked, 5, line: 5))
        pass.add(row("bo@example.com", "newsletter", .granted, 1, line: 6))    // older: does not win
        pass.reject(LedgerProblem(line: 7, field: "status", message: "bad"))
        pass.add(row("cy@example.com", "loyalty", .granted, 40, line: 8))
        #expect(pass.rows == 6 && pass.invalidRows == 1 && pass.invalidLines == [7])
        #expect(pass.subjectCount == 3)
        #expect(pass.regrants == 1, "ana re-granted marketing")
        let needed = pass.neededLines(history: SweepHistory(entries: [], pairs: []))
        #expect(needed == [4, 5], "only the latest withdrawals are read again")
        // With history, latest grants are read too (they may grant again what an earlier sweep
        // withdrew); a grant after a withdrawal in this ledger is already counted.
        #expect(pass.neededLines(history: SweepHistory(entries: [], pairs: ["x|y"])) == [4, 5, 8])
    }

    func raw(_ bytes: [UInt8], name: String = "raw.csv") throws -> String {
        let path = scratch.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("ledgers as exports really come: a UTF-8 BOM, CRLF and lone CR line ends, and quoted line breaks (RFC 4180)")
    func exportShapes() throws {
        let text = "\u{FEFF}subject_email,purpose,status,changed_at,note\r\nana@example.com,marketing,revoked,2026-11-01,\"two\nlines\"\rbo@example.com,Newsletter,revoked,2026-11-02,x\r\n"
        let summary = try run(try raw(Array(text.utf8)), dryRun: true)
        #expect(summary.rows == 2 && summary.invalidRows == 0, "\(summary.skippedLines)")
        #expect(summary.revocationsFiled == 2, "Newsletter is the newsletter purpose, in ASCII case")
        #expect(summary.ignoredColumns == ["note"])
    }

    @Test("an unknown purpose, invalid UTF-8 and an over-long line are errors naming their line, found at once; an empty ledger says so")
    func hostileLedgers() throws {
        let unknown = try ledger(["ana@example.com,marketting,revoked,2026-11-01,"])
        do { _ = try run(unknown); Issue.record("an unknown purpose was dropped with success") } catch let failure as ConsentSweep.Failure {
            #expect("\(failure)".contains("line 2") && "\(failure)".contains("unknown purpose 'marketting'; did you mean 'marketing'?"), "\(failure)")
        }
        var bytes = Array("subject_email,purpose,status,changed_at\nana@example.com,marketing,revoked,2026-11-01\n".utf8)
        bytes += [0x62, 0x6F, 0xFF, 0x40, 0x78, 0x2E, 0x6F, 0x72, 0x67] + Array(",marketing,revoked,2026-11-01\n".utf8)
        bytes += Array(repeating: UInt8(ascii: "a"), count: LedgerLines.maxRecordBytes + 10) + [0x0A]
        bytes += Array("cy@example.com,marketing,revoked,2026-11-01\n".utf8)
        do { _ = try run(try raw(bytes)); Issue.record("accepted") } catch let failure as ConsentSweep.Failure {
            let text = "\(failure)"
            #expect(text.contains("line 3") && text.contains("not valid UTF-8"), "\(text)")
            #expect(text.contains("line 4") && text.contains("longer than"), "\(text)")
        }
        let skipped = try run(try raw(bytes), dryRun: true, skipInvalid: true)
        #expect(skipped.rows == 2 && skipped.skippedLines == [3, 4], "the rest of the ledger is still read: \(skipped.skippedLines)")
        do { _ = try run(try raw([])); Issue.record("an empty ledger passed") } catch let failure as ConsentSweep.Failure {
            #expect("\(failure)".contains("the ledger is empty"))
        }
    }
}
