import Foundation
import GRDB
import LetheCore
@testable import LetheStore
import LetheStorage
import LetheTesting
import Testing

/// The store contract (`StoreContract` in LetheTesting) against the SQLite store, on a file as
/// Lethe runs it. Another store runs the same checks with its own fixture.
@Suite("Store contract: SQLite")
struct StoreContractTests {
    static func sqliteFile() throws -> StoreContract.Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("lethe.db").path
        return StoreContract.Fixture(open: { try AppDatabase.open(path: path) }, rawBytes: {
            // The main file and whatever the write-ahead log still holds.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            if let wal = try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")) { bytes.append(wal) }
            return bytes
        }, cleanUp: { try? FileManager.default.removeItem(at: directory) })
    }

    @Test("SQLite keeps the store contract", arguments: StoreContract.checks.map(\.name))
    func contract(_ name: String) async throws {
        let fixture = try Self.sqliteFile()
        defer { fixture.cleanUp() }
        let check = try #require(StoreContract.checks.first { $0.name == name })
        try await check.run(fixture)
    }

    @Test("a database of the previous version (v15, scim_id) opens: the account reference it recorded is kept")
    func previousVersionMigrates() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v15-action-server-message")
        let plan = try PlanCodec.encode(PlannedAction(target: "shop", operation: .delete, match: .email, reason: "r"))
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, kind, purposes, pseudonym, email, received, due, created_at, state)
                VALUES ('req-old', 'erasure', '[]', 'psn_x', 'old@example.com', '2026-11-01', '2026-12-01', 1, 'in_progress')
                """)
            try db.execute(sql: """
                INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at, scim_id)
                VALUES ('req-old', 'shop', ?, 'delete', 'retrying', 1, 'u-17')
                """, arguments: [plan])
        }
        let database = try AppDatabase(queue)
        let action = try #require(try database.actions(of: "req-old").first)
        #expect(action.accountRef == "u-17" && action.state == .retrying)
    }
}
