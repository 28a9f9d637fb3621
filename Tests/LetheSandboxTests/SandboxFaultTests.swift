import Foundation
import Synchronization
import LetheApp
import LetheCore
import LetheDrivers
import LetheEngine
import LetheSandbox
import LetheReports
import LetheSCIM
import LetheStorage
import LetheStore
import LetheTesting
import Testing

extension EngineHarness {
    /// Files a request for the sandbox's seeded customer number `customer`.
    func file(_ kind: RequestKind, customer: Int) throws -> String {
        try file(kind, SubjectIdentifiers(email: SandboxCustomers.email(customer)))
    }
}

/// The engine against the sandbox, one fault kind at a time.
@Suite("Engine against the sandbox's faults")
struct SandboxFaultTests {
    @Test("429 with Retry-After: retried after the wait, then completed")
    func rateLimited() async throws {
        let h = try await EngineHarness.sandbox(faults: "crm:429=0.15,crm:retry-after=1", maxAttempts: 20, clock: VirtualClock()) { $0.engine.retry.max = .seconds(5) }
        let id = try h.file(.revocation(purposes: ["marketing"]), customer: 1)
        let summary = try await h.with { try await $0.run() }
        #expect(summary.requests[id] == .completed)
        let crm = try h.action(id, "crm")
        let attempts = try h.database.attempts(of: crm.id)
        #expect(attempts.count >= 2 && attempts.first?.statusCode == 429, "\(attempts.map(\.result))")
        for (a, b) in zip(attempts, attempts.dropFirst()) where a.statusCode == 429 {
            #expect(b.startedAt.timeIntervalSince(a.startedAt) >= 1.0, "waited for Retry-After")
        }
    }

    @Test("a soft delete ends failed, not verified")
    func softDelete() async throws {
        let h = try await EngineHarness.sandbox(faults: "app:soft-delete")
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.with { try await $0.run() }
        let app = try h.action(id, "app")
        #expect(app.state == .failed && app.verified == false && app.lastError?.contains("soft delete") == true)
        #expect(try h.action(id, "shop").state == .succeeded)
    }

    @Test("a PATCH that ignores extension paths ends failed, not verified, under update: patch; under auto the PUT that follows makes it")
    func ignoredPatch() async throws {
        for method in [UpdateMethod.patch, .auto] {
            let h = try await EngineHarness.sandbox(faults: "crm:ignore-extension-patch") { $0.scim.update = method }
            let id = try h.file(.revocation(purposes: ["marketing"]), customer: 1)
            _ = try await h.with { try await $0.run() }
            let crm = try h.action(id, "crm")
            if method == .patch {
                #expect(crm.state == .failed && crm.verified == false && crm.lastError?.contains("marketingSegment still holds a value") == true)
            } else {
                #expect(crm.state == .succeeded && crm.verified == true && crm.verification?.contains("made with PUT") == true, "\(crm.verification ?? crm.lastError ?? "")")
            }
        }
    }

    @Test("dropped connections are retried until the work is done")
    func dropped() async throws {
        let h = try await EngineHarness.sandbox(faults: "newsletter:drop=0.4", maxAttempts: 30)
        let id = try h.file(.revocation(purposes: ["newsletter"]), customer: 2)
        let summary = try await h.with { try await $0.run() }
        #expect(summary.requests[id] == .completed)
        let newsletter = try h.action(id, "newsletter")
        #expect(newsletter.attempts >= 2 && newsletter.outcome == .deleted)
        #expect(try h.database.attempts(of: newsletter.id).contains { $0.error?.contains("connection") == true })
    }

    @Test("503 and latency: the broken target fails within its budget; a slow one still completes")
    func brokenAndSlow() async throws {
        let h = try await EngineHarness.sandbox(faults: "shop:503=1,app:latency=200ms", maxAttempts: 3)
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.with { try await $0.run() }
        #expect(try h.action(id, "shop").state == .failed)
        #expect(try h.action(id, "app").state == .succeeded)
        #expect(try h.action(id, "crm").state == .succeeded)
    }

    @Test("each action runs where the transport prefers (the live one: its event loop, through the fault layer)")
    func actionsOnTheTransportsExecutor() async throws {
        let h = try await EngineHarness.sandbox()
        let id = try h.file(.erasure, customer: 0)
        let counting = CountingExecutor()
        try await h.with { h in
            let clients = try h.runtime.clients
            #expect(clients.preferredExecutor != nil, "the live transport offers its event loop and the fault layer passes it on")
            let engine = Engine(store: h.database, policies: h.policies, drivers: Preferring(base: clients, executor: counting), clock: h.clock)
            let summary = try await engine.run(Engine.Options(untilIdle: true, timeout: 60, pollInterval: 0.05))
            #expect(summary.requests[id] == .completed)
        }
        // At least one job per action (its start) and one per SCIM answer it awaited.
        #expect(counting.jobs >= 4 * 2, "\(counting.jobs) jobs ran on the preferred executor")
    }
}

/// The drivers of `base`, preferring `executor` for the engine's actions.
private struct Preferring: TargetDrivers {
    let base: TargetClients
    let executor: CountingExecutor
    var preferredExecutor: (any TaskExecutor)? { executor }
    func driver(for target: String) throws -> any TargetDriver { try base.driver(for: target) }
}

/// Counts the jobs it runs, running each on the global concurrent executor.
private final class CountingExecutor: TaskExecutor {
    private let count = Counter()
    var jobs: Int { count.value }
    func enqueue(_ job: consuming ExecutorJob) {
        count.increment()
        globalConcurrentExecutor.enqueue(job)
    }
}

@Suite("Stopping the engine")
struct EngineStopTests {
    /// shop answers 503 to everything; its retry waits 30 s.
    func harness() async throws -> EngineHarness {
        try await EngineHarness.sandbox(faults: "shop:503=1") { policy in
            policy.engine.retry = RetrySettings(base: .seconds(30), max: .seconds(60), maxAttempts: 5)
        }
    }

    /// Waits (wall time, bounded) until `condition` holds.
    func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return try condition()
    }

    @Test("cancelling the engine while it waits to retry stops it at once, spending no attempt")
    func cancelWhileSleeping() async throws {
        let h = try await harness()
        let id = try h.file(.erasure, customer: 0)
        try await h.with { h in
            let run = Task { try await h.run(timeout: nil) }
            let waiting = try await eventually(30) { try h.action(id, "shop").state == .retrying && h.action(id, "app").state == .succeeded }
            #expect(waiting, "shop is waiting 30 s to retry")
            let cancelledAt = Date()
            run.cancel()
            let summary = try await run.value
            #expect(Date().timeIntervalSince(cancelledAt) < 5.0, "stopped at once, not after the 30 s wait (the margin is for a loaded suite on two cores)")
            #expect(summary.stopped)
            let shop = try h.action(id, "shop")
            #expect(shop.state == .retrying && shop.attempts == 1, "no attempt spent: \(shop.state) after \(shop.attempts)")
            #expect(try h.database.attempts(of: shop.id).count == 1)
        }
    }

    @Test("a stop request while actions are in flight records every claimed action; the next run finishes the work")
    func stopInFlight() async throws {
        let h = try await EngineHarness.sandbox(faults: "app:latency=1500ms")
        let ids = try (0..<2).map { try h.file(.erasure, customer: $0) }
        try await h.with { h in
            let stop = EngineStop()
            let run = Task { try await h.run(timeout: nil, stop: stop) }
            let inFlight = try await eventually { try h.database.actions(of: ids[0]).contains { $0.target == "app" && $0.state == .running } }
            #expect(inFlight)
            let stoppedAt = Date()
            stop.request()
            let summary = try await run.value
            // The in-flight action needed four more calls of 1.5 s; it was cancelled after the grace,
            // not waited for: it is recorded interrupted below (wall-clock bounds are checked on the
            // binary in ShutdownCLITests, where a busy test process cannot skew them).
            _ = stoppedAt
            #expect(summary.stopped && summary.interrupted >= 1)
            for id in ids {
                #expect(try h.database.actions(of: id).allSatisfy { $0.state != .running }, "nothing left running")
            }
            let app = try h.action(ids[0], "app")
            #expect(app.state == .pending, "interrupted, to be taken up again")
            #expect(try h.database.attempts(of: app.id).last?.result == "interrupted")

            let next = try await h.run()
            #expect(next.requests.values.allSatisfy { $0 == .completed }, "\(next.requests)")
            #expect(try ids.allSatisfy { try h.database.request($0)?.state == .completed })
            #expect(try h.database.verifyAuditChain().problem == nil)
        }
    }
}

@Suite("Honest cancellations")
struct CancellationTests {
    @Test("cancelling a request while its delete is in flight lets the delete finish; status and certificate say it happened")
    func cancelInFlight() async throws {
        let h = try await EngineHarness.sandbox(faults: "app:latency=1500ms")
        let id = try h.file(.erasure, customer: 0)
        try await h.with { h in
            let run = Task { try await h.run(timeout: nil) }
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, try h.action(id, "app").state != .running { try await Task.sleep(nanoseconds: 20_000_000) }
            #expect(try h.action(id, "app").state == .running)
            let cancelled = try h.database.cancel(id, reason: "the subject withdrew the request", now: Date())
            #expect(cancelled.state == .inProgress, "not cancelled while app is in flight")
            _ = try await run.value
        }
        let request = try #require(try h.database.request(id))
        #expect(request.state == .cancelled)
        let app = try h.action(id, "app")
        #expect(app.state == .succeeded && app.outcome == .deleted && app.verified == true, "the delete that happened is recorded")
        let note = try #require(request.cancellationNote(actions: try h.database.actions(of: id)))
        #expect(note.contains("app had already been deleted at"), "\(note)")
        let certificate = ReportBuilder(keyId: "k", generatedAt: Date(), chain: try h.database.verifyAuditChain())
            .certificate(request, actions: try h.database.actions(of: id), events: try h.database.auditEvents(request: id))
        #expect(certificate["statement"]?.stringValue?.contains("app had already been deleted at") == true, "\(certificate["statement"] ?? .null)")
    }

    @Test("a cancelled request's actions that never ran say 'not carried out (cancelled)'")
    func notCarriedOut() async throws {
        let h = try await EngineHarness.sandbox()
        let id = try h.file(.erasure, customer: 0)
        let cancelled = try h.database.cancel(id, reason: "filed by mistake", now: Date())
        #expect(cancelled.state == .cancelled)
        let actions = try h.database.actions(of: id)
        #expect(actions.filter { $0.plan.needsWork }.allSatisfy { $0.state == .cancelled && $0.lastError == "not carried out (cancelled)" })
        let note = try #require(cancelled.cancellationNote(actions: actions))
        #expect(note.hasPrefix("cancelled (filed by mistake)") && note.contains("app: not carried out (cancelled)"), "\(note)")
        let summary = try await h.with { try await $0.run() }
        #expect(summary.attempts == 0, "nothing runs for a cancelled request")
    }
}

@Suite("Retention that ends")
struct RetentionTests {
    @Test("data kept under a legal obligation is erased the day after its retention ends, by the recorded SCIM id, verified; the certificate says so")
    func followUpRunsWhenDue() async throws {
        let clock = VirtualClock()
        let h = try await EngineHarness.sandbox(clock: clock)
        let id = try h.file(.erasure, customer: 0)
        let server = try #require(h.sandbox)
        try await h.with { h in
            try await h.run()
            let request = try #require(try h.database.request(id))
            #expect(request.state == .completed && request.identifiers == nil, "completed, identifiers purged")
            let actions = try h.database.actions(of: id)
            let followUp = try #require(actions.first { $0.follows != nil })
            #expect(followUp.target == "shop" && followUp.state == .scheduled)
            #expect(followUp.notBefore == CalendarDate(iso: "2036-11-30"), "received 2026-11-29 + 10y, erased the day after")
            #expect(followUp.plan.attributes.map(\.path.description) == ["addresses"])
            #expect(try h.database.requestsWithOpenFollowUps().map(\.id) == [id])
            let shopUser = try #require(actions.first { $0.target == "shop" && $0.follows == nil }?.accountRef)

            // Not before its day: a run today leaves it alone.
            try await h.run()
            #expect(try h.action(id, "shop").state == .succeeded)
            #expect(try h.database.actions(of: id).first { $0.follows != nil }?.state == .scheduled)

            // Ten years later.
            clock.advance(CalendarDate(iso: "2036-12-01")!.secondsSince1970AtMidnightUTC - clock.now().timeIntervalSince1970)
            try await h.run()
            let done = try #require(try h.database.actions(of: id).first { $0.follows != nil })
            #expect(done.state == .succeeded && done.outcome == .attributesRemoved && done.verified == true, "\(done.state) \(done.lastError ?? "")")
            #expect(try h.database.request(id)?.state == .completed, "the request stays completed, on its first day")
            #expect(try h.database.requestsWithOpenFollowUps().isEmpty)
            let shop = try #require(server.sandbox.user(in: "shop", id: shopUser))
            #expect(shop["addresses"] == nil, "the retained addresses are gone")
            #expect(shop["userName"]?.stringValue?.hasPrefix("erased-") == true, "the account is the anonymized one")

            let certificate = ReportBuilder(keyId: "k", generatedAt: clock.now(), chain: try h.database.verifyAuditChain())
                .certificate(try #require(try h.database.request(id)), actions: try h.database.actions(of: id),
                             events: try h.database.auditEvents(request: id))
            let row = try #require(certificate["request"]?["targets"]?.arrayValue?.first { $0["target"]?.stringValue == "shop" })
            let statement = try #require(row["retention_statement"]?.stringValue)
            #expect(statement.contains("kept under legal_obligation (invoicing) until 2036-11-29; erased on 2036-12-01, verified"), "\(statement)")

            // The period report of the day it ran lists it, whenever the request was received.
            let day = CalendarDate(iso: "2036-12-01")!
            let erased = try h.database.followUps(completedFrom: day, to: day)
            #expect(erased.map(\.requestId) == [id])
            let period = ReportBuilder(keyId: "k", generatedAt: clock.now(), chain: try h.database.verifyAuditChain())
                .periodReport(from: day, to: day, requests: [], actions: [:], retentionErasures: erased,
                              retentionCitations: try h.database.finalTargetEvents(requestIds: [id]))
            let listed = try #require(period["retention_erasures"]?.arrayValue?.first)
            #expect(listed["request"] == .string(id) && listed["verified"] == .bool(true) && listed["audit"]?["seq"] != nil)
            #expect(try h.database.verifyAuditChain().problem == nil)
        }
    }
}

/// RFC 7644 makes PATCH optional and PUT mandatory: targets without PATCH are changed with PUT.
@Suite("Targets without PATCH")
struct NoPatchTests {
    /// The stored shop account of customer `i`.
    func shopAccount(_ h: EngineHarness, _ i: Int) -> JSONValue? {
        h.sandbox?.sandbox.users(in: "shop").first { $0["userName"]?.stringValue == SandboxCustomers.email(i) }
    }

    @Test("a target without PATCH (501, while its configuration says PATCH is supported): anonymized through PUT, addresses untouched, verified")
    func noPatch() async throws {
        let h = try await EngineHarness.sandbox(faults: "shop:no-patch")
        let addresses = try #require(shopAccount(h, 0)?["addresses"])
        let first = try h.file(.erasure, customer: 0)
        let others = try (1..<6).map { try h.file(.erasure, customer: $0) }
        let accountId = try #require(shopAccount(h, 0)?["id"]?.stringValue)
        _ = try await h.with { try await $0.run() }
        let shop = try h.action(first, "shop")
        #expect(shop.state == .succeeded && shop.verified == true && shop.outcome == .anonymized, "\(shop.state) \(shop.lastError ?? "")")
        #expect(shop.verification?.hasPrefix("PATCH unsupported (501): replaced with PUT") == true, "\(shop.verification ?? "")")
        #expect(try others.allSatisfy { try h.action($0, "shop").state == .succeeded })
        let stored = try #require(h.sandbox?.sandbox.user(in: "shop", id: accountId))
        #expect(stored["addresses"] == addresses, "what Lethe does not erase is sent back unchanged")
        #expect(stored["userName"]?.stringValue != SandboxCustomers.email(0) && stored["emails"] == nil, "the planned attributes were changed")
        let calls = h.sandbox?.sandbox.callCounts ?? [:]
        // PATCH is tried only by the actions already in flight when the first 501 came back
        // (max_concurrency 4); every later change goes straight to PUT.
        #expect((calls["shop PATCH /Users"] ?? 0) <= 4, "\(calls)")
        #expect((calls["shop PUT /Users"] ?? 0) == 6, "\(calls)")
    }

    @Test("a target without PATCH: group members are removed by replacing the member list, and nobody else leaves")
    func noPatchGroups() async throws {
        let h = try await EngineHarness.sandbox(faults: "crm:no-patch")
        let promotions = { h.sandbox?.sandbox.groups(in: "crm").first { $0["displayName"]?.stringValue == "Promotions" } }
        let before = Set(promotions()?["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? [])
        let accountId = try #require(h.sandbox?.sandbox.users(in: "crm").first { $0["userName"]?.stringValue == SandboxCustomers.email(1) }?["id"]?.stringValue)
        #expect(before.contains(accountId))
        let id = try h.file(.revocation(purposes: ["marketing"]), customer: 1)
        _ = try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
        let after = Set(promotions()?["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? [])
        #expect(after == before.subtracting([accountId]))
        #expect(h.sandbox?.sandbox.callCounts["crm PUT /Groups"] == 1)
    }

    @Test("connection.update: put uses PUT from the first change, without trying PATCH")
    func forcedPut() async throws {
        let h = try await EngineHarness.sandbox { policy in
            if policy.target == "shop" { policy.scim.update = .put }
        }
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.with { try await $0.run() }
        let shop = try h.action(id, "shop")
        #expect(shop.state == .succeeded && shop.verified == true, "\(shop.state) \(shop.lastError ?? "")")
        #expect(shop.verification?.hasPrefix("connection.update is put") == true)
        #expect(h.sandbox?.sandbox.callCounts["shop PATCH /Users"] == nil)
    }

    @Test("connection.update: patch never falls back: a target without PATCH fails the action with the server's answer")
    func forcedPatch() async throws {
        let h = try await EngineHarness.sandbox(faults: "shop:no-patch") { policy in
            if policy.target == "shop" { policy.scim.update = .patch }
        }
        let id = try h.file(.erasure, customer: 0)
        _ = try await h.with { try await $0.run() }
        let shop = try h.action(id, "shop")
        #expect(shop.state == .failed && shop.lastError?.contains("501") == true, "\(shop.state) \(shop.lastError ?? "")")
        #expect(h.sandbox?.sandbox.callCounts["shop PUT /Users"] == nil)
    }
}

/// Servers that list a user's groups on the user (RFC 7643 §4.1.2) save the groups queries.
@Suite("Groups listed on users")
struct GroupsOnUsersTests {
    /// Runs an erasure of customer 2 (a newsletter subscriber, in Promotions) and returns the
    /// sandbox's call counts and the harness.
    func erase(groupsOnUsers: Bool) async throws -> ([String: Int], EngineHarness, String) {
        let h = try await EngineHarness.sandbox(groupsOnUsers: groupsOnUsers)
        let id = try h.file(.erasure, customer: 2)
        _ = try await h.with { try await $0.run() }
        return (h.sandbox?.sandbox.callCounts ?? [:], h, id)
    }

    @Test("with groups on users, memberships are found and checked on the user: no group read at all, the same verified outcome")
    func fewerQueries() async throws {
        let (listed, h, id) = try await erase(groupsOnUsers: true)
        let (queried, _, _) = try await erase(groupsOnUsers: false)
        for target in ["newsletter", "crm"] {
            let action = try h.action(id, target)
            #expect(action.state == .succeeded && action.verified == true, "\(target): \(action.state) \(action.lastError ?? "")")
        }
        for group in h.sandbox?.sandbox.groups(in: "newsletter") ?? [] {
            #expect(group["members"]?.arrayValue?.contains { $0["value"]?.stringValue == nil } != true)
        }
        let account = SandboxCustomers.email(2)
        #expect(h.sandbox?.sandbox.users(in: "newsletter").contains { $0["userName"]?.stringValue == account } == false)
        let promotions = h.sandbox?.sandbox.groups(in: "crm").first { $0["displayName"]?.stringValue == "Promotions" }
        let crmId = h.sandbox?.sandbox.users(in: "crm").first { $0["userName"]?.stringValue?.hasPrefix("erased-") == true }?["id"]?.stringValue
        #expect(crmId != nil && promotions?["members"]?.arrayValue?.contains { $0["value"]?.stringValue == crmId } == false)
        for target in ["newsletter", "crm"] {
            let with = listed["\(target) GET /Groups"] ?? 0, without = queried["\(target) GET /Groups"] ?? 0
            #expect(with == 0 && without > 0, "\(target): \(with) group reads with groups on users, \(without) without")
        }
        // crm anonymizes the account and removes it from Promotions: the lookup, then one read
        // shows the attributes as written and Promotions no longer listed.
        #expect(listed["crm GET /Users"] == 2 && listed["crm PATCH /Users"] == 1 && listed["crm PATCH /Groups"] == 1, "\(listed)")
    }
}

@Suite("Leases: a runner that paused past its claims")
struct LeaseTests {
    /// Holds every attempt until opened, as a process stopped mid-call would.
    final class Gate: Sendable {
        private let opened = Mutex(false)
        func open() { opened.withLock { $0 = true } }
        func wait() async {
            while !opened.withLock({ $0 }) { try? await Task.sleep(nanoseconds: 10_000_000) }
        }
    }

    private struct Stalling: TargetDrivers {
        let base: TargetClients
        let gate: Gate
        func driver(for target: String) throws -> any TargetDriver { Stalled(inner: try base.driver(for: target), gate: gate) }
    }

    private struct Stalled: TargetDriver {
        let inner: any TargetDriver
        let gate: Gate
        func perform(_ claimed: ClaimedAction, policy: TargetPolicy, journal: ActionJournal) async -> ExecutionResult {
            await gate.wait()
            return await inner.perform(claimed, policy: policy, journal: journal)
        }
    }

    @Test("claims taken over while the runner was stalled: its results are refused and recorded nowhere; the runner that took them over finishes them")
    func stalledRunnerRecordsNothing() async throws {
        let h = try await EngineHarness.sandbox()
        let id = try h.file(.erasure, customer: 0)
        let gate = Gate()
        try await h.with { h in
            let engine = Engine(store: h.database, policies: h.policies, drivers: Stalling(base: try h.runtime.clients, gate: gate), clock: h.clock)
            let run = Task { try await engine.run(Engine.Options(untilIdle: true, timeout: 60, pollInterval: 0.05, lease: 30)) }
            // Every action of the request is claimed and stalled.
            let deadline = Date().addingTimeInterval(20)
            var running = 0
            while running < 4, Date() < deadline {
                running = try h.database.actions(of: id).filter { $0.state == .running }.count
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            #expect(running == 4, "the four actions are in flight")
            // Another runner, after the leases ran out, takes them back and claims them.
            let later = h.clock.now().addingTimeInterval(31)
            #expect(try await h.database.rescueExpired(now: later) == 4)
            let other = try await h.database.claim(SandboxTargets.names.map { (target: $0, limit: 1) }, runner: "other", now: later, lease: 30)
            #expect(other.count == 4)
            // The stalled runner wakes up: whatever it does, it records nothing, not even the
            // account it found (so it writes nothing to the target either: the reference is
            // recorded before the first write).
            gate.open()
            // The other runner finishes its claims.
            for claimed in other {
                let transition = ActionStateMachine.afterAttempt(.succeeded(.deleted, verification: "by the other runner"), attemptsUsed: 1,
                                                                 policy: RetryPolicy(RetrySettings()), random: 0)
                _ = try await h.database.record(AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: later, finishedAt: later,
                                                              result: .succeeded), transition: transition, now: later)
            }
            let summary = try await run.value
            #expect(summary.leasesLost == 4, "each stalled attempt's result was refused")
            #expect(summary.requests[id] == .completed)
            let actions = try h.database.actions(of: id)
            #expect(actions.allSatisfy { $0.accountRef == nil && $0.verification == "by the other runner" }, "nothing of the stalled runner's was kept")
            let attempts = try actions.map { try h.database.attempts(of: $0.id).map(\.result) }
            #expect(attempts.allSatisfy { $0 == ["interrupted", "succeeded"] }, "the taken-back attempt, then the new holder's: \(attempts)")
        }
    }
}
