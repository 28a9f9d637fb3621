import Foundation

/// Canonical JSON: object keys sorted (by UTF-16 code units, as RFC 8785), no insignificant
/// whitespace, UTF-8, integers written without a fraction. The same value always gives
/// the same bytes, so hashes and signatures over it are reproducible anywhere.
public enum CanonicalJSON {
    public static func encode(_ value: JSONValue) -> Data {
        Data(bytes(value))
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The canonical form's UTF-8 bytes.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, to: &out)
        return out
    }

    /// The canonical form of `value`, appended to `out`.
    public static func append(_ value: JSONValue, to out: inout [UInt8]) {
        write(value, to: &out)
    }

    /// The canonical form of the string `s`, appended to `out`.
    public static func append(string s: String, to out: inout [UInt8]) {
        writeString(s, to: &out)
    }

    private static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: number(n).utf8)
        case .string(let s): writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // The names are sorted, not the members: moving a name is cheaper than moving a name
            // with its value, and a report row has about twenty of them.
            var first = true
            for key in members.keys.sorted(by: precedes) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func number(_ n: Double) -> String {
        if n.isFinite, n.rounded() == n, abs(n) < 9_007_199_254_740_992 { return String(Int64(n)) }
        return n.isFinite ? "\(n)" : "null"
    }

    /// The order of an object's member names in canonical form (by UTF-16 code units).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        // UTF-8 byte order is code point order, which is UTF-16 order as long as the first
        // difference is between ASCII bytes (always, for the names Lethe writes).
        var a = a, b = b
        let order: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<min(x.count, y.count) where x[i] != y[i] {
                    return x[i] < 0x80 && y[i] < 0x80 ? x[i] < y[i] : nil
                }
                return x.count < y.count
            }
        }
        return order ?? a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// `"key":value` in canonical form, for writing an object one member at a time.
    public static func member(_ key: String, _ value: JSONValue) -> String {
        var out: [UInt8] = []
        writeString(key, to: &out)
        out.append(UInt8(ascii: ":"))
        write(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// The canonical form of the string whose UTF-8 bytes are `utf8`, appended to `out`: for
    /// callers that hold text as bytes (the audit chain walk reads columns without making
    /// strings).
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out.append(contentsOf: utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: "\\\"".utf8)
            case 0x5C: out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case ..<0x20:
                let hex = String(byte, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// True when `data` is exactly the canonical form of the JSON it holds.
    public static func isCanonical(_ data: Data) -> Bool {
        guard let value = JSONValue.parse(data) else { return false }
        return encode(value) == data
    }
}

extension CanonicalJSON {
    /// A whitespace-free JSON object's top level, found without parsing its values: each
    /// member's name (still quoted) and its value, as byte ranges of `data` (offsets from its
    /// start). Nil when `data` is not laid out that way: then it is not JSON, or not canonical.
    /// Lets a large canonical document be checked and read one member at a time.
    public static func topLevelMembers(_ data: Data) -> [(name: Range<Int>, value: Range<Int>)]? {
        var members: [(name: Range<Int>, value: Range<Int>)] = []
        let walked = walkTopLevelMembers(data) { name, valueStart in
            guard let end = valueEnd(in: data, from: valueStart) else { return .invalid }
            members.append((name, valueStart..<end))
            return .next(valueEnd: end)
        }
        return walked == .finished ? members : nil
    }

    /// What a visitor of `walkTopLevelMembers` says after a member.
    public enum MemberStep: Equatable {
        /// The value ends here (exclusive); go on to the next member.
        case next(valueEnd: Int)
        /// Stop here: the visitor has what it wanted.
        case stop
        /// The value is not what it should be: the walk ends `.invalid`.
        case invalid
    }

    /// How `walkTopLevelMembers` ended.
    public enum MemberWalk: Equatable {
        /// Every member was visited and the object closes at the end of `data`.
        case finished
        /// A visitor said `.stop`.
        case stopped
        /// `data` is not a whitespace-free object of members (or a visitor said `.invalid`).
        case invalid
    }

    /// Walks a whitespace-free JSON object's top-level members in order, one pass over the
    /// bytes: `visit` gets each member's name (still quoted, offsets from `data`'s start) and
    /// where its value starts, reads or skips the value itself and says where it ends. Unlike
    /// `topLevelMembers`, a large value is crossed once, by whoever reads it (a report's rows:
    /// 243 MiB at 100,000 requests), not first skipped to find its end.
    public static func walkTopLevelMembers(_ data: Data, _ visit: (_ name: Range<Int>, _ valueStart: Int) throws -> MemberStep) rethrows -> MemberWalk {
        let count = data.count
        func byte(_ offset: Int) -> UInt8 { data[data.startIndex + offset] }
        guard count >= 2, byte(0) == UInt8(ascii: "{") else { return .invalid }
        if byte(1) == UInt8(ascii: "}") { return count == 2 ? .finished : .invalid }
        var i = 1
        while true {
            guard i < count, byte(i) == UInt8(ascii: "\""),
                  let nameEnd = data.withUnsafeBytes({ skipValue($0, from: i) }),
                  nameEnd + 1 < count, byte(nameEnd) == UInt8(ascii: ":") else { return .invalid }
            let valueEnd: Int
            switch try visit(i..<nameEnd, nameEnd + 1) {
            case .stop: return .stopped
            case .invalid: return .invalid
            case .next(let end): valueEnd = end
            }
            guard valueEnd > nameEnd + 1, valueEnd < count else { return .invalid }
            switch byte(valueEnd) {
            case UInt8(ascii: ","): i = valueEnd + 1
            case UInt8(ascii: "}"): return valueEnd + 1 == count ? .finished : .invalid
            default: return .invalid
            }
        }
    }

    /// Where the JSON value starting at offset `start` of `data` ends (exclusive), matching
    /// brackets and skipping strings; the value itself is not checked.
    public static func valueEnd(in data: Data, from start: Int) -> Int? {
        data.withUnsafeBytes { skipValue($0, from: start) }
    }

    /// Where the value starting at `start` ends (exclusive), matching brackets and skipping
    /// strings; the value itself is not checked.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        // Through a typed pointer and without a nested closure: this runs over every byte of a
        // report (250 MB at 100,000 requests) before anything else is checked.
        let count = bytes.count
        guard start < count, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var i = start
        switch base[i] {
        case UInt8(ascii: "\""):
            return skipString(base, count, from: i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < count {
                switch base[i] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(base, count, from: i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        default:
            while i < count, base[i] != UInt8(ascii: ","), base[i] != UInt8(ascii: "]"), base[i] != UInt8(ascii: "}") { i += 1 }
            return i > start ? i : nil
        }
    }

    /// Where the string whose opening quote is at `start` ends (after its closing quote).
    private static func skipString(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int? {
        // The next quote (memchr, many bytes at a time) ends the string unless an odd number of
        // backslashes escapes it.
        var i = start + 1
        while i < count, let found = memchr(base + i, 0x22, count - i) {
            let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while quote - backslashes - 1 > start, base[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 { return quote + 1 }
            i = quote + 1
        }
        return nil
    }
}
