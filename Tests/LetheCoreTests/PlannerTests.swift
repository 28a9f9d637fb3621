import LetheCore
import Testing

@Suite("Planner")
struct PlannerTests {
    let planner: Planner
    let ana = SubjectIdentifiers(email: "ana@example.com")

    init() throws {
        planner = Planner(policies: try Fixtures.examplePolicies())
    }

    func plan(_ kind: RequestKind, _ subject: SubjectIdentifiers? = nil, received: CalendarDate = Fixtures.received) throws -> [String: PlannedAction] {
        let actions = try planner.plan(PlanningRequest(kind: kind, subject: subject ?? ana, received: received))
        #expect(actions.map(\.target) == ["app", "crm", "newsletter", "shop"])
        return Dictionary(uniqueKeysWithValues: actions.map { ($0.target, $0) })
    }

    @Test("erasure: shop anonymizes and keeps addresses for 10 years, app and newsletter delete, crm anonymizes")
    func erasureWithExamplePolicies() throws {
        let plan = try plan(.erasure)

        let shop = try #require(plan["shop"])
        #expect(shop.operation == .anonymize)
        #expect(shop.match == .email)
        #expect(shop.attributes.map(\.path.description) == ["userName", "name.givenName", "name.familyName", "emails"])
        #expect(shop.attributes.first?.strategy == .random)
        #expect(shop.attributes.dropFirst().allSatisfy { $0.strategy == .remove })
        #expect(shop.retained == [RetainedData(
            purpose: "invoicing", basis: .legalObligation, attributes: [AttributePath(name: "addresses")], groups: [],
            until: CalendarDate(iso: "2036-11-29")!)])
        #expect(shop.reason.contains("Art. 17(3)(b)"))

        #expect(plan["app"]?.operation == .delete)
        #expect(plan["app"]?.match == .userName)  // app.yaml: user_name_is_email

        let newsletter = try #require(plan["newsletter"])
        #expect(newsletter.operation == .delete)
        #expect(newsletter.groups == ["Newsletter"])

        let crm = try #require(plan["crm"])
        #expect(crm.operation == .anonymize)
        #expect(crm.groups == ["Promotions"])
        let strategies = Dictionary(uniqueKeysWithValues: crm.attributes.map { ($0.path.description, $0.strategy) })
        #expect(strategies == [
            "userName": .random, "name.givenName": .redact, "name.familyName": .redact, "emails": .remove, "locale": .remove,
            "\(SCIMSchemas.gdprUser):marketingSegment": .remove,
        ])
        #expect(crm.retained.isEmpty)
    }

    @Test("retention counts from the day the request was received")
    func retentionFromReceipt() throws {
        let plan = try plan(.erasure, received: CalendarDate(iso: "2024-02-29")!)
        #expect(plan["shop"]?.retained.first?.until.description == "2034-02-28")
    }

    @Test("revoking marketing removes the segment and leaves Promotions in crm only")
    func revokeMarketing() throws {
        let plan = try plan(.revocation(purposes: ["marketing"]))
        let crm = try #require(plan["crm"])
        #expect(crm.operation == .removeAttributes)
        #expect(crm.attributes == [AttributeChange(path: AttributePath(schema: SCIMSchemas.gdprUser, name: "marketingSegment"), strategy: .remove)])
        #expect(crm.groups == ["Promotions"])
        for target in ["shop", "app", "newsletter"] {
            #expect(plan[target]?.operation == PlannedOperation.none, "\(target)")
            #expect(plan[target]?.reason.contains("holds nothing for marketing") == true)
        }
    }

    @Test("revoking newsletter deletes the newsletter account: everything there rests on that consent")
    func revokeNewsletterBecomesErasure() throws {
        let plan = try plan(.revocation(purposes: ["newsletter"]))
        let newsletter = try #require(plan["newsletter"])
        #expect(newsletter.operation == .delete)
        #expect(newsletter.groups == ["Newsletter"])
        #expect(newsletter.reason.contains("rests on consent for newsletter"))
        #expect(["shop", "app", "crm"].allSatisfy { plan[$0]?.operation == PlannedOperation.none })
    }

    @Test("revoking two purposes at once acts on both")
    func revokeTwo() throws {
        let plan = try plan(.revocation(purposes: ["marketing", "newsletter"]))
        #expect(plan["crm"]?.operation == .removeAttributes)
        #expect(plan["newsletter"]?.operation == .delete)
    }

    @Test("a purpose shared nowhere plans nothing anywhere, and says so")
    func purposeSharedNowhere() throws {
        let plan = try plan(.revocation(purposes: ["loyalty"]))
        #expect(plan.values.allSatisfy { $0.operation == PlannedOperation.none && $0.reason.contains("holds nothing for loyalty") })
    }

    @Test("a purpose held under contract is not reached by withdrawing consent")
    func nonConsentBasisStays() throws {
        let plan = try plan(.revocation(purposes: ["account"]))
        #expect(plan["crm"]?.operation == PlannedOperation.none)
        #expect(plan["crm"]?.reason.contains("under contract, not consent") == true)
    }

    @Test("an unknown purpose is refused with a suggestion")
    func unknownPurpose() {
        #expect(throws: Planner.Problem.unknownPurpose("marketting", known: Fixtures.catalogNames)) {
            try planner.plan(PlanningRequest(kind: .revocation(purposes: ["marketting"]), subject: ana, received: Fixtures.received))
        }
        #expect(Planner.Problem.unknownPurpose("marketting", known: Fixtures.catalogNames).description.contains("did you mean 'marketing'?"))
    }

    @Test("a request without identifiers is refused")
    func noIdentifiers() {
        #expect(throws: Planner.Problem.noIdentifier) {
            try planner.plan(PlanningRequest(kind: .erasure, subject: SubjectIdentifiers(email: ""), received: Fixtures.received))
        }
    }

    @Test("a target the subject cannot be matched in is planned as needs_review, with the reason")
    func missingIdentifier() throws {
        let plan = try plan(.erasure, SubjectIdentifiers(externalId: "C-1042"))
        #expect(plan["app"]?.operation == .delete)
        #expect(plan["app"]?.match == .externalId)
        for target in ["shop", "newsletter", "crm"] {
            let action = try #require(plan[target])
            #expect(action.operation == .needsReview)
            #expect(action.match == nil)
            #expect(action.reason.contains("emails.value"))
        }
        // Targets with nothing to do need no identifier.
        let revocation = try self.plan(.revocation(purposes: ["marketing"]), SubjectIdentifiers(externalId: "C-1042"))
        #expect(revocation["shop"]?.operation == PlannedOperation.none)
        #expect(revocation["crm"]?.operation == .needsReview)
    }

    @Test("the first match attribute the request has is used")
    func matchOrder() throws {
        let plan = try plan(.erasure, SubjectIdentifiers(email: "a@x.org", externalId: "X", userName: "u"))
        #expect(plan["app"]?.match == .externalId)
        let noExternal = try self.plan(.erasure, SubjectIdentifiers(email: "a@x.org", userName: "u"))
        #expect(noExternal["app"]?.match == .userName)
    }

    @Test("an attribute also held under another basis survives a withdrawal")
    func overlappingSharesStay() throws {
        let set = try Fixtures.policy("""
            target: t
            connection: { base_url: "http://127.0.0.1:1/v2", auth: none }
            identity: { match: [emails.value] }
            shares:
              - { purpose: account, basis: contract, attributes: [userName, emails], groups: [Customers] }
              - { purpose: marketing, basis: consent, attributes: [emails, locale, name.givenName], groups: [Customers, Promotions] }
            erasure: { action: delete }
            """)
        let action = try #require(try Planner(policies: set).plan(
            PlanningRequest(kind: .revocation(purposes: ["marketing"]), subject: ana, received: Fixtures.received)).first)
        #expect(action.operation == .removeAttributes)
        #expect(action.attributes.map(\.path.description) == ["locale", "name.givenName"])
        #expect(action.groups == ["Promotions"])
    }

    @Test("anonymize and deactivate targets keep what a legal obligation retains")
    func retentionWithAnonymizeAndDeactivate() throws {
        for action in ["anonymize", "deactivate"] {
            let set = try Fixtures.policy("""
                target: t
                connection: { base_url: "http://127.0.0.1:1/v2", auth: none }
                identity: { match: [emails.value] }
                shares:
                  - { purpose: account, basis: contract, attributes: [userName, name, emails] }
                  - { purpose: invoicing, basis: legal_obligation, retention: 6m, attributes: [name.familyName, addresses] }
                erasure: { action: \(action), anonymize: { userName: random } }
                """)
            let planned = try #require(try Planner(policies: set).plan(
                PlanningRequest(kind: .erasure, subject: ana, received: Fixtures.received)).first)
            #expect(planned.retained.first?.until.description == "2027-05-29")
            if action == "anonymize" {
                #expect(planned.operation == .anonymize)
                // `name` contains the retained familyName, so it is not wiped whole.
                #expect(planned.attributes.map(\.path.description) == ["userName", "emails"])
            } else {
                // Deactivation comes with the same anonymization, never instead of it.
                #expect(planned.operation == .deactivate)
                #expect(planned.attributes.map(\.path.description) == ["userName", "emails"])
            }
        }
    }

    @Test("pseudonymised attributes are listed as such")
    func pseudonymisedListed() throws {
        let set = try Fixtures.policy(PolicyValidationTests.minimal(anonymize: "    name.givenName: pseudonym\n"))
        let action = try #require(try Planner(policies: set).plan(
            PlanningRequest(kind: .erasure, subject: ana, received: Fixtures.received)).first)
        #expect(action.pseudonymised == [AttributePath(name: "name", subAttribute: "givenName")])
    }

    @Test("planning is pure: the plan does not depend on the order the policies were read in")
    func deterministic() throws {
        let policies = try Fixtures.examplePolicies()
        let reversed = PolicySet(policies: policies.policies.reversed(), purposes: policies.purposes)
        let request = PlanningRequest(kind: .erasure, subject: ana, received: Fixtures.received)
        let forward = try Planner(policies: policies).plan(request)
        let backward = try Planner(policies: reversed).plan(request)
        #expect(Dictionary(uniqueKeysWithValues: forward.map { ($0.target, $0) }) == Dictionary(uniqueKeysWithValues: backward.map { ($0.target, $0) }))
        #expect(forward.count == 4)
    }

    @Test("a retention that has already ended when the request is planned keeps nothing: the data goes with the rest")
    func endedRetention() throws {
        let received = CalendarDate(iso: "2026-01-01")!
        let kept = try #require(try planner.plan(PlanningRequest(kind: .erasure, subject: ana, received: received, today: received)).first { $0.target == "shop" })
        #expect(kept.retained.first?.ended == nil && kept.retained.first?.until == CalendarDate(iso: "2036-01-01"))
        #expect(!kept.attributes.contains { $0.path.description == "addresses" })

        let set = try Fixtures.policy("""
            target: shop
            connection: { base_url: "http://127.0.0.1:1/v2", auth: none }
            identity: { match: [emails.value] }
            shares:
              - { purpose: account, basis: contract, attributes: [userName, emails] }
              - { purpose: invoicing, basis: legal_obligation, retention: 90d, attributes: [addresses] }
            erasure: { action: delete }
            """)
        let late = try #require(try Planner(policies: set).plan(PlanningRequest(
            kind: .erasure, subject: ana, received: received, today: received.adding(days: 100))).first)
        #expect(late.operation == .delete, "nothing is kept any more, so the delete stands")
        #expect(late.retained.first?.ended == true && late.retained.first?.until == received.adding(days: 90))
        #expect(late.reason.contains("which has passed"))
        #expect(RetentionFollowUp.followUps(of: late).isEmpty)

        let onTime = try #require(try Planner(policies: set).plan(PlanningRequest(
            kind: .erasure, subject: ana, received: received, today: received.adding(days: 10))).first)
        #expect(onTime.operation == .anonymize && onTime.retained.first?.ended == nil)
        let followUps = RetentionFollowUp.followUps(of: onTime)
        #expect(followUps.map(\.due) == [received.adding(days: 91)], "the day after the last day of keeping")
        #expect(followUps.first?.plan.operation == .removeAttributes)
        #expect(followUps.first?.plan.attributes == [AttributeChange(path: AttributePath(name: "addresses"), strategy: .remove)])
    }
}

extension Fixtures {
    static let catalogNames = ["account", "invoicing", "newsletter", "marketing", "loyalty", "analytics", "support"]
}
