import Foundation
import GRDB
import LetheCore
@testable import LetheStore
import LetheStorage
import Testing

/// Four eyes and the grace period, in the store: what is claimed when, who may approve, and
/// what a rejection leaves.
@Suite("Store: approval, rejection and the grace period")
struct ApprovalTests {
    let db: AppDatabase
    let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01
    let pseudonymizer = Pseudonymizer(key: Data(repeating: 7, count: 32))

    init() throws { db = try AppDatabase.inMemory() }

    func newRequest(_ id: String = "req-1", ref: String? = "T-1", by filer: String? = "Ana Admin", approval: Bool = true, grace: Double = 0,
                    received: String = "2026-12-01", operations: [PlannedOperation] = [.delete, .anonymize]) -> NewRequest {
        let subject = SubjectIdentifiers(email: "subject-\(id)@example.com")
        let plan = operations.enumerated().map { i, op in
            PlannedAction(target: "t\(i)", operation: op, match: op == .needsReview || op == .none ? nil : .email, reason: "test")
        }
        var new = NewRequest(id: id, kind: .erasure, ref: ref, pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                             requestedBy: filer, received: CalendarDate(iso: received)!, plan: plan)
        new.needsApproval = approval
        new.grace = grace
        return new
    }

    func claimAll(at time: Date) async throws -> [ClaimedAction] {
        try await db.claim([(target: "t0", limit: 10), (target: "t1", limit: 10)], runner: "test", now: time)
    }

    @Test("a request awaiting approval is never claimed, however late it gets, and `lethe run --until-idle` does not wait for it")
    func awaitingIsNeverClaimed() async throws {
        let filed = try db.file(newRequest(), now: now).request
        #expect(filed.state == .awaitingApproval)
        #expect(try db.request("req-1") == filed, "what filing returns is what is stored")
        #expect(try db.actions(of: "req-1").map(\.state) == [.held, .held])
        for days in [0.0, 1, 40, 400] {
            #expect(try await claimAll(at: now.addingTimeInterval(days * 86_400)).isEmpty, "claimed \(days) days later")
        }
        #expect(try db.openWork(now: now.addingTimeInterval(86_400)).count == 0)
        #expect(try db.count(state: .awaitingApproval) == 1)
        let filedEvent = try #require(try db.auditEvents().first { $0.event == "request_filed" })
        #expect(filedEvent.details.contains(#""approval":"required""#))
    }

    @Test("self-approval is refused, whatever the case or blanks, and changes nothing; another person's approval lets it run")
    func fourEyes() async throws {
        _ = try db.file(newRequest(), now: now)
        let before = try db.auditEvents().count
        for name in ["Ana Admin", "ana admin", "  ANA ADMIN "] {
            #expect(throws: StoreError.selfApproval(requestId: "req-1", filer: "Ana Admin")) {
                try db.approve("req-1", by: .person(name), now: now)
            }
        }
        #expect(try db.auditEvents().count == before, "a refused approval records nothing")
        #expect(try db.request("req-1")?.state == .awaitingApproval)
        #expect(try db.actions(of: "req-1").map(\.state) == [.held, .held])

        let approved = try db.approve("req-1", by: .person("Bo Berg"), note: "identity checked", now: now)
        #expect(approved.state == .received)
        #expect(approved.approval == Approval(state: .approved, by: "Bo Berg", at: now, note: "identity checked"))
        #expect(try db.actions(of: "req-1").map(\.state) == [.pending, .pending])
        #expect(try await claimAll(at: now).count == 2)
        let event = try #require(try db.auditEvents().first { $0.event == AuditEventKind.approvalGranted.rawValue })
        #expect(event.details.contains(#""by":"Bo Berg""#) && event.details.contains(#""filed_by":"Ana Admin""#))
        #expect(throws: StoreError.self) { try db.approve("req-1", by: .person("Cy Chen"), now: now) }
    }

    @Test("approval is refused for a request filed without a name, one that needs none, and one cancelled while it waited")
    func approvalRefusals() throws {
        _ = try db.file(newRequest("req-1", ref: "A", by: nil), now: now)
        #expect(throws: StoreError.self) { try db.approve("req-1", by: .person("Bo Berg"), now: now) }
        _ = try db.file(newRequest("req-2", ref: "B", approval: false), now: now)
        #expect(throws: StoreError.self) { try db.approve("req-2", by: .person("Bo Berg"), now: now) }
        _ = try db.file(newRequest("req-3", ref: "C"), now: now)
        let cancelled = try db.cancel("req-3", reason: "filed in error", now: now)
        #expect(cancelled.state == .cancelled)
        #expect(try db.actions(of: "req-3").map(\.state) == [.cancelled, .cancelled])
        #expect(throws: StoreError.self) { try db.approve("req-3", by: .person("Bo Berg"), now: now) }
    }

    @Test("the grace period: nothing is claimed before filing time + grace; approval after it ends starts at once")
    func grace() async throws {
        _ = try db.file(newRequest("req-1", ref: "A", approval: false, grace: 3600), now: now)
        let request = try #require(try db.request("req-1"))
        #expect(request.startsAt == now.addingTimeInterval(3600))
        #expect(try await claimAll(at: now.addingTimeInterval(3599)).isEmpty)
        let work = try db.openWork(now: now.addingTimeInterval(10))
        #expect(work.count == 0 && work.later == 2, "until-idle does not wait out a grace period")
        #expect(try await claimAll(at: now.addingTimeInterval(3600)).count == 2)

        // Approved two hours after filing, with a one-hour grace: due at once.
        _ = try db.file(newRequest("req-2", ref: "B", grace: 3600), now: now)
        _ = try db.approve("req-2", by: .person("Bo Berg"), now: now.addingTimeInterval(7200))
        #expect(try db.actions(of: "req-2").allSatisfy { $0.nextAttemptAt == now.addingTimeInterval(7200) })
        // Approved at once, with a one-hour grace: due when the grace ends.
        _ = try db.file(newRequest("req-3", ref: "C", grace: 3600), now: now)
        _ = try db.approve("req-3", by: .person("Bo Berg"), now: now.addingTimeInterval(60))
        #expect(try db.actions(of: "req-3").allSatisfy { $0.nextAttemptAt == now.addingTimeInterval(3600) })
    }

    @Test("cancelling inside the grace period leaves every action not carried out, with no attempt")
    func cancelInsideGrace() async throws {
        _ = try db.file(newRequest(approval: false, grace: 86_400), now: now)
        let cancelled = try db.cancel("req-1", reason: "filed for the wrong customer", now: now.addingTimeInterval(600))
        #expect(cancelled.state == .cancelled)
        #expect(try db.actions(of: "req-1").allSatisfy { $0.state == .cancelled && $0.attempts == 0 })
        #expect(try await claimAll(at: now.addingTimeInterval(2 * 86_400)).isEmpty)
    }

    @Test("a rejection ends the request `rejected` with its reason and purges its identifiers; once work started, it is refused")
    func rejection() async throws {
        _ = try db.file(newRequest(), now: now)
        let rejected = try db.reject("req-1", by: "Bo Berg", reason: "identity not verified", now: now)
        #expect(rejected.state == .rejected && rejected.state.isTerminal)
        #expect(rejected.identifiers == nil, "identifiers purged")
        #expect(rejected.approval == Approval(state: .rejected, by: "Bo Berg", at: now, note: "identity not verified"))
        #expect(try db.actions(of: "req-1").allSatisfy { $0.state == .cancelled && $0.lastError == AuditChain.notCarriedOutRejected })
        let events = try db.auditEvents(request: "req-1").map(\.event)
        #expect(events.contains("rejection_recorded") && events.contains("request_rejected") && events.contains("identifiers_purged"))
        #expect(rejected.standing(today: CalendarDate(iso: "2027-03-01")!) == .rejected, "rejected is never overdue")
        #expect(throws: StoreError.self) { try db.approve("req-1", by: .person("Cy Chen"), now: now) }
        #expect(throws: StoreError.self) { try db.retry("req-1", target: nil, identifiers: nil, replans: [:], now: now) }

        // Work has started: a rejection would misstate what happened.
        _ = try db.file(newRequest("req-2", ref: "B", approval: false), now: now)
        #expect(try await claimAll(at: now).count == 2)
        #expect(throws: StoreError.self) { try db.reject("req-2", by: "Bo Berg", reason: "too late", now: now) }
        #expect(try db.request("req-2")?.state == .inProgress)
    }

    @Test("the one-month clock runs from receipt: a request awaiting approval past its due date is overdue")
    func awaitingPastDueIsOverdue() throws {
        _ = try db.file(newRequest(received: "2026-10-15"), now: now)
        let request = try #require(try db.request("req-1"))
        #expect(request.due.description == "2026-11-15")
        #expect(request.standing(today: CalendarDate(iso: "2026-12-01")!) == .openOverdue)
        #expect(try db.requests(state: nil, overdueOn: CalendarDate(iso: "2026-12-01")!, limit: 10).map(\.id) == ["req-1"])
        #expect(try db.requests(state: .awaitingApproval, overdueOn: nil, limit: 10).map(\.id) == ["req-1"])
    }

    @Test("a retry while approval is awaited puts actions back to held, not pending")
    func retryWhileAwaiting() throws {
        _ = try db.file(newRequest(operations: [.delete, .needsReview]), now: now)
        #expect(try db.request("req-1")?.state == .awaitingApproval)
        let replan = PlannedAction(target: "t1", operation: .delete, match: .email, reason: "identifier given")
        _ = try db.retry("req-1", target: "t1", identifiers: nil, replans: ["t1": replan], now: now)
        #expect(try db.actions(of: "req-1").map(\.state) == [.held, .held])
    }

    @Test("the schema's request and action states are the code's")
    func vocabulary() throws {
        _ = try db.file(newRequest(), now: now)
        for state in RequestState.allCases {
            try db.writer.write { try $0.execute(sql: "UPDATE request SET state = ? WHERE id = 'req-1'", arguments: [state.rawValue]) }
        }
        let action = try #require(try db.actions(of: "req-1").first)
        for state in ActionState.allCases {
            try db.writer.write { try $0.execute(sql: "UPDATE action SET state = ? WHERE id = ?", arguments: [state.rawValue, action.id]) }
        }
        #expect(throws: DatabaseError.self) {
            try db.writer.write { try $0.execute(sql: "UPDATE request SET state = 'approved' WHERE id = 'req-1'") }
        }
    }
}

@Suite("Store: migration v9 keeps what an older database holds")
struct ApprovalMigrationTests {
    @Test("a v8 database with requests, actions and audit events migrates: rows, states and the chain are kept; new columns empty")
    func v8ToV9() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v8-request-filing-order")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, kind, ref, purposes, pseudonym, email, received, due, created_at, state)
                VALUES ('req-old', 'erasure', 'OLD-1', '[]', 'psn_1', 'old@example.com', '2026-11-01', '2026-12-01', 1796083200, 'received');
                INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES ('req-old', 'shop', '{}', 'delete', 'pending', 1796083200);
                INSERT INTO audit_event (seq, at, request_id, event, details, prev_hash, hash) VALUES (1, '2026-11-30T00:00:00Z', 'req-old', 'request_filed', '{}', '0', 'h1');
                """)
        }
        let database = try AppDatabase(queue)
        try queue.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM request WHERE id = 'req-old'"))
            let (state, email, ref): (String, String?, String?) = (row["state"], row["email"], row["ref"])
            #expect(state == "received" && email == "old@example.com" && ref == "OLD-1")
            #expect((row["approval"] as String?) == nil && (row["starts_at"] as Double?) == nil)
            #expect(try String.fetchOne(db, sql: "SELECT state FROM action WHERE request_id = 'req-old'") == "pending")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_event") == 1)
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
            for name in ["request_state_due", "request_created", "request_state_created", "request_received_state", "action_due", "action_target_due",
                         "audit_event_request"] {
                #expect(indexes.contains(name), "index \(name)")
            }
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
        }
        // An old request, without a start time, is claimed as before.
        let request = try #require(try database.request("req-old"))
        #expect(request.approval == nil && request.startsAt == nil)
    }
}
