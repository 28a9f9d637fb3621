/// The one HTML escaper, for the dashboard's pages and the HTML renderings of reports alike:
/// `&`, `<`, `>`, `"` and `'`, so a text is safe in element content and in attribute values
/// quoted either way.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        // Most text holds none of the five: return it as it is (one pass over the bytes).
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                                         || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
