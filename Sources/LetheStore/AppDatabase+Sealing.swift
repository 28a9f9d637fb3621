import Foundation
import GRDB
import LetheCore
import LetheStorage

/// Identifiers at rest: sealed while a request is open (`IdentifierSealer`), opened when read.
extension AppDatabase {
    /// The meta key naming the identifiers key the database's sealed values were made with.
    static let sealingKeyMeta = "identifiers.key_id"

    /// The columns that hold a request's identifiers, with the field names their seals are bound to.
    static let identifierColumns = StoredIdentifiers.columns

    /// Set once every identifier stored before sealing has been sealed.
    static let sealedMeta = "identifiers.sealed"

    /// Refuses another key than the one the database was sealed with, then, once, seals
    /// whatever is still stored as given (a database from before sealing, migrated in place).
    /// After that pass an open costs one read: no write, no scan.
    func sealIdentifiers(with sealer: IdentifierSealer) throws {
        let (known, done) = try writer.read { db in
            (try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.sealingKeyMeta]),
             try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.sealedMeta]) != nil)
        }
        if let known, known != sealer.keyId {
            throw StoreError.invalid("this database's identifiers were sealed with identifiers.key \(known), and the state directory holds "
                + "\(sealer.keyId): give every worker the same key files (see the README); nothing was changed")
        }
        guard known == nil || !done else { return }
        try writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", arguments: [Self.sealingKeyMeta, sealer.keyId])
            let plain = try Row.fetchAll(db, sql: """
                SELECT id, email, external_id, user_name FROM request
                WHERE (email IS NOT NULL AND email NOT LIKE 'sealed1:%') OR (external_id IS NOT NULL AND external_id NOT LIKE 'sealed1:%')
                   OR (user_name IS NOT NULL AND user_name NOT LIKE 'sealed1:%')
                """)
            for row in plain {
                let id: String = row[0]
                let values: [String?] = try (1...3).map { index in
                    let stored: String? = row[index]
                    return IdentifierSealer.isSealed(stored) ? stored : try sealer.seal(stored, request: id, field: Self.identifierColumns[index - 1])
                }
                try db.execute(sql: "UPDATE request SET email = ?, external_id = ?, user_name = ? WHERE id = ?",
                               arguments: [values[0], values[1], values[2], id])
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", arguments: [Self.sealedMeta])
        }
        // Nothing of the plain values may linger in the write-ahead log.
        try truncateWriteAheadLog()
    }

    /// The stored forms of a request's identifiers: sealed when the database seals.
    func stored(_ identifiers: SubjectIdentifiers?, request: String) throws -> [String?] {
        try StoredIdentifiers.stored(identifiers, request: request, sealer: sealer)
    }

    /// A request's identifiers from their stored forms; nil when none is left (purged).
    static func identifiers(_ stored: [String?], request: String, sealer: IdentifierSealer?) throws -> SubjectIdentifiers? {
        try StoredIdentifiers.opened(stored, request: request, sealer: sealer)
    }
}
