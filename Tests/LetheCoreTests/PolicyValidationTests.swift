import Foundation
import LetheCore
import Testing

@Suite("Policy validation")
struct PolicyValidationTests {
    static let corpus: [String] = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.brokenPolicies.path)
        .filter { !$0.hasSuffix(".py") && !$0.hasPrefix(".") }.sorted()) ?? []

    @Test("the corpus is there", .tags(.corpus))
    func corpusIsPresent() {
        #expect(Self.corpus.count >= 30)
    }

    @Test("each broken policy fails at the right FILE:LINE:COL", arguments: corpus)
    func brokenPolicyFails(caseName: String) throws {
        // Given a directory whose one marked file says where its error is
        let directory = Fixtures.brokenPolicies.appendingPathComponent(caseName)
        let (files, purposes) = try Fixtures.policyFiles(in: directory)
        let marked = try #require(files.first { $0.text.hasPrefix("# expect: ") })
        let header = marked.text.prefix { $0 != "\n" }.dropFirst("# expect: ".count)
        let position = header.prefix { $0 != " " }
        let message = String(header.dropFirst(position.count + 1))

        // When the policies are parsed
        let result = PolicySet.parse(files: files, purposesFile: purposes, environment: ["LETHE_TEST_TOKEN": "t"])

        // Then they are refused, with an error at that position saying that
        guard case .failure(let error) = result else {
            Issue.record("\(caseName) was accepted")
            return
        }
        let hits = error.errors.filter { "\($0.file):\($0.line):\($0.column)" == "\(marked.path):\(position)" }
        #expect(hits.contains { $0.message.contains(message) },
                "expected \(marked.path):\(position) '\(message)', got:\n\(error.description)")
    }

    @Test("the shipped example policies are valid, with only unset-token warnings")
    func shippedPoliciesAreValid() throws {
        let set = try Fixtures.examplePolicies()
        #expect(set.targetNames == ["app", "crm", "newsletter", "shop"])
        #expect(set.warnings.allSatisfy { $0.message.contains("is not set") })
        let withTokens = try Fixtures.examplePolicies(environment: [
            "LETHE_SHOP_TOKEN": "a", "LETHE_APP_TOKEN": "b", "LETHE_NEWSLETTER_TOKEN": "c", "LETHE_CRM_TOKEN": "d",
        ])
        #expect(withTokens.warnings.isEmpty)
    }

    @Test("the example policies carry the reference semantics")
    func exampleSemantics() throws {
        let set = try Fixtures.examplePolicies()
        let shop = try #require(set["shop"])
        #expect(shop.match == [.email])
        #expect(shop.scim.auth == .bearer(tokenEnv: "LETHE_SHOP_TOKEN"))
        #expect(shop.shares.map(\.purpose) == ["account", "invoicing"])
        #expect(shop.shares[1].basis == .legalObligation && shop.shares[1].retention == RetentionPeriod(amount: 10, unit: .years))
        #expect(shop.erasure.action == .delete)
        let app = try #require(set["app"])
        #expect(app.match == [.externalId, .userName])
        let newsletter = try #require(set["newsletter"])
        #expect(newsletter.shares.map(\.groups) == [["Newsletter"]])
        let crm = try #require(set["crm"])
        #expect(crm.erasure.action == .anonymize)
        #expect(crm.erasure.anonymize[AttributePath(name: "userName")] == .random)
        #expect(crm.shares[1].groups == ["Promotions"])
    }

    @Test("${VAR:-default} takes the environment when set, else the default")
    func environmentExpansionInPolicies() throws {
        let defaults = try Fixtures.examplePolicies()
        #expect(defaults["crm"]?.scim.baseURL == "http://127.0.0.1:8990/crm/v2")
        let set = try Fixtures.examplePolicies(environment: ["LETHE_CRM_URL": "https://crm.example.com/scim/v2/"])
        #expect(set["crm"]?.scim.baseURL == "https://crm.example.com/scim/v2")
    }

    @Test("kind is scim when absent; written out, it is the same policy; the connection splits into the driver's and the engine's")
    func kindDefaultsToSCIM() throws {
        let absent = try #require(try Fixtures.policy(Self.minimal()).policies.first)
        let written = try #require(try Fixtures.policy("kind: scim\n" + Self.minimal()).policies.first)
        #expect(absent.kind == .scim && absent == written)
        #expect(absent.scim.baseURL == "http://127.0.0.1:1/v2" && absent.scim.update == .auto)
        #expect(absent.engine.maxConcurrency == 4 && absent.engine.timeout == .seconds(30))
    }

    @Test("pseudonym is allowed with a Recital 26 warning")
    func pseudonymWarns() throws {
        let set = try Fixtures.policy(Self.minimal(anonymize: "    name.givenName: pseudonym\n"))
        #expect(set.warnings.contains { $0.message.contains("Recital 26") && $0.line == 17 })
    }

    @Test("random and redact apply to a multi-valued attribute with values (one placeholder), pseudonym does not")
    func placeholdersOnMultiValued() throws {
        for strategy in ["random", "redact"] {
            let set = try Fixtures.policy(Self.minimal(anonymize: "    userName: random\n    emails: \(strategy)\n"))
            #expect(set.policies.first?.erasure.anonymize[AttributePath(name: "emails")]?.rawValue == strategy)
        }
        #expect(throws: (any Error).self) { try Fixtures.policy(Self.minimal(anonymize: "    userName: random\n    emails: pseudonym\n")) }
    }

    @Test("every error is reported, not only the first")
    func allErrorsReported() {
        let yaml = Self.minimal(anonymize: "    name.givenName: scramble\n").replacingOccurrences(of: "basis: contract", with: "basis: contrat")
        guard case .failure(let error) = PolicySet.parse(files: [("x.yaml", yaml)], environment: [:]) else {
            Issue.record("accepted")
            return
        }
        #expect(error.errors.count == 2)
        #expect(error.errors[0].hint?.contains("did you mean 'contract'?") == true)
    }

    @Test("an empty policy directory is an error")
    func emptyDirectory() {
        guard case .failure(let error) = PolicySet.parse(files: [], environment: [:], directory: "nowhere") else {
            Issue.record("accepted")
            return
        }
        #expect(error.errors.first?.message.contains("no policy files") == true)
    }

    @Test("https is required except on loopback", arguments: [
        ("http://127.0.0.1:8000/v2", true), ("http://localhost/v2", true), ("http://[::1]:80/v2", true),
        ("https://crm.example.com/v2", true), ("http://crm.example.com/v2", false), ("http://10.0.0.1/v2", false),
        ("ftp://127.0.0.1/v2", false), ("crm.example.com", false), ("https://user:pw@crm.example.com/v2", false),
    ])
    func baseURLRules(url: String, accepted: Bool) {
        #expect((PolicyParser.baseURLProblem(url) == nil) == accepted)
    }

    static func minimal(anonymize: String = "") -> String {
        """
        target: t
        connection:
          base_url: http://127.0.0.1:1/v2
          auth: none
        identity:
          match: [emails.value]
        shares:
          - purpose: account
            basis: contract
            attributes: [userName, name.givenName, emails]
          - purpose: marketing
            basis: consent
            attributes: [locale]
        erasure:
          action: anonymize
          anonymize:
        \(anonymize.isEmpty ? "    userName: random\n" : anonymize)
        """
    }
}

extension Tag {
    @Tag static var corpus: Self
}
