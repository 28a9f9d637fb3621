import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSCIM
import LetheStore
import LetheTesting

/// The engine in-process, against scim2-server tenants configured through the example
/// policies, with fast retries and optional faults on the wire.
struct EngineHarness {
    let peer: SCIM2ServerPeer
    let seeder: Seeder
    let policies: PolicySet
    let database: AppDatabase
    let pseudonymizer = Pseudonymizer(key: Data((0..<32).map { UInt8($0) }))
    let live = AsyncHTTPClientTransport()

    init(maxAttempts: Int = 3) throws {
        let peer = try SCIM2ServerPeer.running()
        self.peer = peer
        let tenants = Dictionary(uniqueKeysWithValues: ["shop", "app", "newsletter", "crm"].map { ($0, peer.newTenant($0)) })
        let seeder = Seeder(tenants: tenants)
        self.seeder = seeder
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let loaded = try PolicyDirectory.load(root.appendingPathComponent("policies").path, environment: seeder.environment(token: peer.token)).get()
        policies = PolicySet(policies: loaded.policies.map { policy in
            var fast = policy
            fast.connection.retry = RetrySettings(base: TimeSpan(milliseconds: 20), max: TimeSpan(milliseconds: 200), maxAttempts: maxAttempts)
            fast.connection.rateLimit = nil
            return fast
        }, purposes: loaded.purposes)
        database = try AppDatabase.inMemory()
    }

    var tenants: [String: SCIMTenant] { seeder.tenants }

    func file(_ kind: RequestKind, _ subject: SubjectIdentifiers, ref: String? = nil) throws -> String {
        let intake = Intake(database: database, policies: policies, pseudonymizer: pseudonymizer)
        return try intake.file(Intake.Submission(kind: kind, subject: subject, ref: ref, received: .init(iso: "2026-11-29")!), now: Date()).request.id
    }

    /// Runs until idle with the given faults on the wire.
    @discardableResult
    func run(faults: [FaultyTransport.Rule] = [], timeout: Double = 60) async throws -> Engine.Summary {
        let transport = FaultyTransport(wrapping: live, rules: faults)
        let clients = TargetClients(policies: policies, environment: seeder.environment(token: peer.token), transport: transport)
        let engine = Engine(database: database, policies: policies, clients: clients, pseudonymizer: pseudonymizer)
        return try await engine.run(Engine.Options(untilIdle: true, timeout: timeout, pollInterval: 0.05))
    }

    func action(_ requestId: String, _ target: String) throws -> StoredAction {
        try database.actions(of: requestId).first { $0.target == target }!
    }

    func shutdown() async { await live.shutdown() }
}
