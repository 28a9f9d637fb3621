import Foundation
import GRDB
import LetheCore
@testable import LetheStore
import LetheStorage
import LethePostgres
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
        let sealer = IdentifierSealer(key: Data(repeating: 9, count: 32))
        return StoreContract.Fixture(open: { try AppDatabase.open(path: path, sealer: sealer) }, rawBytes: {
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

    @Test("a database from before sealing is sealed in place when opened with the key; the identifiers read back; no plain copy is left")
    func sealedInPlace() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-seal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("lethe.db").path
        let subject = SubjectIdentifiers(email: "legacy.person@example.com", userName: "legacy.person")
        let pseudonymizer = Pseudonymizer(key: Data(repeating: 7, count: 32))
        do {
            let plain = try AppDatabase.open(path: path)
            _ = try plain.file(NewRequest(id: "req-legacy", kind: .erasure, ref: nil, pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                                          received: CalendarDate(iso: "2026-12-01")!,
                                          plan: [PlannedAction(target: "a", operation: .delete, match: .email, reason: "r")]), now: Date())
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data("legacy.person@example.com".utf8)) != nil
            || (try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")))?.range(of: Data("legacy.person@example.com".utf8)) != nil,
                "before: stored as given")
        let sealer = IdentifierSealer(key: Data(repeating: 3, count: 32))
        let sealed = try AppDatabase.open(path: path, sealer: sealer)
        #expect(try sealed.request("req-legacy")?.identifiers == subject)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")) { bytes.append(wal) }
        #expect(bytes.range(of: Data("legacy.person".utf8)) == nil, "no plain copy in the file or its write-ahead log")
        let raw = try sealed.writer.read { try Row.fetchOne($0, sql: "SELECT email, user_name FROM request")! }
        #expect((raw[0] as String).hasPrefix(IdentifierSealer.prefix) && (raw[1] as String).hasPrefix(IdentifierSealer.prefix))

        // Another key is refused before anything is read or written.
        #expect(throws: StoreError.self) { try AppDatabase.open(path: path, sealer: IdentifierSealer(key: Data(repeating: 4, count: 32))) }
        // Without a key, a sealed value is refused, never shown as text.
        #expect(throws: StoreError.self) { try AppDatabase.open(path: path).request("req-legacy") }
    }

    @Test("a sealed value moved to another request or field does not open")
    func sealsAreBound() throws {
        let sealer = IdentifierSealer(key: Data(repeating: 5, count: 32))
        let value = try #require(try sealer.seal("ana@example.com", request: "req-1", field: "email"))
        #expect(try sealer.open(value, request: "req-1", field: "email") == "ana@example.com")
        #expect(throws: IdentifierSealer.Failure.self) { try sealer.open(value, request: "req-2", field: "email") }
        #expect(throws: IdentifierSealer.Failure.self) { try sealer.open(value, request: "req-1", field: "user_name") }
        #expect(!value.contains("ana"), "the sealed form says nothing of the value")
    }
}

/// The same contract against the PostgreSQL store, each check on a database of its own.
@Suite("Store contract: PostgreSQL", .enabled(if: PostgresPeer.shouldRun))
struct PostgresStoreContractTests {
    static func database() throws -> StoreContract.Fixture {
        let peer = try PostgresPeer.running()
        let url = try peer.newDatabase("contract")
        let sealer = IdentifierSealer(key: Data(repeating: 9, count: 32))
        return StoreContract.Fixture(open: { try PostgresStore(url: url, sealer: sealer) }, rawBytes: {
            // What a backup of the database holds.
            try peer.dump(url)
        }, cleanUp: { peer.dropDatabase(url) })
    }

    @Test("PostgreSQL keeps the store contract", arguments: StoreContract.checks.map(\.name))
    func contract(_ name: String) async throws {
        let fixture = try Self.database()
        defer { fixture.cleanUp() }
        let check = try #require(StoreContract.checks.first { $0.name == name })
        try await check.run(fixture)
    }

    @Test("the PostgreSQL schema has the SQLite store's versions, by name")
    func sameVersions() {
        #expect(PostgresStore.schemaVersions == AppDatabase.schemaVersions)
    }
}
