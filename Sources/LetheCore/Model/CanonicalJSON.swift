import Foundation

/// Canonical JSON: object keys sorted (by UTF-16 code units, as RFC 8785), no insignificant
/// whitespace, UTF-8, integers written without a fraction. The same value always gives
/// the same bytes, so hashes and signatures over it are reproducible anywhere.
public enum CanonicalJSON {
    public static func encode(_ value: JSONValue) -> Data {
        var out = ""
        write(value, to: &out)
        return Data(out.utf8)
    }

    public static func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += number(n)
        case .string(let s): writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let keys = members.keys.sorted(by: precedes)
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                writeString(key, to: &out)
                out += ":"
                write(members[key]!, to: &out)
            }
            out += "}"
        }
    }

    static func number(_ n: Double) -> String {
        if n.isFinite, n.rounded() == n, abs(n) < 9_007_199_254_740_992 { return String(Int64(n)) }
        return n.isFinite ? "\(n)" : "null"
    }

    /// The order of an object's member names in canonical form (by UTF-16 code units).
    public static func precedes(_ a: String, _ b: String) -> Bool { a.utf16.lexicographicallyPrecedes(b.utf16) }

    /// `"key":value` in canonical form, for writing an object one member at a time.
    public static func member(_ key: String, _ value: JSONValue) -> String {
        var out = ""
        writeString(key, to: &out)
        out += ":"
        write(value, to: &out)
        return out
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings need no escape: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
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
        data.withUnsafeBytes { bytes -> [(name: Range<Int>, value: Range<Int>)]? in
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "{") else { return nil }
            var members: [(name: Range<Int>, value: Range<Int>)] = []
            var i = 1
            if bytes[i] == UInt8(ascii: "}") { return i + 1 == bytes.count ? [] : nil }
            while true {
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let nameEnd = skipValue(bytes, from: i),
                      nameEnd < bytes.count, bytes[nameEnd] == UInt8(ascii: ":"),
                      let valueEnd = skipValue(bytes, from: nameEnd + 1), valueEnd < bytes.count else { return nil }
                members.append((i..<nameEnd, (nameEnd + 1)..<valueEnd))
                i = valueEnd + 1
                switch bytes[valueEnd] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "}"): return i == bytes.count ? members : nil
                default: return nil
                }
            }
        }
    }

    /// The elements of a whitespace-free JSON array at `range` of `data`, as byte ranges; nil
    /// when it is not laid out that way.
    public static func arrayElements(_ data: Data, in range: Range<Int>) -> [Range<Int>]? {
        data.withUnsafeBytes { bytes -> [Range<Int>]? in
            guard range.count >= 2, range.upperBound <= bytes.count, bytes[range.lowerBound] == UInt8(ascii: "["),
                  bytes[range.upperBound - 1] == UInt8(ascii: "]") else { return nil }
            var elements: [Range<Int>] = []
            var i = range.lowerBound + 1
            if i == range.upperBound - 1 { return [] }
            while true {
                guard let end = skipValue(bytes, from: i), end < range.upperBound else { return nil }
                elements.append(i..<end)
                i = end + 1
                switch bytes[end] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return i == range.upperBound ? elements : nil
                default: return nil
                }
            }
        }
    }

    /// Where the value starting at `start` ends (exclusive), matching brackets and skipping
    /// strings; the value itself is not checked.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        var i = start
        func skipString() -> Bool {  // i is at the opening quote; leaves i after the closing one
            i += 1
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\\"): i += 2
                case UInt8(ascii: "\""): i += 1; return true
                default: i += 1
                }
            }
            return false
        }
        switch bytes[i] {
        case UInt8(ascii: "\""):
            return skipString() ? i : nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return nil }
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
            while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(bytes[i]) { i += 1 }
            return i > start ? i : nil
        }
    }
}
