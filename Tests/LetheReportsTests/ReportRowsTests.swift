import Foundation
import LetheCore
@testable import LetheReports
@testable import LetheStore
import LetheStorage
import Testing

/// `RequestRowWriter` writes a period report's rows without building their `JSONValue` trees
/// (issue #13). The signed JSON must stay byte for byte what the tree gives, and the CSV and
/// HTML what the renderers make of the tree: these tests compare them over rows built from
/// every state, outcome and plan shape, with text that needs escaping in each of the forms.
@Suite("Report rows written directly")
struct ReportRowsTests {
    let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01

    /// Texts that each form escapes differently: JSON quotes and controls, CSV commas, quotes,
    /// line breaks and formula starts, HTML's four characters; and plain and non-ASCII text.
    static let texts = ["", "plain", "a,b", "say \"hi\"", "=SUM(A1)", "+1", "-x", "@home", "<b>&amp;</b>", "line\nbreak", "cr\rlf",
                        "tab\there", "bell\u{07}", "back\\slash", "Zoë straße", "emoji 😀", "'quoted'", "a; b"]

    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A stored request and action to vary: filed in a store, so every field starts as Lethe stores it.
    func records() async throws -> (StoredRequest, StoredAction) {
        let db = try AppDatabase.inMemory()
        let subject = SubjectIdentifiers(email: "ana@example.com")
        let plan = [PlannedAction(target: "shop", operation: .delete, match: .email, reason: "erasure")]
        _ = try db.file(NewRequest(id: "req-1", kind: .erasure, ref: "T-1", pseudonym: Pseudonymizer(key: Data(repeating: 1, count: 32)).pseudonym(for: subject)!,
                                   identifiers: subject, received: CalendarDate(iso: "2026-10-01")!, plan: plan), now: now.addingTimeInterval(-86_400 * 60))
        let request = try #require(try db.requests(receivedFrom: CalendarDate(iso: "2026-10-01")!, to: CalendarDate(iso: "2026-10-01")!).first)
        let action = try #require(try db.actions(of: ["req-1"])["req-1"]?.first)
        return (request, action)
    }

    @Test("the rows' JSON, CSV and HTML are those of the row's tree, over 600 varied requests")
    func sameAsTree() async throws {
        let (baseRequest, baseAction) = try await records()
        var random = Seeded(state: 13)
        func text() -> String { Self.texts.randomElement(using: &random)! }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &random) ? value() : nil }
        func date() -> Date { Date(timeIntervalSince1970: 1_790_000_000 + Double(Int.random(in: 0..<9_000_000, using: &random)) + 0.123) }
        func day() -> CalendarDate { CalendarDate(iso: "2026-0\(Int.random(in: 1...9, using: &random))-1\(Int.random(in: 0...9, using: &random))")! }
        func event(_ seq: Int64, target: String?, name: String) -> AuditEvent {
            let details = ["{}", "{\"by\":\"\(["DPO desk", "Ana \\\"officer\\\"", "<x>"].randomElement(using: &random)!)\"}", "{\"by\":5}", "not json", "[1]"]
            return AuditEvent(seq: seq, at: Timestamp.iso8601(date()), requestId: baseRequest.id, target: target, event: name,
                              details: details.randomElement(using: &random)!, prevHash: String(repeating: "0", count: 64),
                              hash: String(format: "%064x", seq))
        }
        let builder = ReportBuilder(keyId: "key", generatedAt: now, chain: ChainVerification(events: 9, headHash: "h", firstSeq: 1, lastSeq: 9))
        var attentionSeen = 0
        for round in 0..<600 {
            var request = baseRequest
            request.id = "req-\(round)-" + text()
            request.kind = Bool.random(using: &random) ? "erasure" : "revocation"
            request.ref = maybe(text())
            request.purposes = (0..<Int.random(in: 0...2, using: &random)).map { _ in text() }
            request.pseudonym = "psn_" + text()
            request.requestedBy = maybe(text())
            request.received = day()
            request.due = day()
            request.extendedMonths = Int.random(in: 0...2, using: &random)
            request.state = RequestState.allCases.randomElement(using: &random)!
            request.completedAt = maybe(date())
            request.cancelReason = maybe(text())
            request.approval = maybe(Approval(state: Approval.State.allCases.randomElement(using: &random)!, by: maybe(text()), at: maybe(date()), note: maybe(text())))

            var actions: [StoredAction] = []
            var citations: [String: AuditEvent] = [:]
            var seq: Int64 = 1
            for (index, target) in ["shop", "crm", "app"].prefix(Int.random(in: 0...3, using: &random)).enumerated() {
                var action = baseAction
                action.id = Int64(100 * round + 10 * index)
                action.target = target
                action.state = ActionState.allCases.randomElement(using: &random)!
                action.outcome = maybe(ActionOutcome.allCases.randomElement(using: &random)!)
                action.verified = maybe(Bool.random(using: &random))
                action.verification = maybe(text())
                action.lastError = maybe(text())
                action.attempts = Int.random(in: 0...5, using: &random)
                action.completedAt = maybe(date())
                action.follows = nil
                action.notBefore = nil
                let retained = (0..<Int.random(in: 0...2, using: &random)).map { _ in
                    RetainedData(purpose: text(), basis: LawfulBasis.allCases.randomElement(using: &random)!,
                                 attributes: [AttributePath(name: "addresses")], groups: maybe(["vip", text()]) ?? [], until: day(),
                                 ended: [nil, true, false].randomElement(using: &random)!)
                }
                action.plan = PlannedAction(target: target, operation: PlannedOperation.allCases.randomElement(using: &random)!, match: .email,
                                            attributes: (0..<Int.random(in: 0...3, using: &random)).map { i in
                                                AttributeChange(path: AttributePath(name: ["emails", "name", "phoneNumbers"][i]),
                                                                strategy: AnonymizeStrategy.allCases.randomElement(using: &random)!)
                                            },
                                            groups: (0..<Int.random(in: 0...2, using: &random)).map { _ in text() }, retained: retained, reason: text())
                actions.append(action)
                if Bool.random(using: &random) { citations[target] = event(seq, target: target, name: "action_succeeded"); seq += 1 }
                // Follow-ups that end the retentions: some on the day one is due, some on another day.
                for kept in retained where Bool.random(using: &random) {
                    var followUp = action
                    followUp.id = action.id + Int64(actions.count)
                    followUp.follows = action.id
                    followUp.notBefore = Bool.random(using: &random) ? kept.erasureDue : day()
                    followUp.state = ActionState.allCases.randomElement(using: &random)!
                    followUp.outcome = maybe(ActionOutcome.allCases.randomElement(using: &random)!)
                    followUp.verified = maybe(Bool.random(using: &random))
                    followUp.lastError = maybe(text())
                    followUp.completedAt = maybe(date())
                    followUp.plan = PlannedAction(target: target, operation: .removeAttributes, attributes: [AttributeChange(path: AttributePath(name: "addresses"), strategy: .remove)],
                                                  groups: kept.groups, reason: text())
                    actions.append(followUp)
                    if Bool.random(using: &random) { citations[builder.followUpKey(followUp)] = event(seq, target: target, name: "action_succeeded"); seq += 1 }
                }
            }
            let changes = (0..<Int.random(in: 0...2, using: &random)).map { _ in
                event(Int64.random(in: 1...1_000_000, using: &random), target: maybe(["shop", "crm"].randomElement(using: &random)!),
                      name: ["action_retried", "cancel_requested", "request_extended", "approval_granted", "rejection_recorded", "other"].randomElement(using: &random)!)
            }

            let row = builder.requestRow(request, actions: actions, citations: citations, changes: changes)
            var writer = RequestRowWriter(builder: builder)
            let attention = writer.append(request, actions: actions, citations: citations, changes: changes)
            #expect(writer.json == CanonicalJSON.bytes(row), "row \(round): \(String(decoding: writer.json, as: UTF8.self))\n\(CanonicalJSON.string(row))")
            #expect(writer.csv == ReportRendering.csvLines(row).map { $0 + "\n" }.joined(), "row \(round)")
            #expect(writer.html == ReportRendering.htmlRequest(row, isCertificate: false), "row \(round)")
            #expect(attention == ReportRendering.needsAttention(row), "row \(round)")
            if attention { attentionSeen += 1 }
        }
        #expect(attentionSeen > 0 && attentionSeen < 600)
    }

    @Test("rows written one after another are the JSON array's members, comma-separated")
    func consecutiveRows() async throws {
        let (request, action) = try await records()
        let builder = ReportBuilder(keyId: "key", generatedAt: now, chain: ChainVerification(events: 0, headHash: "h", firstSeq: nil, lastSeq: nil))
        var writer = RequestRowWriter(builder: builder)
        var second = request
        second.id = "req-2"
        writer.append(request, actions: [action], citations: [:], changes: [])
        writer.append(second, actions: [], citations: [:], changes: [])
        let rows = [builder.requestRow(request, actions: [action]), builder.requestRow(second, actions: [])]
        #expect(writer.json == Array(CanonicalJSON.bytes(.array(rows)).dropFirst().dropLast()))
        #expect(writer.csv == rows.flatMap(ReportRendering.csvLines).map { $0 + "\n" }.joined())
    }
}
