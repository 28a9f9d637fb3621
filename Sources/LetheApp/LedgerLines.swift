import Foundation
import LetheCore

/// Streams a ledger record by record in fixed-size chunks, so a ledger of any size is never held
/// whole. Lines end with LF, CRLF or a lone CR; a UTF-8 byte order mark is skipped; in CSV, a
/// quoted field may hold line breaks (RFC 4180), so a record can span lines. A record that is
/// not UTF-8, or longer than `maxRecordBytes`, is a problem naming its line, found at once.
public struct LedgerLines: Sequence {
    public let path: String
    /// CSV: quoted fields may span lines.
    public let csv: Bool

    /// Longer records are refused (without scanning them to their end).
    public static let maxRecordBytes = 1 << 20

    public init(path: String, csv: Bool = true) {
        self.path = path
        self.csv = csv
    }

    public func makeIterator() -> Iterator { Iterator(handle: FileHandle(forReadingAtPath: path), csv: csv) }

    public struct Iterator: IteratorProtocol {
        let handle: FileHandle?
        let csv: Bool
        var buffer: [UInt8] = []
        var position = 0
        /// Where the search for the record's end resumes (no byte is scanned twice).
        var scanned = 0
        var quoted = false
        var finished = false
        var lineNumber = 0
        var first = true
        static let chunk = 1 << 20

        init(handle: FileHandle?, csv: Bool) {
            self.handle = handle
            self.csv = csv
        }

        /// (1-based line number where the record starts, the record without its end-of-line, or
        /// the problem with it).
        public mutating func next() -> (Int, Result<Substring, LedgerProblem>)? {
            while true {
                if first, buffer.count - position >= 3 || finished {
                    first = false
                    if buffer.count - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF {
                        position += 3
                    }
                    scanned = Swift.max(scanned, position)
                }
                if !first, let end = recordEnd() {
                    let startLine = lineNumber + 1
                    let bytes = buffer[position..<end.content]
                    lineNumber += end.lines
                    position = end.next
                    scanned = position
                    quoted = false
                    guard bytes.count <= LedgerLines.maxRecordBytes else {
                        return (startLine, .failure(LedgerProblem(line: startLine, field: nil,
                                                                  message: "the line is longer than \(LedgerLines.maxRecordBytes) bytes")))
                    }
                    guard let text = Self.text(bytes) else {
                        return (startLine, .failure(LedgerProblem(line: startLine, field: nil, message: "the line is not valid UTF-8")))
                    }
                    return (startLine, .success(text[...]))
                }
                if buffer.count - position > LedgerLines.maxRecordBytes {
                    // Refuse at once; skip to the next line end so the rest of the ledger is still read.
                    let startLine = lineNumber + 1
                    skipPastLineEnd()
                    return (startLine, .failure(LedgerProblem(line: startLine, field: nil,
                                                              message: "the line is longer than \(LedgerLines.maxRecordBytes) bytes")))
                }
                if finished {
                    guard position < buffer.count else { return nil }
                    let startLine = lineNumber + 1
                    let bytes = buffer[position...]
                    position = buffer.count
                    lineNumber += 1
                    guard let text = Self.text(bytes) else {
                        return (startLine, .failure(LedgerProblem(line: startLine, field: nil, message: "the line is not valid UTF-8")))
                    }
                    return (startLine, .success(text[...]))
                }
                guard let handle else { return nil }
                let data = handle.readData(ofLength: Self.chunk)
                if data.isEmpty {
                    finished = true
                    try? handle.close()
                } else {
                    buffer.removeFirst(position)
                    scanned -= position
                    position = 0
                    buffer.append(contentsOf: data)
                }
            }
        }

        /// The end of the record that starts at `position`: where its content ends, where the next
        /// begins, and how many line ends it spans. Nil when more bytes are needed.
        mutating func recordEnd() -> (content: Int, next: Int, lines: Int)? {
            let start = scanned, finished = finished, csv = csv
            var quoted = quoted
            // One pass over raw bytes (no per-byte bounds or exclusivity checks on `buffer`).
            let found: (content: Int, next: Int, lines: Int)? = buffer.withUnsafeBufferPointer { bytes in
                var i = start
                var lines = 0
                let count = bytes.count
                while i < count {
                    let byte = bytes[i]
                    if byte > 0x22 { i += 1; continue }
                    if csv, byte == 0x22 { quoted.toggle() }
                    if byte == 0x0A || byte == 0x0D {
                        // CRLF: need the next byte to know; a lone CR ends a line too.
                        if byte == 0x0D, i + 1 >= count, !finished { return nil }
                        let width = byte == 0x0D && i + 1 < count && bytes[i + 1] == 0x0A ? 2 : 1
                        lines += 1
                        if !quoted { return (i, i + width, lines) }
                        i += width
                        continue
                    }
                    i += 1
                }
                return nil
            }
            // Without an end, the record is scanned again from its start once more bytes are in
            // (its line ends are counted when it ends).
            if found == nil { scanned = position; self.quoted = false } else { self.quoted = quoted }
            return found
        }

        /// The bytes as text, or nil when they are not UTF-8.
        static func text(_ bytes: ArraySlice<UInt8>) -> String? {
            bytes.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
        }

        mutating func skipPastLineEnd() {
            while true {
                if let newline = buffer[scanned...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                    position = newline + 1
                    scanned = position
                    lineNumber += 1
                    return
                }
                guard let handle, !finished else {
                    position = buffer.count
                    scanned = position
                    lineNumber += 1
                    return
                }
                let data = handle.readData(ofLength: Self.chunk)
                if data.isEmpty { finished = true; try? handle.close(); continue }
                buffer.removeAll(keepingCapacity: true)
                position = 0
                scanned = 0
                buffer.append(contentsOf: data)
            }
        }
    }
}
