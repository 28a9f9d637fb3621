import Foundation
@testable import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import LetheStore
import Testing

/// The period report is written as it is read (issue #13): these tests hold the streamed files
/// to the report built whole, and the paged HTML to what a reader needs.
@Suite("Streamed period reports")
final class ReportServiceTests {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-reports-\(UUID().uuidString)")
    let state: StateDirectory
    let database: AppDatabase
    let received = CalendarDate(iso: "2026-10-01")!
    let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01: every request is past due

    init() throws {
        state = StateDirectory(path: scratch.appendingPathComponent("state").path)
        _ = try state.initialize()
        database = try state.openSQLite()
    }

    deinit { try? FileManager.default.removeItem(at: scratch) }

    /// Seven requests: erasures completed on time, one failed, one still open; all received the same day.
    func fill() async throws {
        let pseudonymizer = try state.pseudonymizer()
        for i in 0..<7 {
            let subject = SubjectIdentifiers(email: "person\(i)@example.com")
            let plan = ["shop", "crm"].map { PlannedAction(target: $0, operation: .delete, match: .email, reason: "erasure") }
            _ = try database.file(NewRequest(id: "req-\(i)", kind: .erasure, ref: "T-\(i)", pseudonym: pseudonymizer.pseudonym(for: subject)!,
                                             identifiers: subject, received: received, plan: plan), now: now.addingTimeInterval(-86_400 * 60))
        }
        let done = Date(timeIntervalSince1970: CalendarDate(iso: "2026-10-10")!.secondsSince1970AtMidnightUTC)
        for target in ["shop", "crm"] {
            for claimed in try await database.claim(target: target, limit: 10, runner: "t", now: done) where claimed.requestId != "req-6" {
                let fails = claimed.requestId == "req-5" && target == "crm"
                let outcome: ActionStateMachine.AttemptResult = fails ? .permanentFailure("HTTP 403 from the target") : .succeeded(.deleted, verification: "GET answers 404")
                try await database.record(AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: done, finishedAt: done,
                                                        result: fails ? .permanent : .succeeded),
                                          transition: ActionStateMachine.afterAttempt(outcome, attemptsUsed: 1, policy: RetryPolicy(RetrySettings()), random: 0),
                                          now: done)
            }
        }
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test("a report says who filed, extended and cancelled each request, from the audit log")
    func actors() async throws {
        try await fill()
        _ = try database.extend("req-6", months: 1, reason: "complex", by: "DPO desk", now: now)
        _ = try database.cancel("req-6", reason: "withdrawn by the subject", by: "Ana (officer)", now: now)
        let service = ReportService(state: state, database: database, policies: nil)
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path, now: now)
        let report = try #require(JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: written.json))))
        let row = try #require(report["requests"]?.arrayValue?.first { $0["id"]?.stringValue == "req-6" })
        let changes = row["changes"]?.arrayValue ?? []
        #expect(changes.map { $0["event"]?.stringValue } == ["request_extended", "cancel_requested"])
        #expect(changes.map { $0["by"]?.stringValue } == ["DPO desk", "Ana (officer)"])
        #expect(row["filed_by"] == .null)
        #expect(try read(written.html).contains("extended"))
        #expect(try read(written.html).contains("by Ana (officer)"))
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        #expect(try ReportVerifier.verify(json: try Data(contentsOf: URL(fileURLWithPath: written.json)), signature: signature,
                                          publicKey: try state.signer().publicKey, database: database).isValid)
    }

    @Test("the streamed JSON is byte for byte the report built whole, signed, and it verifies against the log")
    func sameAsWhole() async throws {
        try await fill()
        var service = ReportService(state: state, database: database, policies: nil)
        service.pageSize = 3
        let out = scratch.appendingPathComponent("out").path
        let written = try service.exportPeriod(from: received, to: received, into: out, now: now)
        #expect(written.requests == 7)

        let builder = ReportBuilder(keyId: try state.signer().publicKey.keyId, generatedAt: now, chain: try database.verifyAuditChain())
        let requests = try database.requests(receivedFrom: received, to: received)
        let whole = builder.periodReport(from: received, to: received, requests: requests, actions: try database.actions(of: requests.map(\.id)),
                                         citations: try database.finalTargetEvents(requestIds: requests.map(\.id)),
                                         changes: try database.changeEvents(requestIds: requests.map(\.id)))
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json))
        #expect(json == CanonicalJSON.encode(whole))

        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        let result = try ReportVerifier.verify(json: json, signature: signature, publicKey: try state.signer().publicKey, database: database)
        #expect(result.isValid, "\(result.problem ?? "")")
        #expect(result.passed.last == "each of 7 request rows matches the audit event it cites per target")
        #expect(ReportVerifier.namedKeyId(json) == (try state.signer().publicKey.keyId))

        // The CSV has a line per request and target; nothing is left half-written.
        #expect(try read(try #require(written.csv)) == ReportRendering.csv(whole))
        let left = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty)
    }

    @Test("over more requests than a page, the HTML is a summary with what needs attention and links to pages of requests")
    func pagedHTML() async throws {
        try await fill()
        var service = ReportService(state: state, database: database, policies: nil)
        service.pageSize = 3
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path, now: now)
        #expect(written.htmlPages.map { ($0 as NSString).lastPathComponent } == (1...3).map { "lethe-report-\(received)-\(received)-requests-000\($0).html" })
        let main = try read(written.html)
        #expect(main.contains("<h2>Summary</h2>"))
        #expect(main.range(of: "<h2>Summary</h2>")!.lowerBound < main.range(of: "Needing attention")!.lowerBound)
        // req-5 failed in crm and req-6 never ran: both are past due and listed with a link to their page.
        #expect(main.contains("Needing attention (2)"))
        #expect(main.contains("href=\"lethe-report-\(received)-\(received)-requests-0002.html#req-5\""))
        #expect(main.contains("href=\"lethe-report-\(received)-\(received)-requests-0003.html#req-6\""))
        #expect(!main.contains("<section"))  // the rows are on the pages
        for (index, page) in written.htmlPages.enumerated() {
            let html = try read(page)
            #expect(main.contains("href=\"\((page as NSString).lastPathComponent)\""))
            let ids = (index * 3..<min(7, index * 3 + 3)).map { "req-\($0)" }
            for id in ids { #expect(html.contains("<section id=\"\(id)\">")) }
            #expect(html.components(separatedBy: "<section").count - 1 == ids.count)
            #expect(!html.contains("@example.com"))
        }
        #expect(!main.contains("@example.com"))
    }

    @Test("over one page, the HTML holds every request after the summary, as before")
    func onePage() async throws {
        try await fill()
        let service = ReportService(state: state, database: database, policies: nil)
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path, now: now)
        #expect(written.htmlPages.isEmpty)
        let html = try read(written.html)
        #expect(html.components(separatedBy: "<section").count - 1 == 7)
        #expect(html.range(of: "<h2>Summary</h2>")!.lowerBound < html.range(of: "<section")!.lowerBound)
    }

    @Test("a report pretty-printed, re-ordered or cut is refused as not canonical or not JSON, before its signature is checked")
    func refusedLayouts() async throws {
        try await fill()
        let service = ReportService(state: state, database: database, policies: nil)
        let written = try service.exportPeriod(from: received, to: received, into: scratch.appendingPathComponent("out").path, now: now)
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json))
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        let key = try state.signer().publicKey
        func problem(_ bytes: Data) throws -> String? {
            try ReportVerifier.verify(json: bytes, signature: signature, publicKey: key, database: database).problem
        }
        let value = try #require(JSONValue.parse(json))
        let pretty = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: json), options: [.prettyPrinted])
        #expect(try problem(pretty)?.contains("not in canonical form") == true)
        // The same members in another order: JSON, but not canonical.
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        let reversed = "{" + members.keys.sorted(by: CanonicalJSON.precedes).reversed().map { CanonicalJSON.member($0, members[$0]!) }.joined(separator: ",") + "}"
        #expect(try problem(Data(reversed.utf8))?.contains("not in canonical form") == true)
        // A row with a space inside it.
        let spaced = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"kind\":\"erasure\"", with: "\"kind\": \"erasure\"")
        #expect(try problem(Data(spaced.utf8))?.contains("not in canonical form") == true)
        #expect(try problem(json.prefix(json.count - 1)) == "the file is not JSON")
        #expect(try problem(Data("[1,2]".utf8)) == "the file is not JSON")
        #expect(try problem(json) == nil)
    }
}
