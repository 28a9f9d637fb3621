import Foundation
import LetheCore
import LetheStorage

/// The behaviours every store must have, written once against the protocols of LetheStorage.
/// A store's tests run each of them with a `StoreContract.Fixture` of that store: the SQLite
/// store's in `LetheStoreTests/StoreContractTests.swift`; the next store adds its own fixture
/// and runs the same list. Each check throws `StoreContract.Broken` naming what did not hold.
public enum StoreContract {
    /// How to make the store under test.
    public struct Fixture: Sendable {
        /// Opens the store over one place (a file, a database): calling it again opens the same
        /// place again, as a restarted process would.
        public let open: @Sendable () throws -> any Store
        /// Where the store's own bytes can be read back, to look for purged text (nil when the
        /// store keeps nothing a test can read, such as a server's files).
        public let rawBytes: (@Sendable () throws -> Data)?
        /// Removes what `open` made.
        public let cleanUp: @Sendable () -> Void

        public init(open: @escaping @Sendable () throws -> any Store, rawBytes: (@Sendable () throws -> Data)? = nil,
                    cleanUp: @escaping @Sendable () -> Void = {}) {
            self.open = open
            self.rawBytes = rawBytes
            self.cleanUp = cleanUp
        }
    }

    /// A behaviour that did not hold.
    public struct Broken: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static let now = Date(timeIntervalSince1970: 1_796_083_200)
    static let pseudonymizer = Pseudonymizer(key: Data(repeating: 7, count: 32))

    /// Every check, by name, for a parameterised test.
    public static let checks: [(name: String, run: @Sendable (Fixture) async throws -> Void)] = [
        ("claims are never handed out twice", claimsNeverTwice),
        ("a recorded result survives reopening the store", recordsDurable),
        ("the end of a request purges every identifier", purgeLeavesNoIdentifier),
        ("concurrent appends form one linear chain", chainAppendsLinear),
        ("filing is all or nothing, and a reference is filed once", filingAtomic),
        ("an open request's identifiers are unreadable at rest, and read back whole", identifiersSealed),
        ("a claim whose lease ran out is taken over, and its late results are refused", leasesFence),
        ("a target's cap holds across runners claiming at once", capsAcrossRunners),
        ("results recorded at once stand each on their own: a stale one is refused, the others kept", concurrentResultsApart),
        ("a manual task waits for a person, is confirmed once by someone other than the filer, and is announced overdue once", manualTasks),
        ("dashboard sessions are found until they end or close, and by their id only", sessionsKept),
        ("a job is held by one holder at a time, and taken over once its lease runs out", jobsOnce),
    ]

    static func request(_ id: String, email: String, targets: [String], ref: String? = nil) -> NewRequest {
        let subject = SubjectIdentifiers(email: email)
        return NewRequest(id: id, kind: .erasure, ref: ref, pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                          requestedBy: "contract", received: CalendarDate(iso: "2026-12-01")!,
                          plan: targets.map { PlannedAction(target: $0, operation: .delete, match: .email, reason: "contract") })
    }

    static func succeed(_ claimed: ClaimedAction, in store: any Store, at time: Date = now) async throws -> RequestState {
        let transition = ActionStateMachine.afterAttempt(.succeeded(.deleted, verification: "404 and the lookup finds none"), attemptsUsed: 1,
                                                         policy: RetryPolicy(RetrySettings()), random: 0)
        return try await store.record(AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: time, finishedAt: time,
                                                    result: .succeeded), transition: transition, now: time)
    }

    static func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw Broken(what()) }
    }

    /// Four claimers at once over 40 due actions of two targets: every action is handed out
    /// exactly once, and no claim exceeds its limit.
    @Sendable static func claimsNeverTwice(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        _ = try store.file(batch: (0..<20).map { request("req-\($0)", email: "p\($0)@example.com", targets: ["a", "b"]) }, now: now)
        let claimed = try await withThrowingTaskGroup(of: [ClaimedAction].self) { group in
            for runner in 0..<4 {
                group.addTask {
                    var mine: [ClaimedAction] = []
                    while true {
                        let batch = try await store.claim([(target: "a", limit: 3), (target: "b", limit: 2)], runner: "r\(runner)", now: now, lease: 60, caps: [:])
                        try expect(batch.filter { $0.action.target == "a" }.count <= 3 && batch.filter { $0.action.target == "b" }.count <= 2,
                                   "a claim handed out more than its limit")
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }
            }
            return try await group.reduce(into: [ClaimedAction]()) { $0 += $1 }
        }
        let ids = claimed.map(\.action.id)
        try expect(ids.count == 40, "40 actions were due, \(ids.count) were claimed")
        try expect(Set(ids).count == ids.count, "an action was claimed twice")
        try expect(claimed.allSatisfy { $0.attempt == 1 && $0.identifiers?.email != nil }, "a claim lacks its attempt or identifiers")
    }

    /// Results recorded by concurrent tasks are there after the store is opened again.
    @Sendable static func recordsDurable(_ fixture: Fixture) async throws {
        do {
            let store = try fixture.open()
            _ = try store.file(batch: (0..<10).map { request("req-\($0)", email: "d\($0)@example.com", targets: ["a"]) }, now: now)
            let claimed = try await store.claim([(target: "a", limit: 10)], runner: "r", now: now, lease: 60, caps: [:])
            try expect(claimed.count == 10, "10 actions due, \(claimed.count) claimed")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for action in claimed {
                    group.addTask {
                        try await store.recordAccountRef(actionId: action.action.id, accountRef: "u-\(action.action.id)")
                        _ = try await succeed(action, in: store)
                    }
                }
                try await group.waitForAll()
            }
        }
        let reopened = try fixture.open()
        let states = try reopened.states(of: Set((0..<10).map { "req-\($0)" }))
        try expect(states.count == 10 && states.values.allSatisfy { $0 == .completed }, "not every recorded result survived: \(states)")
        let actions = try reopened.actions(of: (0..<10).map { "req-\($0)" })
        try expect(actions.values.joined().allSatisfy { $0.accountRef?.hasPrefix("u-") == true && $0.outcome == .deleted },
                   "an account reference or outcome was lost")
        try expect(try reopened.verifyAuditChain(through: nil).problem == nil, "the chain does not verify after reopening")
    }

    /// Once a request ends, its identifiers are nowhere: not in the request, not in the log,
    /// not in the store's own bytes (when it has bytes to read).
    @Sendable static func purgeLeavesNoIdentifier(_ fixture: Fixture) async throws {
        let email = "purge.me.\(UUID().uuidString.prefix(8))@example.com"
        let store = try fixture.open()
        _ = try store.file(request("req-purge", email: email, targets: ["a"]), now: now)
        let claimed = try await store.claim([(target: "a", limit: 1)], runner: "r", now: now, lease: 60, caps: [:])
        try expect(claimed.count == 1, "the action was not claimed")
        try expect(try await succeed(claimed[0], in: store) == .completed, "the request did not complete")
        try expect(try store.request("req-purge")?.identifiers == nil, "the request still holds identifiers")
        try expect(!(try store.auditEvents(request: nil)).contains { $0.details.contains(email) }, "an audit event names the subject")
        try store.endOfRun()
        if let rawBytes = fixture.rawBytes {
            let bytes = try rawBytes()
            try expect(bytes.range(of: Data(email.utf8)) == nil, "the store's bytes still hold the purged e-mail address")
        }
    }

    /// Appends from many concurrent writers form one chain: numbered 1...n without a gap, each
    /// linked to the one before, verifiable end to end.
    @Sendable static func chainAppendsLinear(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                group.addTask { _ = try await store.fileGrouped(request("req-c\(i)", email: "c\(i)@example.com", targets: ["a"]), now: now) }
            }
            try await group.waitForAll()
        }
        let events = try store.auditEvents(request: nil)
        try expect(events.map(\.seq) == Array(1...Int64(events.count)), "the chain has a gap or a repeated number")
        try expect(events.count == 30, "30 filings made \(events.count) events")
        for (previous, event) in zip(events, events.dropFirst()) {
            try expect(event.prevHash == previous.hash, "event \(event.seq) does not link to event \(previous.seq)")
        }
        let verified = try store.verifyAuditChain(through: nil)
        try expect(verified.problem == nil && verified.events == 30 && verified.headHash == events.last?.hash,
                   "the chain does not verify: \(verified.problem ?? "wrong head")")
    }

    /// While a request is open, its identifiers are in the store only sealed: the store's bytes
    /// hold none of them; the request, a claim and a reopened store still read them whole.
    @Sendable static func identifiersSealed(_ fixture: Fixture) async throws {
        let email = "sealed.\(UUID().uuidString.prefix(8))@example.com", externalId = "EXT-\(UUID().uuidString.prefix(8))"
        let store = try fixture.open()
        var new = request("req-sealed", email: email, targets: ["a"])
        new.identifiers.externalId = externalId
        _ = try store.file(new, now: now)
        try store.endOfRun()
        if let rawBytes = fixture.rawBytes {
            let bytes = try rawBytes()
            try expect(bytes.range(of: Data(email.utf8)) == nil && bytes.range(of: Data(externalId.utf8)) == nil,
                       "an open request's identifier is readable in the store's bytes")
        }
        try expect(try fixture.open().request("req-sealed")?.identifiers == SubjectIdentifiers(email: email, externalId: externalId),
                   "the identifiers do not read back whole after reopening")
        let claimed = try await store.claim([(target: "a", limit: 1)], runner: "r", now: now, lease: 60, caps: [:])
        try expect(claimed.first?.identifiers == SubjectIdentifiers(email: email, externalId: externalId), "a claim lacks the identifiers")
    }

    /// A claim is renewed while held; once its lease runs out it can be taken back and claimed
    /// again, and everything the first holder then tries to record is refused: the account
    /// reference, what it writes, its result. The new holder's are kept.
    @Sendable static func leasesFence(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        _ = try store.file(request("req-lease", email: "lease@example.com", targets: ["a"]), now: now)
        let first = try await store.claim([(target: "a", limit: 1)], runner: "paused", now: now, lease: 10, caps: [:])
        try expect(first.count == 1 && first[0].leaseExpiresAt == now.addingTimeInterval(10), "the claim does not carry its lease")
        try expect(try await store.renew([first[0].lease], until: now.addingTimeInterval(20)).isEmpty, "a held lease was not renewed")
        try expect(try await store.rescueExpired(now: now.addingTimeInterval(15)) == 0, "a renewed lease was taken back")
        try expect(try await store.rescueExpired(now: now.addingTimeInterval(21)) == 1, "an expired lease was not taken back")
        let second = try await store.claim([(target: "a", limit: 1)], runner: "other", now: now.addingTimeInterval(21), lease: 10, caps: [:])
        try expect(second.count == 1 && second[0].attempt == first[0].attempt + 1, "the action was not claimed again with a new attempt")
        try expect(try await store.renew([first[0].lease], until: now.addingTimeInterval(40)) == [first[0].action.id],
                   "the first holder's renewal was accepted")
        func refused(_ what: String, _ late: () async throws -> Void) async throws {
            do {
                try await late()
                throw Broken("the first holder's \(what) was recorded after its lease was taken over")
            } catch StoreError.leaseLost {}
        }
        let stale = first[0]
        try await refused("account reference") { try await store.recordAccountRef(actionId: stale.action.id, accountRef: "u-stale", attempt: stale.attempt) }
        try await refused("written values") {
            try await store.recordWritten(actionId: stale.action.id, values: ["x": .string("stale")], accountRef: nil, attempt: stale.attempt)
        }
        try await refused("result") { _ = try await succeed(stale, in: store, at: now.addingTimeInterval(22)) }
        try await store.recordAccountRef(actionId: second[0].action.id, accountRef: "u-current", attempt: second[0].attempt)
        try expect(try await succeed(second[0], in: store, at: now.addingTimeInterval(23)) == .completed, "the new holder's result was refused")
        try expect(try await store.renew([second[0].lease], until: now.addingTimeInterval(60)).isEmpty,
                   "a lease whose result was just recorded is reported lost (the engine renews before it hears of the result)")
        let action = try store.actions(of: "req-lease").first
        try expect(action?.accountRef == "u-current" && action?.written.isEmpty == true, "a stale write was kept")
        try expect(try store.verifyAuditChain(through: nil).problem == nil, "the chain does not verify")
    }

    /// Twenty results recorded at once (a store may commit them together), one of them from a
    /// holder whose lease was taken over: that one alone is refused; the others are kept, each
    /// with its own event, and the chain is one line.
    @Sendable static func concurrentResultsApart(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        _ = try store.file(batch: (0..<20).map { request("req-apart-\($0)", email: "apart\($0)@example.com", targets: ["a"]) }, now: now)
        var claimed = try await store.claim([(target: "a", limit: 20)], runner: "r", now: now, lease: 10, caps: [:])
        try expect(claimed.count == 20, "\(claimed.count) of 20 actions were claimed")
        // The seventh's lease runs out and another runner takes it: its first holder is stale.
        let stale = claimed[7]
        _ = try await store.renew(claimed.filter { $0.action.id != stale.action.id }.map(\.lease), until: now.addingTimeInterval(60))
        try expect(try await store.rescueExpired(now: now.addingTimeInterval(11)) == 1, "the stale lease was not taken back")
        let retaken = try await store.claim([(target: "a", limit: 1)], runner: "other", now: now.addingTimeInterval(11), lease: 60, caps: [:])
        try expect(retaken.count == 1 && retaken[0].action.id == stale.action.id, "the stale action was not claimed again")
        claimed[7] = stale
        let outcomes = await withTaskGroup(of: (Int64, Bool).self) { group in
            for action in claimed {
                group.addTask {
                    do {
                        _ = try await succeed(action, in: store, at: now.addingTimeInterval(12))
                        return (action.action.id, true)
                    } catch {
                        return (action.action.id, false)
                    }
                }
            }
            return await group.reduce(into: [Int64: Bool]()) { $0[$1.0] = $1.1 }
        }
        try expect(outcomes[stale.action.id] == false, "the stale holder's result was recorded")
        try expect(outcomes.filter { $0.key != stale.action.id && !$0.value }.isEmpty,
                   "\(outcomes.filter { !$0.value }.count - 1) current results were refused with the stale one")
        let done = try (0..<20).filter { try store.request("req-apart-\($0)")?.state == .completed }.count
        try expect(done == 19, "\(done) of the 19 current results completed their requests")
        try expect(try store.verifyAuditChain(through: nil).problem == nil, "the chain does not verify")
    }

    /// A manual target's action handed to a person waits (never claimed, the request open);
    /// the filer of a request that needed approval may not confirm it; another person's
    /// confirmation ends it, said as theirs; a second confirmation is refused; a task past its
    /// due time is announced once.
    @Sendable static func manualTasks(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        var filing = request("req-task", email: "task@example.com", targets: ["dw"])
        filing.requestedBy = "Ana Admin"
        filing.needsApproval = true
        _ = try store.file(filing, now: now)
        _ = try store.file(request("req-late", email: "late@example.com", targets: ["dw"]), now: now)
        _ = try store.approve("req-task", by: .person("Bo Berg"), now: now)
        let claimed = try await store.claim([(target: "dw", limit: 5)], runner: "r", now: now, lease: 60, caps: [:])
        try expect(claimed.count == 2, "\(claimed.count) of 2 manual actions were handed over")
        let handOver = ActionStateMachine.afterAttempt(.handedOver(within: 3600), attemptsUsed: 1, policy: RetryPolicy(RetrySettings()), random: 0)
        for action in claimed {
            let state = try await store.record(AttemptReport(actionId: action.action.id, number: action.attempt, startedAt: now, finishedAt: now,
                                                             result: .handedOver), transition: handOver, now: now)
            try expect(state == .inProgress, "a request whose task waits for a person is \(state.rawValue), not in_progress")
        }
        try expect(try await store.claim([(target: "dw", limit: 5)], runner: "r", now: now.addingTimeInterval(7200), lease: 60, caps: [:]).isEmpty,
                   "an action waiting for a person was claimed again")
        try expect(try store.openWork(now: now).count == 0, "a waiting task counts as work a run waits for")
        let tasks = try store.openTasks()
        try expect(tasks.map(\.request.id) == ["req-task", "req-late"] && tasks.allSatisfy { $0.action.state == .awaitingConfirmation },
                   "the open tasks are \(tasks.map(\.request.id)), not both, oldest first")
        try expect(tasks.first?.request.identifiers?.email == "task@example.com", "an open task lacks the identifiers the person needs")

        func refused(_ what: String, _ attempt: () throws -> Void) throws {
            do {
                try attempt()
                throw Broken(what)
            } catch let error as StoreError {
                guard case .invalid = error else { throw Broken("\(what): refused as \(error), not as invalid") }
            }
        }
        let events = try store.auditEvents(request: nil).count
        try refused("the filer confirmed the task of a request that needed approval") {
            _ = try store.confirmTask("req-task", target: "dw", outcome: .erased, by: .person(" ana admin"), note: nil, now: now)
        }
        try expect(try store.auditEvents(request: nil).count == events, "a refused confirmation left an event")
        let state = try store.confirmTask("req-task", target: "dw", outcome: .erased, by: .person("Cy Chen"), note: "runbook DW-7",
                                          now: now.addingTimeInterval(60))
        try expect(state == .completed, "the request is \(state.rawValue) after its only task was confirmed")
        let action = try store.actions(of: "req-task").first
        try expect(action?.state == .succeeded && action?.outcome == .deleted && action?.evidence == .person && action?.confirmedBy == "Cy Chen"
                   && action?.verified == nil, "the confirmed action does not say a person confirmed it (\(String(describing: action)))")
        let kept = try store.request("req-task")?.identifiers
        try expect(kept == nil || kept == SubjectIdentifiers(), "the identifiers outlived the confirmed request")
        try refused("a task was confirmed twice") {
            _ = try store.confirmTask("req-task", target: "dw", outcome: .notFound, by: .person("Di Dahl"), note: nil, now: now)
        }

        try expect(try store.announceOverdueTasks(now: now.addingTimeInterval(1800)).isEmpty, "a task was announced overdue before its due time")
        let late = try store.announceOverdueTasks(now: now.addingTimeInterval(3601))
        try expect(late.map(\.requestId) == ["req-late"], "overdue announced: \(late.map(\.requestId)), not the one late task")
        try expect(try store.announceOverdueTasks(now: now.addingTimeInterval(7200)).isEmpty, "an overdue task was announced twice")
        try expect(try store.auditEvents(request: "req-late").filter { $0.event == AuditEventKind.taskOverdue.rawValue }.count == 1,
                   "the overdue event is not in the chain once")
        let failed = try store.confirmTask("req-late", target: "dw", outcome: .cannotComply, by: .person("Cy Chen"), note: "legal hold",
                                           now: now.addingTimeInterval(7300))
        try expect(failed == .failed, "a task that cannot be complied with leaves its request \(failed.rawValue), not failed")
        try expect(try store.verifyAuditChain(through: nil).problem == nil, "the chain does not verify")
    }

    /// Three runners claim at once for one target capped at 4: never more than 4 of its actions
    /// run, whoever claimed them; once some finish, others may be claimed, still within the cap.
    @Sendable static func capsAcrossRunners(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        _ = try store.file(batch: (0..<12).map { request("req-cap-\($0)", email: "cap\($0)@example.com", targets: ["a"]) }, now: now)
        let claimed = try await withThrowingTaskGroup(of: [ClaimedAction].self) { group in
            for runner in 0..<3 {
                group.addTask { try await store.claim([(target: "a", limit: 4)], runner: "r\(runner)", now: now, lease: 60, caps: ["a": 4]) }
            }
            return try await group.reduce(into: [ClaimedAction]()) { $0 += $1 }
        }
        try expect(claimed.count == 4, "\(claimed.count) actions of a target capped at 4 were claimed by three runners")
        for action in claimed.prefix(2) { _ = try await succeed(action, in: store) }
        let more = try await store.claim([(target: "a", limit: 4)], runner: "r9", now: now, lease: 60, caps: ["a": 4])
        try expect(more.count == 2, "after two finished, \(more.count) more were claimed; the cap leaves room for 2")
    }

    /// A session is found by its id until it ends or is closed, from a reopened store too; the
    /// store's bytes hold its digest, never the id.
    @Sendable static func sessionsKept(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        let (token, _) = try store.createToken(name: "desk", role: .officer, now: now)
        let id = "session-\(UUID().uuidString)"
        try store.openSession(DashboardSessionRecord(id: id, tokenId: token.id, csrf: "csrf-1", expires: now.addingTimeInterval(3600)), now: now)
        try expect(try fixture.open().session(id: id, now: now.addingTimeInterval(60))?.csrf == "csrf-1", "an open session is not found after reopening")
        try expect(try store.session(id: id + "x", now: now) == nil, "another id finds the session")
        try expect(try store.session(id: id, now: now.addingTimeInterval(3601)) == nil, "an ended session is found")
        let second = "session-\(UUID().uuidString)"
        try store.openSession(DashboardSessionRecord(id: second, tokenId: token.id, csrf: "csrf-2", expires: now.addingTimeInterval(3600)), now: now)
        try store.closeSession(id: second)
        try expect(try store.session(id: second, now: now) == nil, "a closed session is found")
        try store.endOfRun()
        if let rawBytes = fixture.rawBytes {
            try expect(try rawBytes().range(of: Data(id.utf8)) == nil, "a session id is in the store's bytes")
        }
    }

    /// Of many holders asking at once, one gets the job; it renews it; nobody else gets it until
    /// the lease runs out or it is released.
    @Sendable static func jobsOnce(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        let winners = try await withThrowingTaskGroup(of: String?.self) { group in
            for holder in 0..<6 {
                group.addTask { try store.acquireJob("webhooks", holder: "h\(holder)", until: now.addingTimeInterval(60), now: now) ? "h\(holder)" : nil }
            }
            return try await group.reduce(into: [String]()) { if let won = $1 { $0.append(won) } }
        }
        try expect(winners.count == 1, "\(winners.count) holders got the job at once")
        let holder = winners[0], other = holder == "h0" ? "h1" : "h0"
        try expect(try store.acquireJob("webhooks", holder: holder, until: now.addingTimeInterval(120), now: now.addingTimeInterval(30)), "the holder cannot renew")
        try expect(!(try store.acquireJob("webhooks", holder: other, until: now.addingTimeInterval(150), now: now.addingTimeInterval(90))),
                   "another holder took a renewed job before its lease ran out")
        try expect(try store.acquireJob("webhooks", holder: other, until: now.addingTimeInterval(200), now: now.addingTimeInterval(121)),
                   "the job was not taken over after its lease ran out")
        try store.releaseJob("webhooks", holder: holder)
        try expect(!(try store.acquireJob("webhooks", holder: holder, until: now.addingTimeInterval(200), now: now.addingTimeInterval(122))),
                   "a former holder's release freed a job it no longer held")
        try store.releaseJob("webhooks", holder: other)
        try expect(try store.acquireJob("webhooks", holder: holder, until: now.addingTimeInterval(200), now: now.addingTimeInterval(123)),
                   "a released job was not free")
        // Workers' presence: live leases counted by name prefix, expired ones not.
        for (worker, until) in [("worker/a", 300.0), ("worker/b", 300), ("worker/c", 130), ("workers-not", 300)] {
            _ = try store.acquireJob(worker, holder: worker, until: now.addingTimeInterval(until), now: now.addingTimeInterval(124))
        }
        try expect(try store.jobHolders(prefix: "worker/", now: now.addingTimeInterval(125)) == 3, "live workers were not counted by prefix")
        try expect(try store.jobHolders(prefix: "worker/", now: now.addingTimeInterval(131)) == 2, "a worker whose lease ran out was counted")
    }

    /// A filing stores the request, its actions and its event together; the same reference
    /// for the same subject returns the first request and stores nothing new.
    @Sendable static func filingAtomic(_ fixture: Fixture) async throws {
        let store = try fixture.open()
        let first = try store.file(request("req-f1", email: "f@example.com", targets: ["a", "b"], ref: "REF-1"), now: now)
        guard case .filed = first else { throw Broken("the first filing was not filed") }
        let again = try store.file(request("req-f2", email: "f@example.com", targets: ["a", "b"], ref: "REF-1"), now: now)
        guard case .existing(let existing) = again, existing.id == "req-f1" else { throw Broken("the reference was filed twice") }
        try expect(try store.actions(of: "req-f1").count == 2 && (try store.actions(of: "req-f2")).isEmpty, "actions are missing or doubled")
        try expect(try store.auditEvents(request: nil).count == 1, "a repeated reference wrote an event")
        do {
            _ = try store.file(request("req-f3", email: "other@example.com", targets: ["a"], ref: "REF-1"), now: now)
            throw Broken("a reference was reused for another subject")
        } catch is StoreError {}
        try expect(try store.request("req-f3") == nil && (try store.actions(of: "req-f3")).isEmpty, "a refused filing left rows behind")
    }
}
