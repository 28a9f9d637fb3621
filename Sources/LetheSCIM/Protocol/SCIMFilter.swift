/// Builds SCIM filter expressions (RFC 7644 §3.4.2.2) that cannot be bent by their values.
public enum SCIMFilter {
    /// `ATTR eq "VALUE"` with the value escaped as a JSON string, so `a" or userName pr "`
    /// stays a literal and never becomes filter syntax.
    public static func equals(_ attribute: String, _ value: String) -> String {
        "\(attribute) eq \(quoted(value))"
    }

    /// A JSON string literal: `"` → `\"`, `\` → `\\`, control characters as `\uXXXX`.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: false)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Percent-encodes a query parameter value: everything but RFC 3986 unreserved characters.
    public static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
