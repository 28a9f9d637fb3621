import Foundation
import LetheApp
import LetheCore
@testable import LetheSandbox
import LetheTesting
import Testing

@Suite("Sandbox")
struct SandboxTests {
    static let root = Repository.root

    @Test("it passes the scim2-tester compliance suite for Users and Groups", .enabled(if: SCIM2ServerPeer.shouldRun))
    func compliance() async throws {
        let tester = Self.root.appendingPathComponent(".venv-peers/bin/scim2")
        #expect(FileManager.default.isExecutableFile(atPath: tester.path), "run scripts/peers install")
        let server = try await SandboxServer.start(Sandbox(Sandbox.Configuration(targets: ["shop"], seedCustomers: 3)))
        let result = try await CommandRunner(executable: tester).run(["--url", server.baseURL("shop"), "test"])
        let text = result.stdout + result.stderr
        await server.stop()
        let errors = text.split(separator: "\n").filter { $0.hasPrefix("ERROR") }
        #expect(result.status == 0, "scim2-tester failed:\n\(text.suffix(3000))")
        #expect(errors.isEmpty)
        #expect(text.components(separatedBy: "SUCCESS").count > 100, "the suite ran its checks")
    }

    @Test("the embedded schemas are the documents scim2-server is started with")
    func schemasMatchFixtures() throws {
        for (name, embedded) in [("scim2-server-schemas.json", SchemaDocuments.schemas), ("scim2-server-resource-types.json", SchemaDocuments.resourceTypes)] {
            let file = try Data(contentsOf: Self.root.appendingPathComponent("Tests/Fixtures/scim2-server/\(name)"))
            #expect(JSONValue.parse(file) == JSONValue.parse(Data(embedded.utf8)), "\(name)")
        }
    }

    @Test("filters: precedence, escapes, value paths, extension URNs")
    func filters() throws {
        let user = JSONValue.parse(Data(#"""
            {"userName":"Ana","externalId":"C-1","emails":[{"value":"a\"b@x.org","type":"work"},{"value":"ana@home.org","type":"home"}],
             "urn:example:params:scim:schemas:extension:gdpr:2.0:User":{"marketingSegment":"gold"},"active":true}
            """#.utf8))!
        func match(_ text: String) throws -> Bool { try FilterParser.parse(text).matches(user) }
        #expect(try match(#"userName eq "ana""#))
        #expect(try !match(#"externalId eq "c-1""#), "externalId is case-exact")
        #expect(try match(#"emails.value eq "a\"b@x.org""#))
        #expect(try !match(#"emails.value eq "x\" or userName pr \"""#))
        #expect(try match(#"emails[type eq "home" and value ew "home.org"]"#))
        #expect(try !match(#"emails[type eq "work" and value ew "home.org"]"#))
        #expect(try match(#"urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment eq "gold""#))
        #expect(try match(#"userName eq "nobody" or active eq true and externalId pr"#), "and binds tighter than or")
        #expect(try !match(#"not (userName sw "A")"#))
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse(#"userName eq "unclosed"#) }
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse("userName xx 1") }
    }

    @Test("a filter nested or chained past the limits is a 400 invalidFilter, not a stack overflow (scripts/fuzz FuzzFilter, issue #30)")
    func deepFilters() throws {
        // The input the fuzzer found: 1,417 '(' crashed the sandbox with a stack overflow.
        let bytes = try Data(contentsOf: Self.root.appendingPathComponent("Tests/Fixtures/fuzz/FuzzFilter-crash-a59d5405f586c1fbae289a249871489b027b227c"))
        let found = String(decoding: bytes, as: UTF8.self)  // as the fuzz target reads its input
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse(found) }
        let sandbox = Sandbox(Sandbox.Configuration(targets: ["crm"], seedCustomers: 2, randomSeed: 1))
        let query = found.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        guard case .respond(let response, _) = sandbox.handle(method: "GET", uri: "/crm/v2/Users?filter=\(query)", headers: [], body: Data(), host: "127.0.0.1") else {
            Issue.record("no answer")
            return
        }
        #expect(response.status == 400 && JSONValue.parse(response.body)?["scimType"]?.stringValue == "invalidFilter")
        // At the limit it parses; one deeper, or one connective too many, it does not.
        let deepest = String(repeating: "(", count: FilterParser.maxDepth) + #"userName eq "ana""# + String(repeating: ")", count: FilterParser.maxDepth)
        #expect(throws: Never.self) { try FilterParser.parse(deepest) }
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse("(" + deepest + ")") }
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse(String(repeating: "not (", count: 40) + "active pr" + String(repeating: ")", count: 40)) }
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse(String(repeating: "emails[", count: 40) + "value pr" + String(repeating: "]", count: 40)) }
        let chain = Array(repeating: #"userName eq "a""#, count: FilterParser.maxConnectives + 2).joined(separator: " or ")
        #expect(throws: FilterSyntaxError.self) { try FilterParser.parse(chain) }
    }

    @Test("indexed look-ups answer exactly as a full scan, after renames, deletes and member removals")
    func indexedLookups() throws {
        var store = TargetStore(name: "crm", random: SeededRandom(seed: 7))
        store.seed(60)
        let base = "http://127.0.0.1/crm/v2"
        func call(_ method: String, _ path: [String], _ body: String = "", query: [String: String] = [:]) -> SandboxResponse {
            store.handle(SCIMRequest(method: method, path: path, query: query, body: Data(body.utf8), ifMatch: nil, base: base), faults: FaultSpec())
        }
        func ids(_ response: SandboxResponse) -> [String] {
            (JSONValue.parse(response.body)?["Resources"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        }
        let users = store.order.live
        let group = try #require(store.groupOrder.live.first)
        // Changes the index must follow: a userName changed in case and in value, an e-mail
        // added, users deleted, a member removed from the group by PATCH.
        #expect(call("PATCH", ["Users", users[3]], #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"ANA.SILVA3@EXAMPLE.COM"}]}"#).status == 200)
        #expect(call("PATCH", ["Users", users[4]], #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"someone@else.org"},{"op":"add","path":"emails","value":[{"value":"Second@Else.org"}]}]}"#).status == 200)
        #expect(call("DELETE", ["Users", users[5]]).status == 204)
        #expect(call("DELETE", ["Users", users[7]]).status == 204)
        #expect(call("PATCH", ["Groups", group], #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\#(users[1])\"]"}]}"#).status == 200)
        // userName stays unique, case-insensitively, through the index.
        #expect(call("PATCH", ["Users", users[6]], #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"Someone@Else.org"}]}"#).status == 409)

        let someUser = try #require(store.users[users[9]])
        let email = try #require(someUser["userName"]?.stringValue)
        let filters: [(TargetStore.Kind, String)] = [
            (.user, #"userName eq "ana.silva3@example.com""#), (.user, #"userName eq "\#(email.uppercased())""#),
            (.user, #"userName eq "someone@else.org""#), (.user, #"emails.value eq "second@else.org""#),
            (.user, #"emails[value eq "\#(email)"]"#), (.user, #"userName eq "\#(email)" and active eq true"#),
            (.user, #"userName eq "\#(email)" or userName eq "someone@else.org""#), (.user, #"userName eq "nobody@example.com""#),
            (.user, #"id eq "\#(users[5])""#), (.user, #"id eq "\#(users[8])""#), (.user, #"userName sw "ana""#),
            (.group, #"members.value eq "\#(users[1])""#), (.group, #"members.value eq "\#(users[2])""#),
            (.group, #"members.value eq "\#(users[7])""#), (.group, #"displayName eq "promotions""#),
            (.group, #"members[value eq "\#(users[2])"]"#), (.group, #"members[value eq "\#(users[2].uppercased())"]"#),
            (.user, #"emails[value eq "\#(email.uppercased())"]"#),
        ]
        for (kind, filter) in filters {
            let expression = try FilterParser.parse(filter)
            let scanned = kind == .user
                ? store.order.live.filter { store.users[$0].map(expression.matches) ?? false }
                : store.groupOrder.live.filter { store.groups[$0].map(expression.matches) ?? false }
            let answered = ids(call("GET", [kind == .user ? "Users" : "Groups"], query: ["filter": filter, "count": "1000"]))
            #expect(answered == scanned, "\(filter)")
        }
        // The spot checks above mean something: these filters find what they should.
        #expect(ids(call("GET", ["Users"], query: ["filter": #"userName eq "ana.silva3@example.com""#])) == [users[3]])
        #expect(ids(call("GET", ["Groups"], query: ["filter": #"members.value eq "\#(users[1])""#])).isEmpty)
        #expect(ids(call("GET", ["Groups"], query: ["filter": #"members.value eq "\#(users[2])""#])) == [group])
        #expect(store.order.live.count == users.count - 2)
    }

    @Test("creation order: removals are O(1) and compacted later; an id stored again is listed once, where it came back")
    func creationOrder() {
        var order = CreationOrder()
        for i in 0..<200 { order.append("u\(i)") }
        order.remove("u5")
        order.append("u5")
        #expect(order.live.filter { $0 == "u5" }.count == 1 && order.live.last == "u5")
        for i in 0..<150 where i != 5 { order.remove("u\(i)") }
        #expect(order.live == (150..<200).map { "u\($0)" } + ["u5"], "compacted after more than half were removed")
        #expect(order.sorted(["u199", "u5", "u150", "u3"]) == ["u150", "u199", "u5"])
    }

    @Test("fault specs are parsed strictly")
    func faultSpecs() throws {
        let specs = try FaultSpec.parse("crm:429=0.2,crm:retry-after=3,app:latency=50ms,app:soft-delete,newsletter:drop=0.05", targets: ["crm", "app", "newsletter"])
        #expect(specs["crm"]?.rate429 == 0.2 && specs["crm"]?.retryAfter == 3)
        #expect(try FaultSpec.parse("crm:429-at=2", targets: ["crm"])["crm"]?.call429 == 2)
        #expect(specs["app"]?.latencyMs == 50 && specs["app"]?.softDelete == true)
        #expect(specs["newsletter"]?.dropRate == 0.05)
        for bad in ["crm:429=2", "crm:429-at=0", "crm:429-at", "crm:teleport", "shop:503=0.1", "crm", "app:latency=soon"] {
            #expect(throws: SandboxConfigurationError.self) { try FaultSpec.parse(bad, targets: ["crm", "app"]) }
        }
    }

    @Test("seeded customers are the same people everywhere, some absent from app and newsletter")
    func seeding() {
        let sandbox = Sandbox(Sandbox.Configuration(seedCustomers: 14))
        let emails = { (target: String) in Set(sandbox.users(in: target).compactMap { $0.member("userName")?.value.stringValue }) }
        #expect(emails("shop").count == 14 && emails("crm") == emails("shop"))
        #expect(emails("app").count == 12 && emails("app").isSubset(of: emails("shop")))
        #expect(emails("shop").contains(SandboxCustomers.email(6)) && !emails("newsletter").contains(SandboxCustomers.email(6)))
    }
}
