import Foundation
import LetheCore
import Testing

@Suite("Ledger parsing")
struct LedgerParserTests {
    let now = 1_796_083_200.0  // 2026-12-01

    func csv(_ header: String = "subject_email,purpose,status,changed_at,expires_at") throws -> LedgerParser {
        var parser = LedgerParser(format: .csv, now: now)
        try parser.readHeader(header[...])
        return parser
    }

    @Test("CSV rows, quoted fields and columns in any order")
    func csvRows() throws {
        let parser = try csv("status,changed_at,purpose,subject_email,external_id,extra")
        let row = try #require(try parser.row("revoked,2026-11-03,\"marketing\",\"ana@example.com\",\"C-1, \"\"quoted\"\"\"", line: 2))
        #expect(row.email == "ana@example.com" && row.purpose == "marketing" && row.status == .revoked)
        #expect(row.externalId == "C-1, \"quoted\"")
        #expect(row.changedAt == CalendarDate(iso: "2026-11-03")!.secondsSince1970AtMidnightUTC)
        #expect(parser.ignoredColumns == ["extra"])
        #expect(try parser.row("   ", line: 3) == nil)
    }

    @Test("plain fields are trimmed slices; statuses and purposes in any ASCII case; unknown purposes suggested")
    func slicedFields() throws {
        var parser = LedgerParser(format: .csv, now: now, purposes: PurposeCatalog.builtIn)
        try parser.readHeader("subject_email , PURPOSE,status,changed_at,user_name")
        let row = try #require(try parser.row(" ana@example.com\t,Marketing, REVOKED ,2026-11-03T10:00:00+01:00,\r", line: 2))
        #expect(row.email == "ana@example.com" && row.purpose == "marketing" && row.status == .revoked)
        #expect(row.changedAt == CalendarDate(iso: "2026-11-03")!.secondsSince1970AtMidnightUTC + 9 * 3600)
        #expect(row.userName == nil, "a blank field is no value")
        let short = try #require(try parser.row("b@example.com,newsletter,granted,2026-11-01", line: 3))
        #expect(short.userName == nil && short.status == .granted, "a missing optional column at the end")
        #expect(try parser.row("c@example.com,loyalty,Expired,2026-11-01,  C 3  ", line: 4)?.userName == "C 3")
        // As `lowercased()` reads it, the Kelvin sign is a k.
        #expect(try parser.row("d@example.com,loyalty,revo\u{212A}ed,2026-11-01,", line: 5)?.status == .revoked)
        do {
            _ = try parser.row("e@example.com,marketting,revoked,2026-11-01,", line: 6)
            Issue.record("an unknown purpose was accepted")
        } catch {
            #expect(error.field == "purpose" && error.message.contains("did you mean 'marketing'?"), "\(error)")
        }
        #expect(throws: LedgerProblem.self) { try parser.row("f@example.com,marketing,re voked,2026-11-01,", line: 7) }
        #expect(try parser.row(" \t \r", line: 8) == nil)
    }

    @Test("JSON Lines rows")
    func jsonl() throws {
        let parser = LedgerParser(format: .jsonl, now: now)
        let row = try #require(try parser.row(#"{"subject_email":"a@x.org","purpose":"newsletter","status":"granted","changed_at":"2026-11-01T10:00:00Z","expires_at":"2026-11-20"}"#, line: 7))
        #expect(row.status == .granted && row.line == 7)
        #expect(row.isWithdrawn(at: now), "granted, but past expires_at")
    }

    @Test("times with zones and fractions", arguments: [
        ("2026-11-01", 0.0), ("2026-11-01T00:00:00Z", 0.0), ("2026-11-01T01:30:00+01:30", 0.0), ("2026-11-01T00:00Z", 0.0),
        ("2026-10-31T23:00:00-01:00", 0.0), ("2026-11-01T00:00:00.250Z", 0.25),
    ])
    func moments(text: String, offset: Double) {
        #expect(LedgerParser.moment(text) == CalendarDate(iso: "2026-11-01")!.secondsSince1970AtMidnightUTC + offset)
    }

    @Test("every kind of malformed row names its line and field", arguments: [
        (",marketing,revoked,2026-11-01,", "subject_email", "is missing"),
        ("ana@example.com,,revoked,2026-11-01,", "purpose", "is missing"),
        ("ana@example.com,marketing,,2026-11-01,", "status", "is missing"),
        ("ana@example.com,marketing,revoked,,", "changed_at", "is missing"),
        ("ana@example.com,marketing,withdrawn,2026-11-01,", "status", "is not granted, revoked or expired"),
        ("ana@example.com,marketing,revoked,01/11/2026,", "changed_at", "is not a date"),
        ("ana@example.com,marketing,revoked,2026-02-30,", "changed_at", "is not a date"),
        ("ana@example.com,marketing,revoked,2026-11-01T10:00,", "changed_at", "is not a date"),
        ("ana@example.com,marketing,revoked,2031-01-01,", "changed_at", "is in the future"),
        ("ana.example.com,marketing,revoked,2026-11-01,", "subject_email", "is not an e-mail address"),
        ("ana@example.com,marketing,granted,2026-11-01,soon", "expires_at", "is not a date"),
    ])
    func malformed(line: String, field: String, message: String) throws {
        let parser = try csv()
        do {
            _ = try parser.row(line[...], line: 42)
            Issue.record("accepted: \(line)")
        } catch {
            #expect(error.line == 42 && error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("a header without a required column, and a broken quote, are errors")
    func structural() throws {
        var parser = LedgerParser(format: .csv, now: now)
        #expect(throws: LedgerProblem.self) { try parser.readHeader("subject_email,purpose,changed_at") }
        let ok = try csv()
        #expect(throws: LedgerProblem.self) { try ok.row(#""ana@example.com,marketing,revoked,2026-11-01,"#, line: 5) }
        let json = LedgerParser(format: .jsonl, now: now)
        #expect(throws: LedgerProblem.self) { try json.row("[1,2]", line: 9) }
        #expect(throws: LedgerProblem.self) { try json.row(#"{"subject_email":"a@x.org","purpose":"m","status":"revoked","changed_at":20261101}"#, line: 9) }
    }
}
