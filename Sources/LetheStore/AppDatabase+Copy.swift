import Foundation
import GRDB
import LetheStorage

/// The SQLite store's rows as they are, for `lethe db copy`.
extension AppDatabase: TableReading {
    public func readRows(of table: String, columns: [String], batch: Int, _ body: ([[StoreValue]]) throws -> Void) throws {
        // Names come from `StoreTables`, never from input.
        try writer.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY \(StoreTables.order(of: table))")
            var rows: [[StoreValue]] = []
            while let row = try cursor.next() {
                rows.append((0..<columns.count).map { index in
                    switch row[index] as DatabaseValue {
                    case let value where value.isNull: return .null
                    default:
                        let value: DatabaseValue = row[index]
                        switch value.storage {
                        case .int64(let number): return .integer(number)
                        case .double(let number): return .real(number)
                        case .string(let text): return .text(text)
                        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
                        case .null: return .null
                        }
                    }
                })
                if rows.count == batch {
                    try body(rows)
                    rows.removeAll(keepingCapacity: true)
                }
            }
            if !rows.isEmpty { try body(rows) }
        }
    }
}
