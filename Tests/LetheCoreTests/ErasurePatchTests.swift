import Foundation
import LetheCore
import Testing

/// The erasure patch builder, without a server: the account's values come in as a dictionary.
@Suite("Erasure patch")
struct ErasurePatchTests {
    let crm: PlannedAction

    init() throws {
        let plan = try Planner(policies: try Fixtures.examplePolicies())
            .plan(PlanningRequest(kind: .erasure, subject: SubjectIdentifiers(email: "ana@example.com"), received: Fixtures.received))
        crm = try #require(plan.first { $0.target == "crm" })
    }

    func build(_ plan: PlannedAction, _ account: [String: [JSONValue]], written: [String: JSONValue] = [:]) -> ErasurePatch {
        var n = 0
        return ErasurePatch.build(for: plan, current: { account[$0.description] ?? [] },
                                  pseudonym: { "psn(\($0))" }, randomToken: { n += 1; return "r\(n)" }, written: written)
    }

    @Test("anonymize: random userName, redacted names, removed e-mails; each with what the read-back must show")
    func anonymize() throws {
        let patch = build(crm, [
            "userName": [.string("ana@example.com")], "name.givenName": [.string("Ana")], "name.familyName": [.string("Silva")],
            "emails": [.array([.object(["value": .string("ana@example.com")])])],
            "urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment": [.string("gold")],
        ])
        #expect(patch.changes.contains(.replace(path: "userName", value: .string("erased-r1@erased.invalid"))))
        #expect(patch.changes.contains(.replace(path: "name.givenName", value: .string(ErasurePatch.redacted))))
        #expect(patch.changes.contains(.remove(path: "emails")))
        #expect(patch.changes.contains(.remove(path: "urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment")))
        #expect(!patch.changes.contains { if case .remove("locale") = $0 { true } else { false } }, "locale holds nothing: not written")
        let expected = Dictionary(uniqueKeysWithValues: patch.expectations.map { ($0.path.description, $0.expected) })
        #expect(expected["userName"] == .equals(.string("erased-r1@erased.invalid")))
        #expect(expected["emails"] == .absent && expected["locale"] == .absent)
        #expect(expected["name.familyName"] == .equals(.string(ErasurePatch.redacted)))
    }

    /// crm's plan with `emails` erased by `strategy` instead of removed.
    func crmWithEmails(_ strategy: AnonymizeStrategy) -> PlannedAction {
        var plan = crm
        plan.attributes = plan.attributes.map { $0.path.description == "emails" ? AttributeChange(path: $0.path, strategy: strategy) : $0 }
        return plan
    }

    @Test("random and redact on a multi-valued attribute: one placeholder item replaces them all (an address at erased.invalid for e-mails)")
    func multiValuedPlaceholder() throws {
        let emails: [String: [JSONValue]] = ["emails": [.array([.object(["value": .string("ana@example.com"), "primary": .bool(true)]),
                                                                .object(["value": .string("ana@work.example")])])]]
        let random = build(crmWithEmails(.random), emails)
        // userName takes the first random token (r1), the e-mails the second.
        #expect(random.changes.contains(.replace(path: "emails", value: .array([.object(["value": .string("erased-r2@erased.invalid")])]))))
        #expect(random.expectations.contains(AttributeExpectation(path: AttributePath(name: "emails"), expected: .onlyItem(value: "erased-r2@erased.invalid"))))
        let redact = build(crmWithEmails(.redact), emails)
        #expect(redact.changes.contains(.replace(path: "emails", value: .array([.object(["value": .string("redacted@erased.invalid")])]))))
        // Nothing held: nothing written, and the read-back expects none.
        let none = build(crmWithEmails(.random), [:])
        #expect(!none.changes.contains { if case .replace("emails", _) = $0 { true } else { false } })
        #expect(none.expectations.contains(AttributeExpectation(path: AttributePath(name: "emails"), expected: .absent)))
        // A rerun after the placeholder was written (the server added primary): nothing again.
        let written: [String: JSONValue] = ["emails": .array([.object(["value": .string("erased-x9@erased.invalid")])])]
        let rerun = build(crmWithEmails(.random), ["emails": [.array([.object(["value": .string("erased-x9@erased.invalid"), "primary": .bool(true)])])]],
                          written: written)
        #expect(!rerun.changes.contains { if case .replace("emails", _) = $0 { true } else { false } })
        #expect(rerun.expectations.contains(AttributeExpectation(path: AttributePath(name: "emails"), expected: .onlyItem(value: "erased-x9@erased.invalid"))))
    }

    @Test("a rerun writes nothing that is already erased, and still checks every attribute")
    func idempotent() throws {
        let patch = build(crm, [
            "userName": [.string("erased-abc@erased.invalid")], "name.givenName": [.string(ErasurePatch.redacted)],
            "name.familyName": [.string(ErasurePatch.redacted)],
        ], written: ["userName": .string("erased-abc@erased.invalid")])
        #expect(patch.changes.isEmpty, "\(patch.changes)")
        #expect(patch.expectations.count == crm.attributes.count)
    }

    @Test("Lethe's own marks prove nothing: an account whose userName merely looks erased is still anonymized")
    func lookalikeIsNotErased() throws {
        let patch = build(crm, ["userName": [.string("erased-me@erased.invalid")]])
        #expect(patch.changes.contains(.replace(path: "userName", value: .string("erased-r1@erased.invalid"))))
        // What Lethe wrote elsewhere does not count either.
        let other = build(crm, ["userName": [.string("erased-me@erased.invalid")]], written: ["userName": .string("erased-other@erased.invalid")])
        #expect(other.changes.contains(.replace(path: "userName", value: .string("erased-r1@erased.invalid"))))
    }

    @Test("userName is required: random writes it even when the account shows none")
    func requiredAttribute() throws {
        let patch = build(crm, [:])
        #expect(patch.changes == [.replace(path: "userName", value: .string("erased-r1@erased.invalid"))])
    }

    @Test("deactivate anonymizes as planned and sets active=false on top")
    func deactivate() throws {
        var plan = crm
        plan.operation = .deactivate
        let patch = build(plan, ["active": [.bool(true)], "name.givenName": [.string("Ana")], "userName": [.string("ana")]])
        #expect(patch.changes.contains(.replace(path: "name.givenName", value: .string(ErasurePatch.redacted))))
        #expect(patch.changes.last == .replace(path: "active", value: .bool(false)))
        #expect(patch.expectations.count == crm.attributes.count + 1)
        #expect(patch.expectations.last == AttributeExpectation(path: AttributePath(name: "active"), expected: .equals(.bool(false))))
        // Already inactive: not written again, still checked.
        let again = build(plan, ["active": [.bool(false)]])
        #expect(!again.changes.contains(.replace(path: "active", value: .bool(false))))
    }

    @Test("pseudonym writes the keyed token for the path")
    func pseudonymStrategy() throws {
        var plan = crm
        plan.attributes = [AttributeChange(path: AttributePath(name: "name", subAttribute: "givenName"), strategy: .pseudonym)]
        let patch = build(plan, ["name.givenName": [.string("Ana")]])
        #expect(patch.changes == [.replace(path: "name.givenName", value: .string("psn(name.givenName)"))])
    }
}
