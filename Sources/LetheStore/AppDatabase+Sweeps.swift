import Foundation
import GRDB
import LetheCore
import LetheStorage


extension AppDatabase {
    /// Everything earlier sweeps filed.
    public func sweepHistory() throws -> SweepHistory {
        try writer.read { db in
            var history = SweepHistory(entries: [], pairs: [])
            let cursor = try Row.fetchCursor(db, sql: "SELECT pseudonym, purpose, changed_at FROM sweep_filed")
            while let row = try cursor.next() {
                let pseudonym: String = row[0], purpose: String = row[1], changedAt: Double = row[2]
                history.entries.insert(SweepHistory.entryKey(pseudonym, purpose, changedAt))
                history.pairs.insert(SweepHistory.pairKey(pseudonym, purpose))
            }
            return history
        }
    }

    /// Files a batch of sweep withdrawals and records what they answer, in one transaction:
    /// a killed sweep leaves whole batches or nothing.
    public func file(sweep batch: [SweepFiling], now: Date) throws -> [FilingResult] {
        try writer.write { db in
            var results: [FilingResult] = []
            for filing in batch {
                let result = try file(filing.request, in: db, now: now)
                for entry in filing.entries {
                    try db.cachedStatement(sql: """
                        INSERT OR IGNORE INTO sweep_filed (pseudonym, purpose, changed_at, request_id, filed_at) VALUES (?, ?, ?, ?, ?)
                        """).execute(arguments: [filing.request.pseudonym, entry.purpose, entry.changedAt, result.request.id, now.timeIntervalSince1970])
                }
                results.append(result)
            }
            return results
        }
    }
}
