import Foundation

/// Takes personal data out of text that came from a target (error details, body excerpts, ids)
/// before it is stored, logged, hashed into the audit log or written to a report: every known
/// value of the subject and of the account, in every encoding Lethe has seen servers echo
/// (JSON-escaped, percent-encoded, `\u0040`, base64), and anything shaped like an e-mail
/// address or an international phone number. Pure and conservative: it may hide too much,
/// never too little.
public struct Scrubber: Sendable {
    let forms: [String]
    /// Each form's bytes when it is ASCII (for `mayContain`), nil otherwise.
    let asciiForms: [[UInt8]?]
    /// Two-letter values ("Li", "Ng"): replaced only as whole words, so they cannot eat
    /// the letters of every other word.
    let shortWords: [String]

    /// - Parameter values: the subject's identifiers and the account's values (names, e-mails, ...).
    public init(values: [String]) {
        var forms: Set<String> = []
        var short: Set<String> = []
        for value in values {
            let trimmed = Self.trimmed(value)
            let length = trimmed.count
            if length == 2 { short.insert(NSRegularExpression.escapedPattern(for: trimmed)) }
            guard length >= 3 else { continue }
            forms.insert(trimmed)
            // Each other form only where it differs from the value (the checks are cheaper than the forms).
            if trimmed.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) { forms.insert(Self.jsonEscaped(trimmed)) }
            if !trimmed.utf8.allSatisfy(Self.isASCIIAlphanumeric) { forms.insert(Self.percentEncoded(trimmed)) }
            if trimmed.utf8.contains(UInt8(ascii: "@")) {
                forms.insert(Self.replacingAt(trimmed, with: "\\u0040"))
                forms.insert(Self.replacingAt(trimmed, with: "%40"))
            }
            let base64 = Data(trimmed.utf8).base64EncodedString()
            forms.insert(base64)
            // Padding is only ever at the end.
            forms.insert(String(decoding: base64.utf8.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self))
        }
        // Longest first, so a value is never half-replaced by a shorter one inside it (each
        // length counted once, not at every comparison; ties in text order, so the same values
        // always scrub the same way).
        let measured: [(form: String, length: Int)] = forms.map { ($0, $0.count) }
        self.forms = measured.sorted(by: Self.longerFirst).map(\.form)
        asciiForms = self.forms.map(Self.ascii)
        shortWords = short.sorted()
    }

    static func longerFirst(_ a: (form: String, length: Int), _ b: (form: String, length: Int)) -> Bool {
        a.length != b.length ? a.length > b.length : a.form < b.form
    }

    /// The text with every known value replaced, and (with `shapes`) every e-mail or phone shape.
    public func scrub(_ text: String, shapes: Bool = true) -> String {
        var out = text
        var bytes = Self.ascii(out)
        for (form, formBytes) in zip(forms, asciiForms)
        where Self.mayContain(bytes, formBytes) && out.range(of: form, options: .caseInsensitive) != nil {
            out = out.replacingOccurrences(of: form, with: "<subject>", options: .caseInsensitive)
            bytes = Self.ascii(out)
        }
        for word in shortWords {
            out = out.replacingOccurrences(of: "\\b\(word)\\b", with: "<subject>", options: [.regularExpression, .caseInsensitive])
        }
        for (index, (pattern, replacement)) in Self.shapes.enumerated() where shapes && Self.mayHaveShape(index, out) {
            out = out.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return out
    }

    /// True when the text holds anything shaped like an e-mail address or a phone number.
    public static func looksPersonal(_ text: String) -> Bool {
        shapes.indices.contains { mayHaveShape($0, text) && text.range(of: shapes[$0].0, options: .regularExpression) != nil }
    }

    /// False only when shape `index` cannot occur in `text`: an e-mail shape needs `@`, `%40`
    /// or `\u0040`, a phone shape needs `+`. Spares the regular expression on most texts.
    static func mayHaveShape(_ index: Int, _ text: String) -> Bool {
        let bytes = text.utf8
        if index == 1 { return bytes.contains(UInt8(ascii: "+")) }
        return bytes.contains(UInt8(ascii: "@")) || text.contains("%40") || text.contains("\\u0040")
    }

    /// False only when `form` cannot occur in `text`, case-insensitively. When both are ASCII
    /// that is decided here, byte by byte (ASCII case folding is all there is to it); otherwise
    /// Foundation decides.
    static func mayContain(_ text: String, _ form: String) -> Bool {
        mayContain(ascii(text), ascii(form))
    }

    /// `mayContain` on bytes already taken (nil: not ASCII, so Foundation decides).
    static func mayContain(_ haystack: [UInt8]?, _ needle: [UInt8]?) -> Bool {
        guard let haystack, let needle, !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        func folded(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        let first = folded(needle[0])
        outer: for start in 0...(haystack.count - needle.count) where folded(haystack[start]) == first {
            for offset in 1..<needle.count where folded(haystack[start + offset]) != folded(needle[offset]) { continue outer }
            return true
        }
        return false
    }

    /// The text's bytes when it is all ASCII, nil otherwise.
    static func ascii(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        return bytes.allSatisfy({ $0 < 0x80 }) ? bytes : nil
    }

    /// The value without surrounding white space (Unicode's, as Foundation trims it); a value
    /// that begins and ends with visible ASCII is returned as it is without asking Foundation.
    static func trimmed(_ value: String) -> String {
        if let first = value.utf8.first, let last = value.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return value
        }
        return value.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The text with each `@` replaced. `@` is one ASCII byte, which never occurs inside a
    /// longer UTF-8 sequence, so bytes are replaced as they are.
    static func replacingAt(_ text: String, with replacement: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if byte == UInt8(ascii: "@") { out.append(contentsOf: replacement.utf8) } else { out.append(byte) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encoded with every character but letters and digits escaped, as Foundation's
    /// `addingPercentEncoding(withAllowedCharacters: .alphanumerics)` does; ASCII text is
    /// encoded here (the same bytes, uppercase hex), anything else by Foundation (whose
    /// letters and digits include non-ASCII ones).
    static func percentEncoded(_ text: String) -> String {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
            return text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 {
            if isASCIIAlphanumeric(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// E-mail addresses (also with `%40` or `\u0040` for the @) and international phone numbers.
    static let shapes: [(String, String)] = [
        (#"[A-Za-z0-9._%+\-]+(@|%40|\\u0040)[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+"#, "<email>"),
        (#"\+[0-9][0-9 ().\-]{6,}[0-9]"#, "<phone>"),
    ]

    static func jsonEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
