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
            let keys = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
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

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
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
