import Foundation
import LetheCore
import LetheReports
import LetheStorage
import LetheStore
import Testing

@Suite("Signed reports")
struct ReportTests {
    let signer = try! ReportSigner(rawPrivateKey: Data((1...32).map { UInt8($0) }))
    let now = Date(timeIntervalSince1970: 1_796_083_200)

    /// A small store with a completed erasure, an open overdue revocation and a late one.
    func store() async throws -> AppDatabase {
        let db = try AppDatabase.inMemory()
        let p = Pseudonymizer(key: Data(repeating: 3, count: 32))
        func file(_ id: String, _ email: String, _ kind: RequestKind, received: String, ops: [PlannedOperation]) throws {
            let subject = SubjectIdentifiers(email: email)
            let plan = ops.enumerated().map { i, op in
                PlannedAction(target: ["shop", "crm", "app"][i], operation: op, match: .email,
                              retained: i == 0 ? [RetainedData(purpose: "invoicing", basis: .legalObligation, attributes: [AttributePath(name: "addresses")], groups: [], until: CalendarDate(iso: "2036-10-01")!)] : [],
                              reason: "r")
            }
            _ = try db.file(NewRequest(id: id, kind: kind, ref: "T-\(id)", pseudonym: p.pseudonym(for: subject)!, identifiers: subject,
                                       received: CalendarDate(iso: received)!, plan: plan), now: now.addingTimeInterval(-86_400 * 60))
        }
        try file("req-a", "ana@example.com", .erasure, received: "2026-10-01", ops: [.anonymize, .delete])
        try file("req-b", "bo@example.com", .revocation(purposes: ["marketing"]), received: "2026-10-05", ops: [.removeAttributes])
        try file("req-c", "cy@example.com", .erasure, received: "2026-09-01", ops: [.delete])
        func complete(_ target: String, at date: Date) async throws {
            for claimed in try await db.claim(target: target, limit: 10, runner: "t", now: date) where claimed.requestId != "req-b" || target != "shop" {
                try await db.record(AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: date, finishedAt: date, result: .succeeded),
                              transition: ActionStateMachine.afterAttempt(.succeeded(.deleted, verification: "GET answers 404"), attemptsUsed: 1,
                                                                          policy: RetryPolicy(RetrySettings()), random: 0),
                              now: date)
            }
        }
        try await complete("shop", at: Date(timeIntervalSince1970: CalendarDate(iso: "2026-10-10")!.secondsSince1970AtMidnightUTC))
        try await complete("crm", at: Date(timeIntervalSince1970: CalendarDate(iso: "2026-10-12")!.secondsSince1970AtMidnightUTC))
        return db
    }

    func build(_ db: AppDatabase) throws -> (JSONValue, Data) {
        let builder = ReportBuilder(keyId: signer.publicKey.keyId, generatedAt: now, chain: try db.verifyAuditChain())
        let requests = try db.requests(receivedFrom: CalendarDate(iso: "2026-01-01")!, to: CalendarDate(iso: "2026-12-31")!)
        let report = builder.periodReport(from: CalendarDate(iso: "2026-01-01")!, to: CalendarDate(iso: "2026-12-31")!,
                                          requests: requests, actions: try db.actions(of: requests.map(\.id)),
                                          citations: try db.finalTargetEvents(requestIds: requests.map(\.id)))
        return (report, CanonicalJSON.encode(report))
    }

    @Test("a report is canonical, names the chain head, and carries pseudonyms only")
    func content() async throws {
        let db = try await store()
        let (report, bytes) = try build(db)
        #expect(CanonicalJSON.isCanonical(bytes))
        #expect(report["audit_chain"]?["head_hash"]?.stringValue == (try db.verifyAuditChain().headHash))
        #expect(report["requests"]?.arrayValue?.count == 3)
        let text = String(decoding: bytes, as: UTF8.self)
        for email in ["ana@example.com", "bo@example.com", "cy@example.com"] { #expect(!text.contains(email)) }
        let summary = try #require(report["summary"])
        #expect(summary["by_kind"]?["erasure"]?.intValue == 2)
        // req-a completed 2026-10-12 (due 2026-11-01): on time; req-c completed 2026-10-12 (due 2026-10-01): late.
        #expect(summary["completed_on_time"]?.intValue == 1 && summary["completed_late"]?.intValue == 1)
        #expect(summary["on_time_ratio"] == .number(0.5))
        // req-b is open and past its due date.
        #expect(summary["open_overdue"]?.intValue == 1 && summary["overdue_requests"] == .array([.string("req-b")]))
        let a = try #require(report["requests"]?.arrayValue?.first { $0["id"]?.stringValue == "req-a" })
        #expect(a["on_time"] == .bool(true))
        let shop = try #require(a["targets"]?.arrayValue?.first { $0["target"]?.stringValue == "shop" })
        #expect(shop["retained"]?.arrayValue?.first?["until"]?.stringValue == "2036-10-01")
        // Each target row cites the audit event of its final transition.
        let cited = try #require(shop["audit"]?["seq"]?.intValue)
        let event = try #require(try db.auditEvent(seq: Int64(cited)))
        #expect(event.requestId == "req-a" && event.target == "shop" && event.event == "action_succeeded")
        #expect(shop["audit"]?["hash"]?.stringValue == event.hash)
    }

    @Test("the signature verifies, and flipping any single byte of the JSON or the signature fails")
    func tamper() async throws {
        let db = try await store()
        let (_, bytes) = try build(db)
        let signature = try signer.sign(bytes)
        #expect(try ReportVerifier.verify(json: bytes, signature: signature, publicKey: signer.publicKey, database: db).isValid)
        for index in bytes.indices {
            var flipped = bytes
            flipped[index] ^= 0x01
            #expect(!(try ReportVerifier.verify(json: flipped, signature: signature, publicKey: signer.publicKey, database: nil).isValid), "byte \(index)")
        }
        for index in signature.indices {
            var flipped = signature
            flipped[index] ^= 0x80
            #expect(!(try ReportVerifier.verify(json: bytes, signature: flipped, publicKey: signer.publicKey, database: nil).isValid), "sig byte \(index)")
        }
    }

    @Test("the rows are read in one pass: an empty list, rows up to the closing bracket, and any flaw around them is refused as the kind of flaw it is")
    func onePassLayout() throws {
        let key = signer.publicKey.keyId
        func verify(_ text: String) throws -> ReportVerifier.Result {
            let bytes = Data(text.utf8)
            return try ReportVerifier.verify(json: bytes, signature: try signer.sign(bytes), publicKey: signer.publicKey, database: nil)
        }
        let row = #"{"id":"r1","targets":[]}"#
        #expect(try verify(#"{"key_id":"\#(key)","requests":[],"z":true}"#).isValid)
        #expect(try verify(#"{"key_id":"\#(key)","requests":[\#(row),\#(row)],"z":true}"#).isValid)
        #expect(try verify(#"{"key_id":"\#(key)","requests":[\#(row)]}"#).isValid)
        #expect(ReportVerifier.namedKeyId(Data(#"{"key_id":"\#(key)","requests":[\#(row)]}"#.utf8)) == key)
        #expect(ReportVerifier.namedKeyId(Data(#"{"key_id": "\#(key)"}"#.utf8)) == key, "not canonical: parsed whole")
        let notJSON = [
            #"{"key_id":"\#(key)","requests":[\#(row),],"z":true}"#,   // a comma before the bracket
            #"{"key_id":"\#(key)","requests":[\#(row)"#,               // cut inside the rows
            #"{"key_id":"\#(key)","requests":[\#(row)]}x"#,            // bytes after the object
            #"{"key_id":"\#(key)","requests":[\#(row)}"#,              // the list never closes
        ]
        for text in notJSON { #expect(try verify(text).problem == "the file is not JSON", "\(text)") }
        let notCanonical = [
            #"{"key_id":"\#(key)","requests":[\#(row), \#(row)]}"#,    // a space between rows
            #"{"key_id":"\#(key)","requests":[{"targets":[],"id":"r1"}]}"#,  // a row's keys out of order
            #"{"requests":[\#(row)],"key_id":"\#(key)"}"#,             // the report's keys out of order
        ]
        for text in notCanonical { #expect(try verify(text).problem?.contains("canonical form") == true, "\(text)") }
    }

    @Test("a report from another log, or another key, is refused with the reason")
    func mismatches() async throws {
        let db = try await store()
        let (_, bytes) = try build(db)
        let signature = try signer.sign(bytes)
        let other = try ReportSigner(rawPrivateKey: Data(repeating: 9, count: 32))
        let wrongKey = try ReportVerifier.verify(json: bytes, signature: signature, publicKey: other.publicKey, database: nil)
        #expect(wrongKey.problem?.contains("names signing key") == true)
        let otherLog = try AppDatabase.inMemory()
        _ = try otherLog.file(NewRequest(id: "x", kind: .erasure, ref: nil, pseudonym: "psn_x", identifiers: SubjectIdentifiers(email: "x@y.z"),
                                         received: CalendarDate(iso: "2026-01-01")!, plan: []), now: now)
        let foreign = try ReportVerifier.verify(json: bytes, signature: signature, publicKey: signer.publicKey, database: otherLog)
        #expect(foreign.problem?.contains("audit") == true)
        let pretty = Data(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
        #expect(try ReportVerifier.verify(json: pretty, signature: signature, publicKey: signer.publicKey, database: nil).problem?.contains("canonical") == true)
    }

    @Test("the public key PEM is a SubjectPublicKeyInfo that reads back, and the key id is SHA-256 of the key")
    func pem() async throws {
        let pem = signer.publicKey.pem
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"))
        #expect(try ReportPublicKey(pem: pem) == signer.publicKey)
        #expect(signer.publicKey.keyId.count == 64)
        #expect(throws: ReportError.self) { try ReportPublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
    }

    @Test("CSV and HTML renderings carry the same rows, quote safely, and hold no identifier")
    func renderings() async throws {
        let (report, _) = try build(try await store())
        let csv = ReportRendering.csv(report)
        #expect(csv.split(separator: "\n").count == 1 + 4, "header + one line per request × target")
        #expect(csv.contains("addresses under legal_obligation until 2036-10-01"))
        #expect(ReportRendering.quote("=cmd()") == "'=cmd()")
        #expect(ReportRendering.quote("a,b") == "\"a,b\"")
        #expect(ReportRendering.quote("say \"hi\"") == "\"say \"\"hi\"\"\"")
        // A CRLF is one Character in Swift: it must still be quoted, or it would split the row.
        #expect(ReportRendering.quote("a\r\nb") == "\"a\r\nb\"")
        #expect(ReportRendering.quote("=\u{301}x") == "'=\u{301}x")
        for text in ["plain", "a<b>&\"c\"", "é\u{301} <ü>", "🙂&", "", "&&", "<script>alert(1)</script>"] {
            let foundation = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            #expect(ReportRendering.escape(text) == foundation)
        }
        let html = ReportRendering.html(report, jsonFileName: "r.json")
        #expect(html.contains("openssl pkeyutl -verify -pubin -inkey lethe.pub.pem -rawin -in r.json -sigfile r.json.sig"))
        #expect(html.contains("@media print"))
        for text in [csv, html] {
            for email in ["ana@example.com", "bo@example.com", "cy@example.com"] { #expect(!text.contains(email)) }
        }
    }

    @Test("a certificate lists every recipient, the statement, and the request's chained events")
    func certificate() async throws {
        let db = try await store()
        let request = try #require(try db.request("req-a"))
        let builder = ReportBuilder(keyId: signer.publicKey.keyId, generatedAt: now, chain: try db.verifyAuditChain(),
                                    recipients: ["shop": "Web shop", "crm": "CRM"])
        let cert = builder.certificate(request, actions: try db.actions(of: "req-a"), events: try db.auditEvents(request: "req-a"))
        #expect(cert["type"]?.stringValue == "erasure_certificate")
        #expect(cert["request"]?["recipients"]?.arrayValue?.count == 2)
        #expect(cert["statement"]?.stringValue?.contains("confirmed by reading it back") == true)
        #expect(cert["events"]?.arrayValue?.first?["event"]?.stringValue == "request_filed")
    }

    @Test("a failed request past its due date is unresolved and overdue, never on time, and counts against the ratio")
    func failedIsNotClosedOnTime() async throws {
        let db = try await store()
        // req-f: received 2026-09-20 (due 2026-10-20), filed 2026-09-22, its only action failed at once on 2026-09-23.
        let p = Pseudonymizer(key: Data(repeating: 3, count: 32))
        let subject = SubjectIdentifiers(email: "fay@example.com")
        _ = try db.file(NewRequest(id: "req-f", kind: .erasure, ref: "T-f", pseudonym: p.pseudonym(for: subject)!, identifiers: subject,
                                   received: CalendarDate(iso: "2026-09-20")!,
                                   plan: [PlannedAction(target: "app", operation: .delete, match: .email, reason: "r")]),
                        now: now.addingTimeInterval(-86_400 * 70))
        let failedAt = Date(timeIntervalSince1970: CalendarDate(iso: "2026-09-23")!.secondsSince1970AtMidnightUTC)
        let claimed = try #require(try await db.claim(target: "app", limit: 10, runner: "t", now: failedAt).first { $0.requestId == "req-f" })
        try await db.record(AttemptReport(actionId: claimed.action.id, number: 1, startedAt: failedAt, finishedAt: failedAt, result: .permanent),
                            transition: ActionStateMachine.afterAttempt(.permanentFailure("401"), attemptsUsed: 1, policy: RetryPolicy(RetrySettings()), random: 0),
                            now: failedAt)
        #expect(try db.request("req-f")?.state == .failed)

        let (report, _) = try build(db)
        let summary = try #require(report["summary"])
        #expect(summary["unresolved"]?.intValue == 1 && summary["unresolved_overdue"]?.intValue == 1)
        #expect(summary["completed_on_time"]?.intValue == 1, "the failure ended early, but it is not on time")
        #expect(summary["on_time_ratio"] == .number(0.3333), "1 on time of 3 decided: the failure counts against it")
        #expect(summary["overdue_requests"]?.arrayValue?.contains(.string("req-f")) == true)
        let row = try #require(report["requests"]?.arrayValue?.first { $0["id"]?.stringValue == "req-f" })
        #expect(row["on_time"] == .bool(false) && row["overdue"] == .bool(true) && row["deadline"] == .string("unresolved_overdue"))
        // lethe status --overdue's query lists it too.
        #expect(try db.requests(overdueOn: CalendarDate(secondsSince1970: now.timeIntervalSince1970)).map(\.id).contains("req-f"))
    }
}
