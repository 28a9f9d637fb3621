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

    @Test("fault specs are parsed strictly")
    func faultSpecs() throws {
        let specs = try FaultSpec.parse("crm:429=0.2,crm:retry-after=3,app:latency=50ms,app:soft-delete,newsletter:drop=0.05", targets: ["crm", "app", "newsletter"])
        #expect(specs["crm"]?.rate429 == 0.2 && specs["crm"]?.retryAfter == 3)
        #expect(specs["app"]?.latencyMs == 50 && specs["app"]?.softDelete == true)
        #expect(specs["newsletter"]?.dropRate == 0.05)
        for bad in ["crm:429=2", "crm:teleport", "shop:503=0.1", "crm", "app:latency=soon"] {
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
