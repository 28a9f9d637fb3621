import Foundation
import LetheApp
import LetheCore
import LetheStorage
import LetheStore
import LetheTesting
import Testing

/// The engine's end-to-end scenario against django-scim2, a SCIM server neither we nor the
/// scim2-server authors wrote. It advertises PATCH but answers a PATCH `remove` with 501, says
/// filtering is unsupported while it filters on userName, and uses integer ids: Lethe must
/// adapt to what it does. Every outcome is checked by a raw read of the server.
@Suite("Against django-scim2, a third independent SCIM server", .enabled(if: DjangoPeer.shouldRun))
struct DjangoPeerTests {
    /// An address nobody else in this one shared store has.
    func person(_ name: String) -> String { "\(name)-\(UUID().uuidString.prefix(8).lowercased())@example.com" }

    @Test("an erasure anonymizes through PUT after PATCH answers 501, verified; a raw read shows it, and nobody else changed")
    func anonymize() async throws {
        let h = try EngineHarness.django()
        let portal = try #require(h.tenants["portal"])
        let email = person("ana"), bystander = person("bo")
        let id = try await portal.createUser(userName: email, givenName: "Ana", familyName: "Lima")
        let other = try await portal.createUser(userName: bystander, givenName: "Bo", familyName: "Reis")
        let request = try h.file(.erasure, SubjectIdentifiers(email: email))
        try await h.with { try await $0.run() }

        let action = try h.action(request, "portal")
        #expect(action.state == .succeeded && action.verified == true && action.outcome == .anonymized, "\(action.state) \(action.lastError ?? "")")
        #expect(action.verification?.hasPrefix("PATCH unsupported (501): replaced with PUT") == true, "\(action.verification ?? "")")
        let raw = try #require(try await portal.user(id))
        #expect(raw["userName"]?.stringValue != email)
        #expect(raw["name"]?["givenName"]?.stringValue == "[redacted]")
        let family = raw["name"]?["familyName"]?.stringValue ?? ""
        #expect(family.isEmpty)
        let untouched = try #require(try await portal.user(other))
        #expect(untouched["userName"]?.stringValue == bystander && untouched["name"]?["familyName"]?.stringValue == "Reis")
    }

    @Test("a server that keeps an e-mail whatever PATCH and PUT say: `emails: remove` fails naming PUT and suggesting random; `emails: random` leaves one placeholder, verified")
    func emailsThatStay() async throws {
        for strategy in [AnonymizeStrategy.remove, .random] {
            let h = try EngineHarness.django { policy in
                policy.shares[0].attributes.append(AttributePath(name: "emails"))
                policy.erasure.anonymize[AttributePath(name: "emails")] = strategy
            }
            let portal = try #require(h.tenants["portal"])
            let email = person("eve")
            let id = try await portal.createUser(userName: email, email: email, givenName: "Eve", familyName: "Dias")
            let request = try h.file(.erasure, SubjectIdentifiers(email: email))
            try await h.with { try await $0.run() }
            let action = try h.action(request, "portal")
            let raw = try #require(try await portal.user(id))
            let held = raw["emails"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []
            if strategy == .remove {
                #expect(action.state == .failed && action.verified == false, "\(action.state) \(action.lastError ?? "")")
                #expect(action.lastError?.contains("the server accepted the PUT") == true, "names the method used: \(action.lastError ?? "")")
                #expect(action.lastError?.contains("consider `emails: random`") == true, "\(action.lastError ?? "")")
                #expect(held == [email], "django kept the address")
            } else {
                #expect(action.state == .succeeded && action.verified == true, "\(action.state) \(action.lastError ?? "")")
                #expect(held.count == 1 && held[0].hasPrefix("erased-") && held[0].hasSuffix("@erased.invalid"), "\(held)")
                #expect(!held.contains(email))
            }
        }
    }

    @Test("an erasure that deletes is verified by a 404 and an empty lookup; a raw read confirms the account is gone")
    func delete() async throws {
        let h = try EngineHarness.django { $0.erasure = ErasureRule(action: .delete) }
        let portal = try #require(h.tenants["portal"])
        let email = person("cy")
        let id = try await portal.createUser(userName: email, givenName: "Cy", familyName: "Dias")
        let other = try await portal.createUser(userName: person("di"), givenName: "Di", familyName: "Paz")
        let request = try h.file(.erasure, SubjectIdentifiers(email: email))
        try await h.with { try await $0.run() }

        let action = try h.action(request, "portal")
        #expect(action.state == .succeeded && action.verified == true && action.outcome == .deleted, "\(action.state) \(action.lastError ?? "")")
        #expect(try await portal.user(id) == nil)
        #expect(try await portal.user(other) != nil)
    }

    @Test("a consent withdrawal removes only what the consent shared, through PUT, and leaves the account")
    func withdrawal() async throws {
        let h = try EngineHarness.django()
        let portal = try #require(h.tenants["portal"])
        let email = person("ed")
        let id = try await portal.createUser(userName: email, givenName: "Ed", familyName: "Lobo")
        let request = try h.file(.revocation(purposes: ["newsletter"]), SubjectIdentifiers(email: email))
        try await h.with { try await $0.run() }

        let action = try h.action(request, "portal")
        #expect(action.state == .succeeded && action.verified == true && action.outcome == .attributesRemoved, "\(action.state) \(action.lastError ?? "")")
        let raw = try #require(try await portal.user(id))
        let family = raw["name"]?["familyName"]?.stringValue ?? ""
        #expect(family.isEmpty, "the consented attribute is gone")
        #expect(raw["userName"]?.stringValue == email && raw["name"]?["givenName"]?.stringValue == "Ed", "the rest is kept")
    }

    @Test("target check: usable, with the warning that filtering works although the server says it does not")
    func check() async throws {
        let h = try EngineHarness.django()
        let checks = try await h.with { h in
            await TargetCheck.run(try #require(h.policies.policies.first), clients: try h.runtime.clients)
        }
        #expect(checks.usable, "\(checks.problems)")
        #expect(checks.warnings.contains { $0.contains("advertises filter unsupported, but filtering works") }, "\(checks.warnings)")
    }
}
