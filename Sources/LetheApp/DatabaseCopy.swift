import Foundation
import LetheCore
import LetheStorage
import LetheStore
import LethePostgres

/// `lethe db copy`: a SQLite state directory's whole history into an empty PostgreSQL database,
/// every row as it is, so the audit chain's hashes, the report citations and the sealed
/// identifiers are unchanged (the same key files open them).
public struct DatabaseCopy {
    /// What was copied, and the chain as the copy has it.
    public struct Result: Sendable {
        public var rows: [String: Int]
        public var chain: ChainVerification
    }

    /// Why nothing was copied.
    public enum Refusal: Error, CustomStringConvertible {
        case notEmpty(String)
        case chainDiffers(source: String, copy: String)

        public var description: String {
            switch self {
            case .notEmpty(let location):
                "the database \(location) already holds requests, events or tokens; a copy goes into an empty database only; nothing was copied"
            case .chainDiffers(let source, let copy):
                "the copy's audit chain ends at \(copy), the source's at \(source); the copy was made but must not be used"
            }
        }
    }

    /// Copies `state`'s SQLite database into the PostgreSQL database at `url` (migrated first).
    public static func run(from state: StateDirectory, to url: String) throws -> Result {
        let source = try state.openSQLite()
        let before = try source.verifyAuditChain()
        if let problem = before.problem {
            throw StoreError.invalid("the source's audit chain does not verify (\(problem)); fix that before copying it; nothing was copied")
        }
        guard let key = FileManager.default.contents(atPath: state.identifiersKeyPath) else {
            throw StateDirectory.Problem.lost(file: "identifiers.key", directory: state.path)
        }
        let target = try PostgresStore(url: url, sealer: IdentifierSealer(key: key))
        defer { target.close() }
        guard try target.isEmpty() else { throw Refusal.notEmpty(target.location) }
        var rows: [String: Int] = [:]
        for (table, columns) in StoreTables.copied {
            try source.readRows(of: table, columns: columns, batch: 2000) { batch in
                try target.insertRows(into: table, columns: columns, rows: batch)
                rows[table, default: 0] += batch.count
            }
        }
        try target.finishCopy()
        let after = try target.verifyAuditChain()
        guard after.problem == nil, after.headHash == before.headHash, after.events == before.events else {
            throw Refusal.chainDiffers(source: "\(before.lastSeq ?? 0):\(before.headHash)", copy: "\(after.lastSeq ?? 0):\(after.headHash)")
        }
        return Result(rows: rows, chain: after)
    }
}
