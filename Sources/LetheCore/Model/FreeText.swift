/// The one rule for text a person types into Lethe: references, notes, reasons, names.
///
/// Such text goes into the audit log, status output, pages and signed reports, so it must read
/// the same everywhere: no control characters (a line break, a tab, an escape that recolours a
/// terminal), no line or paragraph separators, no bidirectional overrides that make a reason read
/// backwards, and a bounded length. The CLI, the API and the dashboard all check through here.
public enum FreeText {
    /// A reference (ticket number).
    public static let referenceLimit = 200
    /// A person's name (`--by`, `--requested-by`).
    public static let nameLimit = 200
    /// A reason or an approval note.
    public static let reasonLimit = 500
    /// A filing's note.
    public static let noteLimit = 2000

    /// Why a text was refused.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case missing(field: String)
        case controlCharacter(field: String)
        case tooLong(field: String, limit: Int)

        public var field: String {
            switch self {
            case .missing(let field), .controlCharacter(let field), .tooLong(let field, _): field
            }
        }

        public var description: String {
            switch self {
            case .missing(let field): "\(field) must not be empty"
            case .controlCharacter(let field):
                "\(field) contains a control character (a line break, tab, escape or direction override): refused so logs and reports stay unambiguous"
            case .tooLong(let field, let limit): "\(field) is longer than \(limit) bytes"
            }
        }
    }

    /// Whether a character may not appear in free text.
    public static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidirectional embeddings, overrides, isolates
        default: return scalar.properties.generalCategory == .control
        }
    }

    /// Checks a text as given (an empty text passes; see `required`).
    public static func check(_ text: String, field: String, limit: Int) throws(Problem) {
        if text.unicodeScalars.contains(where: isForbidden) { throw .controlCharacter(field: field) }
        if text.utf8.count > limit { throw .tooLong(field: field, limit: limit) }
    }

    /// A text that must say something: checked, and not blank.
    @discardableResult
    public static func required(_ text: String?, field: String, limit: Int) throws(Problem) -> String {
        guard let text, text.contains(where: { !$0.isWhitespace }) else { throw .missing(field: field) }
        try check(text, field: field, limit: limit)
        return text
    }

    /// An optional text: nil or blank is nil; anything else must pass `check`.
    public static func optional(_ text: String?, field: String, limit: Int) throws(Problem) -> String? {
        guard let text, text.contains(where: { !$0.isWhitespace }) else { return nil }
        try check(text, field: field, limit: limit)
        return text
    }
}
