import Foundation
import LetheStorage
import NIOConcurrencyHelpers
import PostgresNIO

/// Taking a copied history as it is (`lethe db copy`): every row in one transaction, so a copy
/// that fails leaves the database as empty as it was.
extension PostgresStore: TableWriting {
    public func isEmpty() throws -> Bool {
        try connections.read { session in
            try session.value("""
                SELECT NOT EXISTS (SELECT 1 FROM request) AND NOT EXISTS (SELECT 1 FROM audit_event) AND NOT EXISTS (SELECT 1 FROM api_token)
                """, as: Bool.self) ?? false
        }
    }

    /// Columns that PostgreSQL keeps as a boolean where SQLite keeps 0 or 1.
    static let booleanColumns: Set<String> = ["action.verified"]

    public func insertRows(into table: String, columns: [String], rows: [[StoreValue]]) throws {
        guard !rows.isEmpty else { return }
        copying.withLockedValue { pending in
            pending.append((table, columns, rows))
        }
    }

    public func finishCopy() throws {
        let batches = copying.withLockedValue { pending in defer { pending = [] }; return pending }
        try connections.write { session in
            for (table, columns, rows) in batches {
                for chunk in stride(from: 0, to: rows.count, by: 500).map({ Array(rows[$0..<min($0 + 500, rows.count)]) }) {
                    var sql = SQLBuilder("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ")
                    var tuples: [String] = []
                    for row in chunk {
                        var places: [String] = []
                        for (column, value) in zip(columns, row) {
                            switch value {
                            case .null: places.append("NULL")
                            case .integer(let number) where Self.booleanColumns.contains("\(table).\(column)"): places.append(sql.bind(number != 0))
                            case .integer(let number): places.append(sql.bind(number))
                            case .real(let number): places.append(sql.bind(number))
                            case .text(let text): places.append(sql.bind(text))
                            }
                        }
                        tuples.append("(" + places.joined(separator: ", ") + ")")
                    }
                    sql.sql += tuples.joined(separator: ", ")
                    // The meta rows of a fresh database (its key ids) give way to the copied ones, which must agree.
                    if table == "meta" { sql.sql += " ON CONFLICT (key) DO UPDATE SET value = excluded.value" }
                    try session.execute(sql.query)
                }
            }
            for table in ["action", "attempt", "audit_checkpoint"] {
                try session.execute(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)
                    """))
            }
        }
    }
}
