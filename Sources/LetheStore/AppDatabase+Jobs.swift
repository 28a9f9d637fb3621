import Foundation
import GRDB
import LetheCore
import LetheStorage

/// Jobs done once per deployment (see `JobLeases`).
extension AppDatabase {
    public func acquireJob(_ name: String, holder: String, until: Date, now: Date) throws -> Bool {
        try writer.write { db in
            // Taken when free, run out, or already this holder's; one statement, so two holders
            // asking at once cannot both get it.
            try db.execute(sql: """
                INSERT INTO job_lease (name, holder, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_lease.holder = excluded.holder OR job_lease.expires_at <= ?
                """, arguments: [name, holder, until.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount > 0
        }
    }

    public func releaseJob(_ name: String, holder: String) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM job_lease WHERE name = ? AND holder = ?", arguments: [name, holder]) }
    }

    public func jobHolders(prefix: String, now: Date) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job_lease WHERE substr(name, 1, ?) = ? AND expires_at > ?",
                             arguments: [prefix.count, prefix, now.timeIntervalSince1970]) ?? 0
        }
    }
}
