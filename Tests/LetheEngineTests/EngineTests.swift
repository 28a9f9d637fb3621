import Foundation
import LetheCore
import LetheEngine
import LetheHTTP
import LetheSCIM
import LetheStorage
import LetheStore
import LetheTesting
import Testing

@Suite("Engine against scim2-server, with faults", .enabled(if: SCIM2ServerPeer.shouldRun))
struct EngineTests {
    @Test("erasure and withdrawals end completed, with exactly the planned effects")
    func happyPath() async throws {
        let h = try EngineHarness.scim2Server()
        let seeded = try await h.seeder!.seed(4)
        let (ana, bea, cid, dan) = (seeded.customers[0], seeded.customers[1], seeded.customers[2], seeded.customers[3])
        let erasure = try h.file(.erasure, SubjectIdentifiers(email: ana.email))
        let marketing = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: bea.email))
        let newsletter = try h.file(.revocation(purposes: ["newsletter"]), SubjectIdentifiers(email: cid.email))

        let summary = try await h.run()

        #expect(!summary.hasUnresolved)
        #expect(summary.requests == [erasure: .completed, marketing: .completed, newsletter: .completed])
        // Erasure: app and newsletter deleted, shop anonymized keeping addresses, crm anonymized.
        #expect(try await h.tenants["app"]!.user(ana.ids["app"]!) == nil)
        #expect(try await h.tenants["newsletter"]!.user(ana.ids["newsletter"]!) == nil)
        let shop = try #require(try await h.tenants["shop"]!.user(ana.ids["shop"]!))
        #expect(shop["addresses"]?.arrayValue?.count == 1)
        #expect(shop["emails"] == nil && shop["name"]?["givenName"] == nil)
        #expect(shop["userName"]?.stringValue?.hasPrefix("erased-") == true)
        let crm = try #require(try await h.tenants["crm"]!.user(ana.ids["crm"]!))
        #expect(crm["name"]?["givenName"]?.stringValue == "[redacted]")
        #expect(crm[SCIMSchemas.gdprUser]?["marketingSegment"] == nil)
        #expect(try await !h.tenants["newsletter"]!.members(ofGroup: seeded.newsletterGroup).contains(ana.ids["newsletter"]!))
        #expect(try await !h.tenants["crm"]!.members(ofGroup: seeded.promotionsGroup).contains(ana.ids["crm"]!))
        // Marketing withdrawn: segment and Promotions gone, the rest of the crm account stays.
        let beaCRM = try #require(try await h.tenants["crm"]!.user(bea.ids["crm"]!))
        #expect(beaCRM[SCIMSchemas.gdprUser]?["marketingSegment"] == nil)
        #expect(beaCRM["emails"]?.arrayValue?.first?["value"]?.stringValue == bea.email)
        #expect(try await !h.tenants["crm"]!.members(ofGroup: seeded.promotionsGroup).contains(bea.ids["crm"]!))
        #expect(try await h.tenants["newsletter"]!.user(bea.ids["newsletter"]!) != nil)
        // Newsletter withdrawn: gone from newsletter only.
        #expect(try await h.tenants["newsletter"]!.user(cid.ids["newsletter"]!) == nil)
        #expect(try await h.tenants["crm"]!.user(cid.ids["crm"]!)?[SCIMSchemas.gdprUser]?["marketingSegment"] != nil)
        // Dan was never asked about: untouched everywhere.
        let danCRM = try #require(try await h.tenants["crm"]!.user(dan.ids["crm"]!))
        #expect(danCRM["name"]?["givenName"]?.stringValue == dan.givenName)
        #expect(try await h.tenants["crm"]!.members(ofGroup: seeded.promotionsGroup).contains(dan.ids["crm"]!))
        // Every outcome verified; the audit chain is whole.
        for id in [erasure, marketing, newsletter] {
            #expect(try h.database.actions(of: id).filter { $0.follows == nil }.allSatisfy { $0.state == .succeeded && ($0.plan.operation == .none ? $0.verified == nil : $0.verified == true) })
            #expect(try h.database.actions(of: id).filter { $0.follows != nil }.allSatisfy { $0.state == .scheduled }, "retained data waits for its day")
        }
        #expect(try h.database.verifyAuditChain().problem == nil)
        await h.shutdown()
    }

    @Test("a target answering 503 fails within its budget while the others complete")
    func brokenTarget() async throws {
        let h = try EngineHarness.scim2Server(maxAttempts: 3)
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.erasure, SubjectIdentifiers(email: ana.email))
        let summary = try await h.run(faults: [.init(urlContains: "/crm-", fault: .status(503, retryAfter: nil))])
        #expect(summary.requests[id] == .failed)
        #expect(summary.hasUnresolved)
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.attempts == 3)
        #expect(crm.lastError?.contains("gave up after 3 attempts") == true && crm.lastError?.contains("503") == true)
        for target in ["shop", "app", "newsletter"] { #expect(try h.action(id, target).state == .succeeded) }
        #expect(try await h.tenants["app"]!.user(ana.ids["app"]!) == nil)
        await h.shutdown()
    }

    @Test("429 with Retry-After is retried after the wait and completes")
    func rateLimited() async throws {
        let h = try EngineHarness.scim2Server(maxAttempts: 5) { $0.engine.retry.max = .seconds(5) }
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: ana.email))
        let summary = try await h.run(faults: [.init(urlContains: "/crm-", fault: .status(429, retryAfter: 1), times: 1)])
        #expect(summary.requests[id] == .completed)
        let crm = try h.action(id, "crm")
        let attempts = try h.database.attempts(of: crm.id)
        #expect(attempts.map(\.result) == ["transient", "succeeded"])
        #expect(attempts[0].statusCode == 429)
        #expect(attempts[1].startedAt.timeIntervalSince(attempts[0].startedAt) >= 1.0, "Retry-After honoured")
        await h.shutdown()
    }

    @Test("dropped connections are retried")
    func droppedConnection() async throws {
        let h = try EngineHarness.scim2Server(maxAttempts: 5)
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.revocation(purposes: ["newsletter"]), SubjectIdentifiers(email: ana.email))
        let summary = try await h.run(faults: [.init(urlContains: "/newsletter-", fault: .transport(.connectionReset), times: 2)])
        #expect(summary.requests[id] == .completed)
        #expect(try h.action(id, "newsletter").attempts == 3)
        await h.shutdown()
    }

    @Test("what a server says in its own words is not recorded: only the structure of its answer, never an identifier")
    func errorsAreScrubbed() async throws {
        let h = try EngineHarness.scim2Server()
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: ana.email))
        let body = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","detail":"user \#(ana.email) is locked"}"#
        try await h.run(faults: [.init(urlContains: "/crm-", method: .patch, fault: .answer(HTTPResponse(status: 409, body: Data(body.utf8))))])
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.lastError?.contains("409") == true)
        #expect(crm.lastError?.contains(ana.email) == false && crm.lastError?.contains("is locked") == false)
        #expect(crm.lastError?.contains("PATCH /Users/{id} answered 409") == true || crm.lastError?.contains("answered 409") == true, "\(crm.lastError ?? "")")
        #expect(try h.database.serverMessages(of: id).isEmpty, "shown while open, gone with the identifiers")
        for attempt in try h.database.attempts(of: crm.id) { #expect(attempt.error?.contains(ana.email) != true) }
        for event in try h.database.auditEvents() { #expect(!event.details.contains(ana.email)) }
        await h.shutdown()
    }

    @Test("a soft delete (204 but only active=false) is failed, not verified")
    func softDelete() async throws {
        let h = try EngineHarness.scim2Server()
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.erasure, SubjectIdentifiers(email: ana.email))
        try await h.run(faults: [.init(urlContains: "/app-", method: .delete, fault: .softDelete)])
        let app = try h.action(id, "app")
        #expect(app.state == .failed && app.verified == false)
        #expect(app.lastError?.contains("soft delete") == true)
        #expect(try h.database.request(id)?.state == .failed)
        await h.shutdown()
    }

    @Test("a PATCH that answers 2xx but ignores extension paths: under update: patch failed, not verified; under auto a PUT makes it, and says so")
    func ignoredPatch() async throws {
        for method in [UpdateMethod.patch, .auto] {
            let h = try EngineHarness.scim2Server { $0.scim.update = method }
            let ana = try await h.seeder!.seed(1).customers[0]
            let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: ana.email))
            try await h.run(faults: [.init(urlContains: "/crm-", method: .patch, fault: .ignoreExtensionPatch)])
            let crm = try h.action(id, "crm")
            if method == .patch {
                #expect(crm.state == .failed && crm.verified == false)
                #expect(crm.lastError?.contains("marketingSegment still holds a value") == true)
            } else {
                #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
                #expect(crm.verification?.contains("made with PUT") == true, "\(crm.verification ?? "")")
                let accountRef = try #require(crm.accountRef)
                let raw = try #require(try await h.tenants["crm"]?.user(accountRef))
                #expect(raw[SCIMSchemas.gdprUser]?["marketingSegment"] == nil, "a raw read shows it gone")
            }
            await h.shutdown()
        }
    }

    @Test("an ambiguous match needs review and nothing is written")
    func ambiguous() async throws {
        let h = try EngineHarness.scim2Server()
        let crm = h.tenants["crm"]!
        let a = try await crm.createUser(userName: "twin-a", email: "twin@example.com", marketingSegment: "gold")
        let b = try await crm.createUser(userName: "twin-b", email: "twin@example.com", marketingSegment: "gold")
        let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: "twin@example.com"))
        let summary = try await h.run()
        #expect(summary.requests[id] == .needsReview && summary.hasUnresolved)
        #expect(try h.action(id, "crm").lastError?.contains("2 accounts match") == true)
        for user in [a, b] {
            #expect(try await crm.user(user)?[SCIMSchemas.gdprUser]?["marketingSegment"]?.stringValue == "gold")
        }
        await h.shutdown()
    }

    @Test("a subject with no account in a target is absent there, which is success")
    func absent() async throws {
        let h = try EngineHarness.scim2Server()
        let id = try h.file(.erasure, SubjectIdentifiers(email: "nobody@example.com"))
        let summary = try await h.run()
        #expect(summary.requests[id] == .completed)
        #expect(try h.database.actions(of: id).allSatisfy { $0.outcome == .absent })
        await h.shutdown()
    }

    @Test("after a crash, running actions are taken up again; a delete done before the crash is reported deleted")
    func rescueAfterCrash() async throws {
        let h = try EngineHarness.scim2Server()
        let ana = try await h.seeder!.seed(1).customers[0]
        let id = try h.file(.erasure, SubjectIdentifiers(email: ana.email))
        // A runner claimed app, resolved and deleted the user, then died before recording anything.
        let claimed = try #require(try await h.database.claim(target: "app", limit: 1, runner: "dead", now: Date()).first)
        try await h.database.recordAccountRef(actionId: claimed.action.id, accountRef: ana.ids["app"]!)
        #expect(try await h.tenants["app"]!.raw("DELETE", "/Users/\(ana.ids["app"]!)").status == 204)

        let summary = try await h.run()

        #expect(summary.rescued == 1)
        #expect(summary.requests[id] == .completed)
        let app = try h.action(id, "app")
        #expect(app.outcome == .deleted && app.verified == true)
        #expect(try h.database.attempts(of: app.id).map(\.result) == ["interrupted", "succeeded"])
        #expect(try h.database.verifyAuditChain().problem == nil)
        await h.shutdown()
    }
}
