import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheReports
import LetheSandbox
import LetheStorage
import LetheStore
import LetheTesting
import Testing

/// Four eyes and the grace period with the engine running against the sandbox: what reaches
/// the targets, and when.
@Suite("Approval and grace period, end to end against the sandbox")
struct ApprovalEngineTests {
    /// Calls that change something in a target (anything but GET).
    static func writes(_ sandbox: Sandbox) -> Int {
        sandbox.callCounts.filter { !$0.key.contains(" GET ") }.values.reduce(0, +)
    }

    static func holds(_ sandbox: Sandbox, customer: Int) -> [String] {
        ["shop", "app", "newsletter", "crm"].filter { target in
            sandbox.users(in: target).contains { CanonicalJSON.string($0).contains(SandboxCustomers.email(customer)) }
        }
    }

    @Test("the grace period delays the first destructive call (injected clock); cancelling inside it leaves every target untouched")
    func graceDelaysAndCancelLeavesUntouched() async throws {
        let clock = VirtualClock(start: Date(timeIntervalSince1970: 1_796_083_200))
        let h = try await EngineHarness.sandbox(clock: clock, settings: LetheSettings(grace: TimeSpan(milliseconds: 3_600_000)))
        let server = try #require(h.sandbox)
        try await h.with { h in
            let heldBefore = Self.holds(server.sandbox, customer: 1)
            #expect(heldBefore.count >= 3, "the seeded customer is in the targets: \(heldBefore)")
            let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(1)))
            #expect(try h.database.request(id)?.startsAt == clock.now().addingTimeInterval(3600))

            // Inside the grace period: the run ends at once and nothing reaches any target.
            let early = try await h.run()
            #expect(early.startingLater > 0)
            #expect(server.sandbox.callCounts.isEmpty, "no call at all before the grace ends: \(server.sandbox.callCounts)")
            clock.advance(3599)
            try await h.run()
            #expect(server.sandbox.callCounts.isEmpty, "still none one second before: \(server.sandbox.callCounts)")

            // The grace ends: the erasure runs, verified.
            clock.advance(1)
            try await h.run()
            #expect(try h.database.request(id)?.state == .completed)
            #expect(Self.writes(server.sandbox) > 0)
            #expect(Self.holds(server.sandbox, customer: 1).isEmpty)

            // Another request, cancelled ten minutes into its grace: no call for it, ever.
            let calls = server.sandbox.callCounts
            let second = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(2)))
            let heldSecond = Self.holds(server.sandbox, customer: 2)
            clock.advance(600)
            _ = try h.database.cancel(second, reason: "filed for the wrong customer", now: clock.now())
            clock.advance(2 * 86_400)
            try await h.run()
            #expect(server.sandbox.callCounts == calls, "the cancelled request sent nothing to any target")
            #expect(Self.holds(server.sandbox, customer: 2) == heldSecond, "every target still holds the customer")
            #expect(try h.database.actions(of: second).allSatisfy { $0.state == .cancelled && $0.attempts == 0 })
        }
    }

    @Test("approval: erasures: nothing reaches a target until someone else approves; then the run completes and verifies")
    func approvalGatesTheEngine() async throws {
        let h = try await EngineHarness.sandbox(settings: LetheSettings(approval: .erasures))
        let server = try #require(h.sandbox)
        try await h.with { h in
            #expect(throws: Intake.Refusal.self, "approval needs to know who files") {
                try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(3)))
            }
            let id = try h.file(.erasure, SubjectIdentifiers(email: SandboxCustomers.email(3)), requestedBy: "Ana Admin")
            #expect(try h.database.request(id)?.state == .awaitingApproval)
            let summary = try await h.run()
            #expect(summary.awaitingApproval == 1 && summary.attempts == 0)
            #expect(server.sandbox.callCounts.isEmpty, "\(server.sandbox.callCounts)")
            #expect(throws: StoreError.selfApproval(requestId: id, filer: "Ana Admin")) {
                try h.database.approve(id, by: .person("ana admin"), now: Date())
            }
            try await h.run()
            #expect(server.sandbox.callCounts.isEmpty)
            _ = try h.database.approve(id, by: .person("Bo Berg"), note: "identity checked", now: Date())
            try await h.run()
            let request = try #require(try h.database.request(id))
            #expect(request.state == .completed)
            let actions = try h.database.actions(of: id).filter { $0.follows == nil }
            #expect(actions.allSatisfy { $0.state == .succeeded && $0.verified != false }, "\(actions.map { "\($0.target) \($0.state) \($0.outcome?.rawValue ?? "-") \($0.verified.map(String.init) ?? "-")" })")
            #expect(actions.contains { $0.verified == true && ($0.outcome == .deleted || $0.outcome == .anonymized || $0.outcome == .anonymizedAndDeactivated) })
            #expect(Self.holds(server.sandbox, customer: 3).isEmpty)

            // A withdrawal of consent is not held under `approval: erasures`.
            let revocation = try h.file(.revocation(purposes: ["marketing"]), SubjectIdentifiers(email: SandboxCustomers.email(4)))
            #expect(try h.database.request(revocation)?.state == .received)

            // The certificate says who approved it, and that it was not the filer.
            let certificate = ReportBuilder(keyId: "k", generatedAt: Date(), chain: try h.database.verifyAuditChain())
                .certificate(request, actions: try h.database.actions(of: id), events: try h.database.auditEvents(request: id))
            let statement = try #require(certificate["statement"]?.stringValue)
            #expect(statement.contains("approved by Bo Berg, not the person who filed it (Ana Admin)"), "\(statement)")
            #expect(certificate["request"]?["approval"]?["by"]?.stringValue == "Bo Berg")
            let changes = certificate["request"]?["changes"]?.arrayValue ?? []
            #expect(changes.contains { $0["event"]?.stringValue == "approval_granted" && $0["by"]?.stringValue == "Bo Berg" })
        }
    }
}
