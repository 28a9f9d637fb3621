import Foundation
import GRDB
import LetheCore
@testable import LetheStore
import LetheStorage
import Testing

@Suite("Store: filing, claims, transitions, audit chain")
struct StoreTests {
    let db: AppDatabase
    let now = Date(timeIntervalSince1970: 1_796_083_200)
    let pseudonymizer = Pseudonymizer(key: Data(repeating: 7, count: 32))

    init() throws { db = try AppDatabase.inMemory() }

    func newRequest(_ id: String = "req-1", ref: String? = "T-1", email: String = "ana@example.com",
                    kind: RequestKind = .erasure, operations: [PlannedOperation] = [.delete, .anonymize]) -> NewRequest {
        let subject = SubjectIdentifiers(email: email)
        let plan = operations.enumerated().map { i, op in
            PlannedAction(target: "t\(i)", operation: op, match: op == .needsReview || op == .none ? nil : .email, reason: "test")
        }
        return NewRequest(id: id, kind: kind, ref: ref, pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                          received: CalendarDate(iso: "2026-12-01")!, plan: plan)
    }

    @Test("pseudonyms are HMAC-SHA256 of the typed identifier, e-mails lowercased, as any HMAC tool computes them")
    func pseudonymKnownAnswers() {
        // python3 -c "import hmac,hashlib; print(hmac.new(bytes([7]*32), b'email:ana@example.com', hashlib.sha256).hexdigest()[:32])"
        #expect(pseudonymizer.pseudonym(for: SubjectIdentifiers(email: "Ana@Example.com")) == "psn_5adc878baae7df0dc0f3049d1afc720a")
        #expect(pseudonymizer.pseudonym(for: SubjectIdentifiers(externalId: "C-42")) == "psn_a431235365671e1a61f6e2fd5fa30678")
        #expect(pseudonymizer.matches(SubjectIdentifiers(email: "x@example.com", externalId: "C-42"), "psn_a431235365671e1a61f6e2fd5fa30678"))
        // The keyed state is copied for each token: one token does not change the next.
        #expect(pseudonymizer.token("email:ana@example.com") == "psn_5adc878baae7df0dc0f3049d1afc720a")
    }

    @Test("filing stores the request, one action per target and an audit event together")
    func filing() throws {
        let result = try db.file(newRequest(), now: now)
        guard case .filed(let request) = result else { Issue.record("not filed"); return }
        #expect(request.state == .received && request.due.description == "2027-01-01")
        #expect(request.identifiers?.email == "ana@example.com")
        #expect(try db.request("req-1") == request, "what filing returns is what is stored")
        #expect(try db.actions(of: "req-1").map(\.state) == [.pending, .pending])
        #expect(try db.actionsJustFiled(of: "req-1") == db.actions(of: "req-1"), "read on the writer, the same actions")
        let events = try db.auditEvents()
        #expect(events.map(\.event) == ["request_filed"])
        #expect(!events[0].details.contains("ana@example.com"))
        #expect(events[0].details.contains(request.pseudonym))
    }

    @Test("the same reference twice returns the existing request; for another subject it is refused")
    func refIdempotency() throws {
        _ = try db.file(newRequest(), now: now)
        let again = try db.file(newRequest("req-2"), now: now)
        guard case .existing(let existing) = again else { Issue.record("filed twice"); return }
        #expect(existing.id == "req-1")
        #expect(throws: StoreError.refConflict(ref: "T-1", existing: "req-1")) {
            try db.file(newRequest("req-3", email: "bob@example.com"), now: now)
        }
        #expect(try db.requests().count == 1)
    }

    @Test("planned none and needs_review actions are stored settled; all-none completes and purges at once")
    func settledAtFiling() throws {
        _ = try db.file(newRequest(operations: [.none, .needsReview]), now: now)
        #expect(try db.actions(of: "req-1").map(\.state) == [.succeeded, .needsReview])
        let request = try #require(try db.request("req-1"))
        #expect(request.state == .needsReview)
        #expect(request.identifiers == nil, "terminal: identifiers purged")
        _ = try db.file(newRequest("req-2", ref: "T-2", operations: [.none]), now: now)
        #expect(try db.request("req-2")?.state == .completed)
    }

    @Test("claims are atomic: an action is claimed once, counted at claim, and not before it is due")
    func claims() async throws {
        _ = try db.file(newRequest(operations: [.delete]), now: now)
        #expect(try await db.claim(target: "t0", limit: 5, runner: "a", now: now.addingTimeInterval(-1)).isEmpty, "not due yet")
        let first = try await db.claim(target: "t0", limit: 5, runner: "a", now: now)
        let second = try await db.claim(target: "t0", limit: 5, runner: "b", now: now)
        #expect(first.count == 1 && second.isEmpty)
        #expect(first[0].attempt == 1 && first[0].attemptsInBudget == 1)
        #expect(first[0].identifiers?.email == "ana@example.com")
        #expect(try db.request("req-1")?.state == .inProgress)
    }

    @Test("a success completes the request, purges identifiers and chains every event")
    func completion() async throws {
        _ = try db.file(newRequest(operations: [.delete]), now: now)
        let claimed = try #require(try await db.claim(target: "t0", limit: 1, runner: "a", now: now).first)
        let transition = ActionStateMachine.afterAttempt(.succeeded(.deleted, verification: "404"), attemptsUsed: 1,
                                                         policy: RetryPolicy(RetrySettings()), random: 0)
        let state = try await db.record(AttemptReport(actionId: claimed.action.id, number: 1, startedAt: now, finishedAt: now, result: .succeeded),
                                  transition: transition, now: now)
        #expect(state == .completed)
        let request = try #require(try db.request("req-1"))
        #expect(request.identifiers == nil && request.completedAt != nil)
        let action = try #require(try db.actions(of: "req-1").first)
        #expect(action.outcome == .deleted && action.verified == true)
        #expect(try db.attempts(of: action.id).map(\.result) == ["succeeded"])
        #expect(try db.auditEvents().map(\.event) == [
            "request_filed", "action_started", "request_in_progress", "action_succeeded", "request_completed", "identifiers_purged",
        ])
        let chain = try db.verifyAuditChain()
        #expect(chain.problem == nil && chain.events == 6)
    }

    @Test("a retrying action is claimed again only when due")
    func retrying() async throws {
        _ = try db.file(newRequest(operations: [.delete]), now: now)
        let claimed = try #require(try await db.claim(target: "t0", limit: 1, runner: "a", now: now).first)
        let t = ActionStateMachine.afterAttempt(.transientFailure("503", retryAfter: 30), attemptsUsed: 1, policy: RetryPolicy(RetrySettings()), random: 0)
        try await db.record(AttemptReport(actionId: claimed.action.id, number: 1, startedAt: now, finishedAt: now, result: .transient, statusCode: 503),
                      transition: t, now: now)
        #expect(try db.actions(of: "req-1").first?.state == .retrying)
        #expect(try await db.claim(target: "t0", limit: 1, runner: "a", now: now.addingTimeInterval(29)).isEmpty)
        let again = try await db.claim(target: "t0", limit: 1, runner: "a", now: now.addingTimeInterval(30))
        #expect(again.first?.attempt == 2)
    }

    @Test("rescue returns running actions to pending and records the interrupted attempt")
    func rescue() async throws {
        _ = try db.file(newRequest(operations: [.delete, .delete]), now: now)
        _ = try await db.claim(target: "t0", limit: 1, runner: "dead", now: now)
        #expect(try await db.rescueRunning(now: now) == 1)
        let action = try #require(try db.actions(of: "req-1").first)
        #expect(action.state == .pending)
        #expect(try db.attempts(of: action.id).map(\.result) == ["interrupted"])
        #expect(try await db.claim(target: "t0", limit: 1, runner: "new", now: now).first?.attempt == 2)
    }

    @Test("any edit, deletion or reordering of the audit log breaks the chain")
    func tamperEvident() throws {
        _ = try db.file(newRequest(), now: now)
        _ = try db.file(newRequest("req-2", ref: "T-2", email: "bob@example.com"), now: now)
        _ = try db.cancel("req-2", reason: "duplicate", now: now)
        #expect(try db.verifyAuditChain().problem == nil)
        try db.writer.write { try $0.execute(sql: "UPDATE audit_event SET details = replace(details, 'erasure', 'revocation') WHERE seq = 1") }
        #expect(try db.verifyAuditChain().problem?.contains("event 1 was altered") == true)
    }

    @Test("deleting an audit event breaks the chain")
    func deletionDetected() throws {
        _ = try db.file(newRequest(), now: now)
        _ = try db.cancel("req-1", reason: "x", now: now)
        try db.writer.write { try $0.execute(sql: "DELETE FROM audit_event WHERE seq = 2") }
        #expect(try db.verifyAuditChain().problem?.contains("missing") == true)
    }

    @Test("extensions: at most two months in all, recorded with the reason")
    func extend() throws {
        _ = try db.file(newRequest(), now: now)
        #expect(try db.extend("req-1", months: 1, reason: "complex request", now: now).due.description == "2027-02-01")
        #expect(try db.extend("req-1", months: 1, reason: "still complex", now: now).due.description == "2027-03-01")
        #expect(throws: StoreError.self) { try db.extend("req-1", months: 1, reason: "more", now: now) }
        #expect(try db.auditEvents().filter { $0.event == "request_extended" }.count == 2)
    }

    @Test("cancel stops unfinished actions and purges identifiers")
    func cancel() async throws {
        _ = try db.file(newRequest(), now: now)
        let cancelled = try db.cancel("req-1", reason: "withdrawn by subject", now: now)
        #expect(cancelled.state == .cancelled && cancelled.identifiers == nil)
        #expect(try db.actions(of: "req-1").allSatisfy { $0.state == .cancelled })
        #expect(try await db.claim(target: "t0", limit: 1, runner: "a", now: now).isEmpty)
    }

    @Test("retry after purge needs the identifiers again, and starts a fresh budget")
    func retryAfterPurge() async throws {
        _ = try db.file(newRequest(operations: [.delete]), now: now)
        let claimed = try #require(try await db.claim(target: "t0", limit: 1, runner: "a", now: now).first)
        try await db.record(AttemptReport(actionId: claimed.action.id, number: 1, startedAt: now, finishedAt: now, result: .permanent),
                      transition: ActionStateMachine.afterAttempt(.permanentFailure("403"), attemptsUsed: 1, policy: RetryPolicy(RetrySettings()), random: 0),
                      now: now)
        #expect(try db.request("req-1")?.state == .failed)
        #expect(throws: StoreError.self) { try db.retry("req-1", target: nil, identifiers: nil, replans: [:], now: now) }
        #expect(try db.retry("req-1", target: nil, identifiers: SubjectIdentifiers(email: "ana@example.com"), replans: [:], now: now) == ["t0"])
        let request = try #require(try db.request("req-1"))
        #expect(request.state == .inProgress && request.identifiers?.email == "ana@example.com")
        let again = try #require(try await db.claim(target: "t0", limit: 1, runner: "a", now: now).first)
        #expect(again.attempt == 2 && again.attemptsInBudget == 1)
    }

    @Test("the schema enforces its invariants")
    func schema() throws {
        _ = try db.file(newRequest(), now: now)
        #expect(throws: DatabaseError.self) {
            try db.writer.write { try $0.execute(sql: "INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES ('req-1', 't0', '{}', 'delete', 'pending', 0)") }
        }
        #expect(throws: DatabaseError.self) {
            try db.writer.write { try $0.execute(sql: "INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES ('nope', 'x', '{}', 'delete', 'pending', 0)") }
        }
        #expect(throws: DatabaseError.self) {
            try db.writer.write { try $0.execute(sql: "UPDATE action SET state = 'done' WHERE request_id = 'req-1'") }
        }
    }

    @Test("the schema's vocabulary is the code's: every operation, outcome and attempt result is accepted, anything else refused")
    func vocabulary() throws {
        _ = try db.file(newRequest(), now: now)
        let action = try #require(try db.actions(of: "req-1").first)
        for operation in PlannedOperation.allCases {
            try db.writer.write { try $0.execute(sql: "UPDATE action SET operation = ? WHERE id = ?", arguments: [operation.rawValue, action.id]) }
        }
        for outcome in ActionOutcome.allCases {
            try db.writer.write { try $0.execute(sql: "UPDATE action SET outcome = ? WHERE id = ?", arguments: [outcome.rawValue, action.id]) }
        }
        for (number, result) in AttemptResultKind.allCases.enumerated() {
            try db.writer.write {
                try $0.execute(sql: "INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result) VALUES (?, ?, 0, 0, 0, ?)",
                               arguments: [action.id, number + 1, result.rawValue])
            }
        }
        for (column, bogus) in [("operation", "explode"), ("outcome", "vanished")] {
            #expect(throws: DatabaseError.self, "\(column) = \(bogus)") {
                try db.writer.write { try $0.execute(sql: "UPDATE action SET \(column) = ? WHERE id = ?", arguments: [bogus, action.id]) }
            }
        }
        #expect(throws: DatabaseError.self) {
            try db.writer.write {
                try $0.execute(sql: "INSERT INTO attempt (action_id, number, started_at, finished_at, duration_ms, result) VALUES (?, 99, 0, 0, 0, 'ok')",
                               arguments: [action.id])
            }
        }
    }

    @Test("the audit chain hashes exactly the canonical JSON of each event")
    func chainHashIsCanonicalJSON() throws {
        _ = try db.file(newRequest(), now: now)
        for event in try db.auditEvents(request: "req-1") {
            let details = try #require(JSONValue.parse(Data(event.details.utf8)))
            let canonical = CanonicalJSON.string(.object([
                "at": .string(event.at), "details": details, "event": .string(event.event),
                "request": event.requestId.map(JSONValue.string) ?? .null, "seq": .number(Double(event.seq)),
                "target": event.target.map(JSONValue.string) ?? .null,
            ]))
            #expect(AuditChain.body(seq: event.seq, at: event.at, request: event.requestId, target: event.target,
                                          event: event.event, details: event.details) == canonical)
            #expect(AuditChain.hash(prev: event.prevHash, seq: event.seq, at: event.at, request: event.requestId, target: event.target,
                                          event: event.event, details: event.details) == event.hash)
        }
    }

    @Test("the chain walk, reading columns as bytes, hashes what was appended, whatever the text holds")
    func chainWalkOverAnyText() throws {
        let texts: [String?] = [nil, "plain", "quote \" and backslash \\", "line\nbreak\ttab\u{01}\u{1F}", "é😀", "\u{7F}", ""]
        try db.writer.write { db in
            for (index, text) in texts.enumerated() {
                try AppDatabase.appendAudit(db, at: now, request: text, target: texts[(index + 3) % texts.count], event: .requestFiled,
                                            details: ["note": text.map(JSONValue.string) ?? .null, "n": .number(Double(index))])
            }
        }
        let whole = try db.verifyAuditChain()
        #expect(whole.problem == nil && whole.events == texts.count && whole.lastSeq == Int64(texts.count))
        #expect(try db.snapshot { try $0.chainHead() } == whole)
        let third = try db.verifyAuditChain(through: 3)
        let events = try db.auditEvents()
        #expect(third.problem == nil && third.events == 3 && third.headHash == events[2].hash)
        // One byte of one event's target changed: the walk finds it.
        try db.writer.write { try $0.execute(sql: "UPDATE audit_event SET target = 'é😀 ' WHERE seq = 5") }
        #expect(try db.verifyAuditChain().problem == "event 5 was altered (its hash does not match its content)")
        #expect(try db.verifyAuditChain(through: 4).problem == nil)
    }

    @Test("status --overdue reads one (state, created_at) range per state, newest first, not every open request")
    func overdueUsesIndex() throws {
        let states = DeadlineStanding.statesThatCanBeOverdue
        let plan = try db.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + AppDatabase.newestFirst(states: states.count, dueBefore: true, limit: 50),
                             arguments: StatementArguments(states.flatMap { [$0.rawValue, "2026-12-01"] }))
                .map { (id: $0["id"] as Int, parent: $0["parent"] as Int, detail: $0["detail"] as String) }
        }
        // One range per state, read newest first and stopping at the page; a sort happens only
        // over what those ranges gave (at most 50 rows each), never inside a range read.
        let text = "\(plan.map(\.detail))"
        #expect(plan.filter { $0.detail.contains("USING INDEX request_state_created (state=?)") }.count == states.count, "\(text)")
        #expect(!plan.contains { $0.detail.hasPrefix("SCAN request") }, "\(text)")
        let ranges = Set(plan.filter { $0.detail.hasPrefix("CO-ROUTINE") }.map(\.id))
        #expect(ranges.count == states.count, "\(text)")
        #expect(!plan.contains { $0.detail.contains("TEMP B-TREE") && ranges.contains($0.parent) }, "\(text)")
    }

    @Test("status lists overdue requests newest first, per state, without sorting every open request")
    func overduePage() throws {
        for (index, state) in ["received", "in_progress", "failed", "completed"].enumerated() {
            for n in 0..<3 {
                try db.writer.write { db in
                    try db.execute(sql: """
                        INSERT INTO request (id, kind, purposes, pseudonym, received, due, created_at, state)
                        VALUES (?, 'erasure', '[]', 'psn_x', '2026-10-01', ?, ?, ?)
                        """, arguments: ["req-\(state)-\(n)", n == 2 ? "2027-01-01" : "2026-11-01", Double(index * 10 + n), state])
                }
            }
        }
        let today = CalendarDate(iso: "2026-12-01")!
        // Overdue: due before today and still needing work; newest first across the states.
        #expect(try db.requests(state: nil, overdueOn: today, limit: 10).map(\.id) == [
            "req-failed-1", "req-failed-0", "req-in_progress-1", "req-in_progress-0", "req-received-1", "req-received-0",
        ])
        #expect(try db.requests(state: nil, overdueOn: today, limit: 3).map(\.id) == ["req-failed-1", "req-failed-0", "req-in_progress-1"])
        #expect(try db.requests(state: .inProgress, overdueOn: today, limit: 10).map(\.id) == ["req-in_progress-1", "req-in_progress-0"])
        #expect(try db.requests(state: .completed, overdueOn: today, limit: 10).isEmpty)
        #expect(try db.requests(state: .completed, overdueOn: nil, limit: 2).map(\.id) == ["req-completed-2", "req-completed-1"])
        #expect(try db.requests(state: nil, overdueOn: nil, limit: 2).map(\.id) == ["req-completed-2", "req-completed-1"])
    }

    @Test("each action's recorded final event is the one grouping the whole log gives: retries, failures, follow-ups, cancels, rescues")
    func finalEventsRecorded() async throws {
        let retention = RetainedData(purpose: "invoicing", basis: .legalObligation, attributes: [AttributePath(name: "addresses")], groups: [],
                                     until: CalendarDate(iso: "2027-01-01")!)
        for i in 0..<5 {
            let subject = SubjectIdentifiers(email: "p\(i)@example.com")
            let plan = [PlannedAction(target: "t0", operation: .anonymize, match: .email,
                                      attributes: [AttributeChange(path: AttributePath(name: "name"), strategy: .remove)], retained: [retention], reason: "r"),
                        PlannedAction(target: "t1", operation: .delete, match: .email, reason: "r")]
            _ = try db.file(NewRequest(id: "req-\(i)", kind: .erasure, ref: nil, pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                                       received: CalendarDate(iso: "2026-12-01")!, plan: plan), now: now)
        }
        _ = try db.cancel("req-4", reason: "withdrawn", now: now)
        let policy = RetryPolicy(RetrySettings())
        func record(_ claimed: ClaimedAction, _ result: ActionStateMachine.AttemptResult, at date: Date) async throws {
            try await db.record(AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: date, finishedAt: date, result: .succeeded),
                                transition: ActionStateMachine.afterAttempt(result, attemptsUsed: claimed.attemptsInBudget, policy: policy, random: 0), now: date)
        }
        for target in ["t0", "t1"] {
            for claimed in try await db.claim(target: target, limit: 10, runner: "t", now: now) {
                switch claimed.requestId {
                case "req-0": // anonymized: the retention's follow-up is scheduled
                    try await db.recordAccountRef(actionId: claimed.action.id, accountRef: "u-0")
                    try await record(claimed, .succeeded(.anonymized, verification: "read back"), at: now)
                case "req-1": try await record(claimed, .transientFailure("HTTP 503", retryAfter: nil), at: now)
                case "req-2": try await record(claimed, .permanentFailure("HTTP 403"), at: now)
                default: break  // req-3 stays running and is rescued below
                }
            }
        }
        _ = try await db.rescueRunning(now: now)
        _ = try db.retry("req-2", target: nil, identifiers: SubjectIdentifiers(email: "p2@example.com"), replans: [:], now: now)
        // Years later: the follow-up is due and done, the retried and rescued actions too.
        let later = Date(timeIntervalSince1970: CalendarDate(iso: "2027-01-03")!.secondsSince1970AtMidnightUTC)
        for target in ["t0", "t1"] {
            for claimed in try await db.claim(target: target, limit: 10, runner: "t", now: later) {
                try await record(claimed, .succeeded(claimed.action.follows == nil ? .deleted : .attributesRemoved, verification: "read back"), at: later)
            }
        }
        let ids = (0..<5).map { "req-\($0)" }
        let actions = try db.actions(of: ids)
        #expect(actions.values.joined().contains { $0.follows != nil && $0.state == .succeeded }, "a follow-up ran")
        /// Only the keys a report row looks up: each action's target, or target@day for a follow-up.
        func cited(_ all: [String: [String: AuditEvent]]) -> [String: [String: AuditEvent]] {
            Dictionary(uniqueKeysWithValues: ids.map { id in
                (id, Dictionary(uniqueKeysWithValues: (actions[id] ?? []).compactMap { action -> (String, AuditEvent)? in
                    let key = action.notBefore.map { "\(action.target)@\($0)" } ?? action.target
                    return all[id]?[key].map { (key, $0) }
                }))
            })
        }
        let fromLog = try await db.writer.read { try AppDatabase.finalTargetEventsFromLog($0, requestIds: ids) }
        let recorded = try db.finalTargetEvents(requestIds: ids)
        let citedCount: Int = cited(fromLog).values.reduce(0) { $0 + $1.count }
        let actionCount: Int = actions.values.reduce(0) { $0 + $1.count }
        #expect(citedCount == actionCount, "every action has a final event")
        #expect(recorded == cited(fromLog))
        // The migration computes the same from the log for a database that had no column.
        try await db.writer.write { try $0.execute(sql: "DELETE FROM action_final") }
        #expect(try db.finalTargetEvents(requestIds: ids).isEmpty)
        try await db.writer.write { try $0.execute(sql: AppDatabase.finalSeqFromLog) }
        #expect(try db.finalTargetEvents(requestIds: ids) == cited(fromLog))
    }

    @Test("a database a newer Lethe brought up to date is refused with a clear error, and left as it was")
    func newerDatabaseRefused() throws {
        let queue = try DatabaseQueue()
        _ = try AppDatabase(queue)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-a-later-lethe')") }
        let before = try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect {
            _ = try AppDatabase(queue)
        } throws: { error in
            "\(error)".contains("brought up to date by a newer version of Lethe") && "\(error)".contains("nothing was changed")
                && "\(error)".contains("run a Lethe whose schema reaches v99-from-a-later-lethe")
                && "\(error)".contains("this Lethe knows up to \(AppDatabase.schemaVersions.last!)")
        }
        #expect(try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") } == before)
    }

    @Test("a database behind this version's schema is noticed, with its actions, before a migration goes through them; then backfilled")
    func pendingMigrationNoticed() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v12-audit-hash-not-indexed")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, kind, ref, purposes, pseudonym, email, received, due, created_at, state)
                VALUES ('req-old', 'erasure', 'OLD-1', '[]', 'psn_1', 'old@example.com', '2026-11-01', '2026-12-01', 1796083200, 'in_progress');
                INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES ('req-old', 'shop', '{}', 'delete', 'running', 1796083200);
                INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES ('req-old', 'crm', '{}', 'delete', 'pending', 1796083200);
                INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash)
                VALUES (1, '2026-11-30T00:00:00Z', 'req-old', NULL, 'request_filed', '{}', '0', 'h1'),
                       (2, '2026-11-30T00:00:01Z', 'req-old', 'shop', 'action_started', '{"attempt":1}', 'h1', 'h2');
                """)
        }
        #expect(try queue.read(AppDatabase.pendingMigrationWork) == 2)
        let database = try AppDatabase(queue)
        #expect(try queue.read(AppDatabase.pendingMigrationWork) == nil)
        // The backfill names shop's last event; crm has none yet.
        #expect(try database.finalTargetEvents(requestIds: ["req-old"])["req-old"]?.mapValues(\.seq) == ["shop": 2])
    }

    @Test("the claim finds due work through the index, not by scanning the scheduled follow-ups of years to come")
    func claimUsesIndex() throws {
        let plan = try db.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + AppDatabase.oldestDue, arguments: ["target": "shop", "now": 0, "limit": 16]).map { $0["detail"] as String }
        }
        // One range read per claimable state, already in order: no scan, and no sort but the
        // final one over at most 3 × LIMIT rows.
        #expect(plan.filter { $0.contains("USING INDEX action_target_due") || $0.contains("USING COVERING INDEX action_target_due") }.count == 3, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN action") }, "\(plan)")
        #expect(plan.filter { $0.contains("TEMP B-TREE") }.count <= 1, "\(plan)")
        let probe = try db.writer.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM action INDEXED BY action_target_due
                    WHERE target = ? AND state IN \(AppDatabase.claimableStates) AND next_attempt_at <= ?)
                """, arguments: ["shop", 0]).map { $0["detail"] as String }
        }
        #expect(!probe.contains { $0.hasPrefix("SCAN action") }, "\(probe)")
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    struct Refused: Error {}

    @Test("concurrent writes share transactions; each returns only once its change is readable from another connection; a failing one is rolled back alone")
    func groupCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-group-commit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = try AppDatabase.open(path: directory.appendingPathComponent("lethe.db").path)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<200 {
                group.addTask {
                    do {
                        try await db.commits.write { database in
                            try database.execute(sql: "INSERT INTO meta (key, value) VALUES (?, 'x')", arguments: ["k\(i)"])
                            if i % 50 == 7 { throw Refused() }
                        }
                    } catch is Refused {
                        return (i, false)
                    }
                    // Committed: a reader (another connection of the pool) sees it now.
                    let seen = try await db.writer.read { database in try Bool.fetchOne(database, sql: "SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?)", arguments: ["k\(i)"]) }
                    return (i, seen == true)
                }
            }
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.count == 200)
        #expect(outcomes.filter { !$0.value }.keys.sorted() == [7, 57, 107, 157], "only the refused writes are missing, and every other was visible on return")
        let stored = try await db.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'") }
        #expect(stored == 196)
    }
}
