import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSandbox
import LetheSCIM
import LetheStorage
import LetheStore
import LetheTesting
import Synchronization
import Testing

/// The engine against a SCIM server that lies on purpose. The rule behind every test: act only
/// on evidence that the account is the subject's, count as verified only what a read-back
/// proved, and when in doubt stop with needs_review and a reason.
@Suite("Against a hostile SCIM server")
struct HostileServerTests {
    /// Every other account of a target, as stored: nothing may have changed there.
    func others(_ h: EngineHarness, _ target: String, except id: String?) -> [JSONValue] {
        (h.sandbox?.sandbox.users(in: target) ?? []).filter { $0["id"]?.stringValue != id }
    }

    /// Lookups by e-mail in `target` answer `answer` instead of the truth.
    func lookups(_ h: EngineHarness, in target: String, answer: @escaping @Sendable () -> Sandbox.Outcome) {
        h.hostile?.add { request, _ in
            request.target == target && request.method == "GET" && request.path == "/Users" && request.query.contains("emails.value") ? answer() : nil
        }
    }

    static let malformedLists: [(String, Sandbox.Outcome)] = [
        ("no totalResults", HostileSCIM.list(totalResults: nil, resources: .array([]))),
        ("Resources not an array", HostileSCIM.list(totalResults: .number(1), resources: .object([:]))),
        ("no Resources although totalResults is 1", HostileSCIM.list(totalResults: .number(1), resources: nil)),
        ("totalResults 3, one delivered, then empty pages", HostileSCIM.list(totalResults: .number(3), resources: .array([]))),
    ]

    @Test("a broken lookup answer is not 'no account': needs_review with the reason, nothing written", arguments: 0..<4)
    func malformedList(index: Int) async throws {
        let (name, answer) = Self.malformedLists[index]
        let h = try await EngineHarness.sandbox(hostile: true)
        lookups(h, in: "crm", answer: { answer })
        let before = h.sandbox?.sandbox.users(in: "crm")
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview, "\(name): \(crm.state) \(crm.lastError ?? "")")
        #expect(crm.outcome == nil, "\(name): not 'absent'")
        #expect(h.sandbox?.sandbox.users(in: "crm") == before, "\(name): nothing changed in crm")
    }

    @Test("matching is exact where it must be: a Unicode case variant of the address is not the subject")
    func unicodeCase() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // The server "finds" an account holding STRASSE@… for a request about straße@… (as a
        // server folding Unicode case would).
        let victim = JSONValue.object(["id": .string("victim"), "userName": .string("STRASSE@example.com"),
                                       "emails": .array([.object(["value": .string("STRASSE@example.com"), "primary": .bool(true)])])])
        lookups(h, in: "crm", answer: { HostileSCIM.list(totalResults: .number(1), resources: .array([victim])) })
        h.hostile?.add { request, _ in request.path.hasPrefix("/Users/victim") && request.method != "GET" ? HostileSCIM.json(500, .null) : nil }
        let id = try h.file(.erasure, SubjectIdentifiers(email: "straße@example.com"))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.lastError?.contains("does not equal the filter value") == true, "\(crm.lastError ?? "")")
        #expect(ASCIICase.equal("Ana@Example.COM", "ana@example.com") && !ASCIICase.equal("straße", "STRASSE") && !ASCIICase.equal("\u{212A}", "K"))
    }

    @Test("a secondary e-mail is not an identity: needs_review, the account untouched")
    func secondaryEmail() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        let holder = JSONValue.object(["id": .string("holder"), "userName": .string("holder@example.com"),
                                       "emails": .array([.object(["value": .string("holder@example.com"), "primary": .bool(true)]),
                                                         .object(["value": .string("shared@example.com"), "type": .string("other")])])])
        lookups(h, in: "crm", answer: { HostileSCIM.list(totalResults: .number(1), resources: .array([holder])) })
        let writes = Counter()
        h.hostile?.add { request, _ in
            if request.path.hasPrefix("/Users/holder"), request.method != "GET" { writes.increment(); return HostileSCIM.json(500, .null) }
            return nil
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: "shared@example.com"))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.lastError?.contains("secondary e-mail") == true, "\(crm.lastError ?? "")")
        #expect(writes.value == 0, "no write was sent")
    }

    @Test("an id that is not one path segment is refused before anything is written")
    func pathIds() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        let email = SandboxCustomers.email(0)
        let evil = JSONValue.object(["id": .string("../Groups/g1"), "userName": .string(email),
                                     "emails": .array([.object(["value": .string(email), "primary": .bool(true)])])])
        lookups(h, in: "crm", answer: { HostileSCIM.list(totalResults: .number(1), resources: .array([evil])) })
        let id = try h.file(.erasure, SubjectIdentifiers(email: email))
        let before = h.sandbox?.sandbox.users(in: "crm")
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.lastError?.contains("single path segment") == true, "\(crm.lastError ?? "")")
        #expect(h.sandbox?.sandbox.users(in: "crm") == before)
    }

    @Test("a server that answers 404 to everything after a DELETE cannot make the delete verified: the lookup still finds the account")
    func notFoundForEverything() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // app "deletes" with 204 and answers 404 to every GET by id, but keeps the account.
        h.hostile?.add { request, _ in
            guard request.target == "app", request.path.hasPrefix("/Users/") else { return nil }
            switch request.method {
            case "DELETE": return .respond(SandboxResponse(status: 204), delayMs: 0)
            case "GET": return HostileSCIM.json(404, .object(["status": .string("404"), "detail": .string("not found")]))
            default: return nil
            }
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        try await h.with { try await $0.run() }
        let app = try h.action(id, "app")
        #expect(app.state == .failed && app.verified == false, "\(app.state)")
        #expect(app.lastError?.contains("still finds") == true, "\(app.lastError ?? "")")
    }

    @Test("a 2xx PATCH answer whose body cannot be parsed is followed by the read-back, which decides")
    func unparseableSuccess() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // crm applies the PATCH, then answers 200 with garbage.
        h.hostile?.add { request, sandbox in
            guard request.target == "crm", request.method == "PATCH", request.path.hasPrefix("/Users/") else { return nil }
            _ = sandbox.handle(method: "PATCH", uri: "/crm/v2\(request.path)", headers: [("Authorization", "Bearer tok")], body: request.body, host: "x")
            return .respond(SandboxResponse(status: 200, headers: ["Content-Type": "application/scim+json"], body: Data("{not json".utf8)), delayMs: 0)
        }
        let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: SandboxCustomers.email(1)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
    }

    /// A schema list in which `attribute` of the core User schema is declared `returned: returned`.
    static func declaring(_ attribute: String, returned: String, in schemas: JSONValue) -> JSONValue {
        guard case .object(var list) = schemas, case .array(let resources)? = list["Resources"] else { return schemas }
        list["Resources"] = .array(resources.map { schema in
            guard case .object(var members) = schema, case .array(let attributes)? = members["attributes"] else { return schema }
            members["attributes"] = .array(attributes.map { item in
                guard case .object(var fields) = item, fields["name"]?.stringValue == attribute else { return item }
                fields["returned"] = .string(returned)
                return .object(fields)
            })
            return .object(members)
        })
        return .object(list)
    }

    /// The crm account of customer `i`, as stored.
    func crmAccount(_ h: EngineHarness, _ i: Int) -> JSONValue? {
        h.sandbox?.sandbox.users(in: "crm").first { $0["userName"]?.stringValue == SandboxCustomers.email(i) }
    }

    @Test("an attribute the server never returns, even when asked, is removed blind and recorded unverifiable: needs_review, never verified")
    func neverReturnedAttribute() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        h.hostile?.rewrite { request, json in
            guard request.target == "crm" else { return nil }
            if request.path.hasPrefix("/Schemas") { return Self.declaring("locale", returned: "never", in: json) }
            return request.path.hasPrefix("/Users") ? HostileSCIM.removing("locale", from: json) : nil
        }
        #expect(crmAccount(h, 1)?["locale"] != nil, "the account holds a locale nobody can read")
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(1)))
        let accountId = try #require(crmAccount(h, 1)?["id"]?.stringValue)
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.verified != true, "\(crm.state)")
        #expect(crm.lastError?.contains("locale is unverifiable") == true, "\(crm.lastError ?? "")")
        let stored = h.sandbox?.sandbox.user(in: "crm", id: accountId)
        #expect(stored?["locale"] == nil, "the remove was sent although the value could not be seen")
        #expect(stored?["emails"] == nil, "the visible attributes were erased and checked as usual")
    }

    @Test("an attribute left out of default answers is asked for by name, removed and verified")
    func returnedOnRequest() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // locale is `returned: request`: shown only when asked for with ?attributes=.
        h.hostile?.rewrite { request, json in
            guard request.target == "crm", request.path.hasPrefix("/Users"), !request.query.contains("attributes=") else { return nil }
            return HostileSCIM.removing("locale", from: json)
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(1)))
        let accountId = try #require(crmAccount(h, 1)?["id"]?.stringValue)
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
        #expect(h.sandbox?.sandbox.user(in: "crm", id: accountId)?["locale"] == nil, "the hidden-by-default locale was removed")
    }

    @Test("without PATCH, an attribute returned only on request is read by name and sent back in the PUT: retained addresses survive")
    func putKeepsReturnedOnRequest() async throws {
        let h = try await EngineHarness.sandbox(faults: "shop:no-patch", hostile: true)
        // shop shows addresses only when asked for them, and says so in its schema.
        h.hostile?.rewrite { request, json in
            guard request.target == "shop" else { return nil }
            if request.path.hasPrefix("/Schemas") { return Self.declaring("addresses", returned: "request", in: json) }
            guard request.path.hasPrefix("/Users"), !request.query.contains("attributes=") else { return nil }
            return HostileSCIM.removing("addresses", from: json)
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        let account = try #require(h.sandbox?.sandbox.users(in: "shop").first { $0["userName"]?.stringValue == SandboxCustomers.email(0) })
        let accountId = try #require(account["id"]?.stringValue)
        try await h.with { try await $0.run() }
        let shop = try h.action(id, "shop")
        #expect(shop.state == .succeeded && shop.verified == true, "\(shop.state) \(shop.lastError ?? "")")
        #expect(shop.verification?.contains("replaced with PUT") == true)
        let stored = try #require(h.sandbox?.sandbox.user(in: "shop", id: accountId))
        #expect(stored["addresses"] == account["addresses"], "addresses kept under a legal obligation are sent back unchanged")
        #expect(stored["emails"] == nil)
    }

    @Test("a group PATCH answered 204 that removed nobody is not verified, also once the member filter is trusted and member lists are no longer read")
    func groupRemovalIgnored() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // crm answers every group PATCH with 204 and changes nothing.
        h.hostile?.add { request, _ in
            request.target == "crm" && request.method == "PATCH" && request.path.hasPrefix("/Groups/") ? .respond(SandboxResponse(status: 204), delayMs: 0) : nil
        }
        // Customers 1 and 2 are in Promotions; withdrawing marketing must take each out of it.
        // Each action finds its group by the member filter with the member list holding the user,
        // which proves the filter: the check after its removal is the filter's answer.
        let first = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: SandboxCustomers.email(1)))
        let second = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: SandboxCustomers.email(2)))
        try await h.with { try await $0.run() }
        for id in [first, second] {
            let crm = try h.action(id, "crm")
            #expect(crm.state != .succeeded && crm.verified != true, "\(crm.state)")
            #expect(crm.lastError?.contains("still finds group") == true || crm.lastError?.contains("still lists the user") == true, "\(crm.lastError ?? "")")
        }
        let promotions = try #require(h.sandbox?.sandbox.groups(in: "crm").first { $0["displayName"]?.stringValue == "Promotions" })
        let members = (promotions["members"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }
        #expect(members.count > 2, "the group kept its members: nothing was removed behind the 204")
    }

    @Test("a group membership the server can show neither way (no member list, no member filter) is not verified: needs_review")
    func membershipCannotBeEstablished() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        h.hostile?.add { request, _ in
            request.target == "crm" && request.path == "/Groups" && request.query.contains("members.value")
                ? HostileSCIM.json(400, .object(["status": .string("400"), "scimType": .string("invalidFilter"), "detail": .string("unsupported")]))
                : nil
        }
        h.hostile?.rewrite { request, json in
            request.target == "crm" && request.path.hasPrefix("/Groups") ? HostileSCIM.removing("members", from: json) : nil
        }
        // Customer 1 is in Promotions; withdrawing marketing must take them out of it.
        let id = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: SandboxCustomers.email(1)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.verified != true, "\(crm.state)")
        #expect(crm.lastError?.contains("Promotions cannot be established") == true, "\(crm.lastError ?? "")")
    }

    @Test("an account id that is itself an e-mail address is stored only as its pseudonym, and the erasure still completes")
    func emailShapedId() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        // app names its users by e-mail: the id is the userName, in every answer.
        let real = Dictionary(uniqueKeysWithValues: (h.sandbox?.sandbox.users(in: "app") ?? []).compactMap { user in
            user["userName"]?.stringValue.flatMap { name in user["id"]?.stringValue.map { (name, $0) } }
        })
        @Sendable func byName(_ json: JSONValue) -> JSONValue {
            switch json {
            case .object(var members):
                if let name = members["userName"]?.stringValue, real[name] != nil { members["id"] = .string(name) }
                return .object(members.mapValues(byName))
            case .array(let items): return .array(items.map(byName))
            default: return json
            }
        }
        h.hostile?.add { request, sandbox in
            guard request.target == "app", request.path.hasPrefix("/Users/"),
                  let name = String(request.path.dropFirst("/Users/".count)).removingPercentEncoding, let id = real[name] else { return nil }
            let outcome = sandbox.handle(method: request.method, uri: "/app/v2/Users/\(id)", headers: [("Authorization", "Bearer tok")],
                                         body: request.body, host: "127.0.0.1")
            guard case .respond(var response, let delay) = outcome, let json = JSONValue.parse(response.body) else { return outcome }
            response.body = CanonicalJSON.encode(byName(json))
            return .respond(response, delayMs: delay)
        }
        h.hostile?.rewrite { request, json in request.target == "app" && request.path == "/Users" ? byName(json) : nil }

        let email = SandboxCustomers.email(0)
        let id = try h.file(.erasure, SubjectIdentifiers(email: email))
        try await h.with { try await $0.run() }
        let app = try h.action(id, "app")
        #expect(app.state == .succeeded && app.verified == true && app.outcome == .deleted, "\(app.state) \(app.lastError ?? "")")
        #expect(app.accountRef == nil && app.accountRefPseudonym?.hasPrefix("psn_") == true, "only the pseudonym of the id is kept")
        #expect(h.sandbox?.sandbox.user(in: "app", id: real[email] ?? "") == nil, "the account is gone")
        var stored = [app.verification ?? "", app.lastError ?? "", app.accountRefPseudonym ?? ""]
        stored += try h.database.attempts(of: app.id).compactMap(\.error)
        stored += try h.database.auditEvents().map(\.details)
        #expect(!stored.joined(separator: "\n").lowercased().contains(email.lowercased()))
    }

    @Test("an account read by its recorded id that no longer carries the identifier (nor what Lethe wrote) is not acted on")
    func reusedId() async throws {
        let h = try await EngineHarness.sandbox(hostile: true)
        let email = SandboxCustomers.email(0)
        let id = try h.file(.erasure, SubjectIdentifiers(email: email))
        // A first attempt found the account and recorded its id, then the server reused the id for
        // somebody else before the retry.
        let crmUser = try #require(h.sandbox?.sandbox.users(in: "crm").first { $0["userName"]?.stringValue == email }?["id"]?.stringValue)
        let claimed = try #require(try await h.database.claim(target: "crm", limit: 1, runner: "dead", now: Date()).first)
        try await h.database.recordAccountRef(actionId: claimed.action.id, accountRef: crmUser)
        let somebody = JSONValue.object(["id": .string(crmUser), "userName": .string("somebody@example.com"),
                                         "emails": .array([.object(["value": .string("somebody@example.com"), "primary": .bool(true)])])])
        let writes = Counter()
        h.hostile?.add { request, _ in
            guard request.target == "crm", request.path == "/Users/\(crmUser)" else { return nil }
            if request.method == "GET" { return HostileSCIM.json(200, somebody) }
            writes.increment()
            return HostileSCIM.json(500, .null)
        }
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .needsReview && crm.lastError?.contains("no longer carries the identifier") == true, "\(crm.lastError ?? "")")
        #expect(writes.value == 0)
    }
}

extension HostileServerTests {
    /// Runs to idle with a timeout; the summary and how long the run itself took, from its start
    /// to its return (not the harness's setup or shutdown).
    func timedRun(_ h: EngineHarness, timeout: Double) async throws -> (Engine.Summary, Double) {
        try await h.with { h in
            let started = Date()
            let summary = try await h.run(timeout: timeout)
            return (summary, Date().timeIntervalSince(started))
        }
    }

    @Test("never hung: a body that stalls after the headers is cut off at the policy's timeout, and the run ends by its own deadline")
    func stalledBody() async throws {
        let h = try await EngineHarness.sandbox(maxAttempts: 100, hostile: true) { policy in
            policy.engine.timeout = .seconds(1)
        }
        h.hostile?.add { request, _ in request.target == "crm" ? .stall(status: 200) : nil }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        // 8 s: room for the first attempts when the whole suite (a browser among it) shares two
        // cores; crm's stalls keep it retrying, so the run still ends by its deadline.
        let (summary, took) = try await timedRun(h, timeout: 8)
        #expect(took < 8 + 5, "the run outlived its 8 s timeout by \(took - 8) s")
        #expect(summary.timedOut)
        let crm = try h.action(id, "crm")
        #expect(crm.state != .running && crm.state != .succeeded, "\(crm.state)")
        #expect(try h.database.attempts(of: crm.id).contains { $0.error?.contains("no answer before the timeout") == true })
        #expect(try h.action(id, "app").attempts >= 1, "the other targets were not held up behind crm")
    }

    @Test("never hung: a server that sends nothing at all (not even headers) is cut off at the policy's timeout")
    func silentServer() async throws {
        // crm's policy allows 1 s and crm answers after 20 s: with one attempt, crm fails on the
        // timeout. The other targets keep the default 30 s, so a busy machine does not fail them.
        let h = try await EngineHarness.sandbox(faults: "crm:latency=20000ms", maxAttempts: 1) { policy in
            if policy.target == "crm" { policy.engine.timeout = .seconds(1) }
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        let started = Date()
        try await h.with { try await $0.run() }
        #expect(Date().timeIntervalSince(started) < 15, "waited for the answer instead of the 1 s timeout")
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.lastError?.contains("no answer before the timeout") == true, "\(crm.state) \(crm.lastError ?? "")")
        #expect(try h.action(id, "app").state == .succeeded, "the other targets were not held up behind crm")
    }

    @Test("an answer larger than Lethe reads (16 MiB) is refused, not buffered: that action is not done, the other targets finish")
    func oversizedAnswer() async throws {
        let h = try await EngineHarness.sandbox(maxAttempts: 1, hostile: true)
        // A list answer of 17 MiB: whitespace around an empty list, so only its size is wrong.
        var body = Data(repeating: UInt8(ascii: " "), count: 17 * 1024 * 1024)
        body.append(contentsOf: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#.utf8)
        let answer = Sandbox.Outcome.respond(SandboxResponse(status: 200, headers: ["Content-Type": "application/scim+json"], body: body), delayMs: 0)
        lookups(h, in: "crm", answer: { answer })
        let before = h.sandbox?.sandbox.users(in: "crm")
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.outcome == nil, "\(crm.state): not 'absent' from an answer never read")
        #expect(crm.lastError?.contains("larger than 16 MiB") == true, "\(crm.lastError ?? "")")
        #expect(h.sandbox?.sandbox.users(in: "crm") == before, "nothing changed in crm")
        #expect(try h.action(id, "app").state == .succeeded, "the other targets were not held up behind crm")
    }

    @Test("the rate limiter never sleeps past the run's deadline: a paced target is interrupted at the timeout, the others finish")
    func rateLimiterDeadline() async throws {
        // One request an hour: the second crm call would wait 3,600 s for its slot.
        let h = try await EngineHarness.sandbox(hostile: false) { policy in
            if policy.target == "crm" { policy.engine.rateLimit = RateLimit(requests: 1, per: .seconds(3600)) }
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        // 8 s, as for the stalled body: in 4 s, with the whole suite on two cores, a run once
        // ended before any action had started (no attempt for crm or app), which proves nothing.
        let (summary, took) = try await timedRun(h, timeout: 8)
        #expect(took < 8 + 5, "the run outlived its 8 s timeout by \(took - 8) s")
        #expect(summary.timedOut)
        let crm = try h.action(id, "crm")
        #expect(crm.state == .pending, "interrupted, to be taken up again: \(crm.state)")
        #expect(try h.database.attempts(of: crm.id).map(\.result) == ["interrupted"])
        #expect(try h.action(id, "app").attempts >= 1, "the unpaced targets were not held up behind crm's pace")
    }
}

extension HostileServerTests {
    @Test("error texts full of personal data are kept nowhere permanent: names, phones, e-mails in any encoding")
    func personalDataInErrors() async throws {
        let h = try await EngineHarness.sandbox(maxAttempts: 2, hostile: true)
        let email = SandboxCustomers.email(0)
        let user = try #require(h.sandbox?.sandbox.users(in: "crm").first { $0["userName"]?.stringValue == email })
        let given = try #require(user["name"]?["givenName"]?.stringValue), family = try #require(user["name"]?["familyName"]?.stringValue)
        let base64 = Data(email.utf8).base64EncodedString()
        let percent = email.replacingOccurrences(of: "@", with: "%40")
        let escaped = email.replacingOccurrences(of: "@", with: "\\u0040")
        let detail = "cannot patch \(given) \(family) <\(email)>, phone +351 912 345 678, ref \(base64), url ?u=\(percent), json \(escaped), other jo.doe@corp.example"
        h.hostile?.add { request, _ in
            request.target == "crm" && request.method == "PATCH"
                ? HostileSCIM.json(400, .object(["schemas": .array([.string("urn:ietf:params:scim:api:messages:2.0:Error")]),
                                                  "status": .string("400"), "detail": .string(detail)]))
                : nil
        }
        let id = try h.file(.erasure, SubjectIdentifiers(email: email))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed)
        var stored = [crm.lastError ?? "", crm.verification ?? ""]
        stored += try h.database.attempts(of: crm.id).compactMap(\.error)
        stored += try h.database.auditEvents().map(\.details)
        let text = stored.joined(separator: "\n")
        #expect(text.contains("answered 400"), "the structure of the failure is kept")
        #expect(!text.contains("cannot patch"), "the server's own words are not: they can name what Lethe never saw")
        #expect(try h.database.serverMessages(of: id).isEmpty, "and what was shown while it was open went with the identifiers")
        for secret in [email, given, family, "912 345 678", base64, percent, "jo.doe@corp.example", "\\u0040"] {
            #expect(!text.contains(secret), "\(secret) was stored")
        }
    }
}

extension HostileServerTests {
    @Test("a PATCH answered 204 that changed nothing is tried once more as a PUT under update: auto, and the result says PUT made it; with update: patch it fails, naming PATCH")
    func ignoredPatchThenPut() async throws {
        let customer = try #require((0..<8).first { SandboxCustomers.isPresent($0, in: "crm") })
        for method in [UpdateMethod.auto, .patch] {
            let h = try await EngineHarness.sandbox(hostile: true) { policy in
                if policy.target == "crm" { policy.scim.update = method }
            }
            let puts = Counter()
            h.hostile?.add { request, _ in
                guard request.target == "crm", request.path.hasPrefix("/Users/") else { return nil }
                if request.method == "PUT" { puts.increment() }
                return request.method == "PATCH" ? .respond(SandboxResponse(status: 204), delayMs: 0) : nil
            }
            let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(customer)))
            try await h.with { try await $0.run() }
            let crm = try h.action(id, "crm")
            if method == .auto {
                #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
                #expect(crm.verification?.contains("answered the PATCH 2xx without applying it; made with PUT") == true, "\(crm.verification ?? "")")
                #expect(puts.value == 1, "one PUT, once")
            } else {
                #expect(crm.state == .failed && crm.verified == false, "\(crm.state)")
                #expect(crm.lastError?.contains("the server accepted the PATCH but did not apply it") == true, "\(crm.lastError ?? "")")
                #expect(puts.value == 0, "update: patch never PUTs")
            }
        }
    }
}

/// A thread-safe count for rules.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// OAuth2 client credentials against a token endpoint the tests run (on the hostile server).
@Suite("OAuth2 token endpoint")
struct TokenEndpointTests {
    /// crm authenticates with client credentials at `BASE/oauth-token`, which answers with `answer`.
    func harness(_ answer: @escaping @Sendable (Int) -> Sandbox.Outcome) async throws -> EngineHarness {
        let h = try await EngineHarness.sandbox(maxAttempts: 4, hostile: true,
                                                extraEnvironment: ["CRM_CLIENT_ID": "lethe", "CRM_CLIENT_SECRET": "s3cr3t-value"]) { policy in
            guard policy.target == "crm" else { return }
            policy.scim.auth = .oauth2ClientCredentials(tokenURL: policy.scim.baseURL + "/oauth-token", clientIdEnv: "CRM_CLIENT_ID",
                                                              clientSecretEnv: "CRM_CLIENT_SECRET", scope: "scim")
        }
        let calls = Counter()
        h.hostile?.add { request, _ in
            guard request.target == "crm", request.path == "/oauth-token" else { return nil }
            calls.increment()
            return answer(calls.value)
        }
        return h
    }

    static func token() -> Sandbox.Outcome {
        .respond(SandboxResponse(status: 200, headers: ["Content-Type": "application/json"],
                                 body: Data(#"{"access_token":"tok","token_type":"Bearer","expires_in":3600}"#.utf8)), delayMs: 0)
    }

    @Test("a token endpoint that is busy (503, 429) is retried like the target, and the erasure completes")
    func busyIsTransient() async throws {
        let h = try await harness { call in call <= 2 ? HostileSCIM.json(call == 1 ? 503 : 429, .object([:])) : Self.token() }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .succeeded && crm.verified == true, "\(crm.state) \(crm.lastError ?? "")")
        let attempts = try h.database.attempts(of: crm.id)
        #expect(attempts.map(\.result) == ["transient", "transient", "succeeded"], "\(attempts.map(\.result))")
        #expect(attempts.first?.error?.contains("token endpoint") == true)
    }

    @Test("a token endpoint that refuses the credentials is a configuration error naming the variables, never the secret")
    func refusedIsPermanent() async throws {
        let h = try await harness { _ in HostileSCIM.json(401, .object(["error": .string("invalid_client")])) }
        let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(0)))
        try await h.with { try await $0.run() }
        let crm = try h.action(id, "crm")
        #expect(crm.state == .failed && crm.attempts == 1, "not retried: \(crm.attempts)")
        #expect(crm.lastError?.contains("refused the client credentials: HTTP 401 (invalid_client); check CRM_CLIENT_ID and CRM_CLIENT_SECRET") == true,
                "\(crm.lastError ?? "")")
        #expect(!(crm.lastError ?? "").contains("s3cr3t-value"))
    }
}
