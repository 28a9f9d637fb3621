import Foundation

/// Writing to the terminal: results to standard output, problems to standard error.
enum Output {
    static func line(_ text: String = "") {
        print(text)
    }

    /// Pushes buffered standard output out (before a long wait).
    static func flush() {
        // fflush(NULL) flushes every output stream; naming `stdout` is a Swift 6 error (global C var).
        fflush(nil)
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Overwrites the current terminal line on standard error (progress on a TTY).
    static func progress(_ text: String) {
        FileHandle.standardError.write(Data("\r\(text)".utf8))
    }

    /// Pretty, key-sorted JSON on standard output.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}
