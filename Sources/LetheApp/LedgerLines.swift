import Foundation

/// Streams a file line by line in fixed-size chunks, so a ledger of any size is never held whole.
public struct LedgerLines: Sequence {
    public let path: String

    public init(path: String) { self.path = path }

    public func makeIterator() -> Iterator { Iterator(handle: FileHandle(forReadingAtPath: path)) }

    public struct Iterator: IteratorProtocol {
        let handle: FileHandle?
        var buffer: [UInt8] = []
        var position = 0
        var finished = false
        var lineNumber = 0
        static let chunk = 1 << 20

        init(handle: FileHandle?) { self.handle = handle }

        /// (1-based line number, the line without its end-of-line).
        public mutating func next() -> (Int, Substring)? {
            while true {
                if let newline = buffer[position...].firstIndex(of: 0x0A) {
                    var end = newline
                    if end > position, buffer[end - 1] == 0x0D { end -= 1 }
                    let line = String(decoding: buffer[position..<end], as: UTF8.self)
                    position = newline + 1
                    lineNumber += 1
                    return (lineNumber, line[...])
                }
                if finished {
                    guard position < buffer.count else { return nil }
                    let line = String(decoding: buffer[position...], as: UTF8.self)
                    position = buffer.count
                    lineNumber += 1
                    return (lineNumber, line[...])
                }
                guard let handle else { return nil }
                let data = handle.readData(ofLength: Self.chunk)
                if data.isEmpty {
                    finished = true
                    try? handle.close()
                } else {
                    buffer.removeFirst(position)
                    position = 0
                    buffer.append(contentsOf: data)
                }
            }
        }
    }
}
