import Foundation

/// Parses ledger lines (CSV with a header row, or JSON Lines) into rows, strictly: every
/// problem names its line and field. Pure; the caller streams the lines.
public struct LedgerParser: Sendable {
    public static let requiredFields = ["subject_email", "purpose", "status", "changed_at"]
    public static let optionalFields = ["external_id", "user_name", "expires_at"]

    public let format: LedgerFormat
    /// Column index of each known field (CSV).
    private var columns: [String: Int] = [:]
    public private(set) var headerRead = false
    /// Header columns Lethe does not know (reported, not fatal).
    public private(set) var ignoredColumns: [String] = []
    /// A withdrawal dated after this moment is refused (a clock or export error).
    public let latestAllowed: Double

    /// The purposes Lethe knows: a row's purpose must be one of them (ASCII case aside, and then
    /// it is read as that purpose); nil accepts any.
    public let purposes: PurposeCatalog?

    public init(format: LedgerFormat, now: Double, purposes: PurposeCatalog? = nil) {
        self.format = format
        headerRead = format == .jsonl
        latestAllowed = now + 86_400
        self.purposes = purposes
    }

    /// The known purpose a ledger names: itself, its ASCII-case variant, or a problem. A known
    /// purpose comes back as the catalog's own string (no copy per row).
    func knownPurpose(_ purpose: Substring, line: Int) throws(LedgerProblem) -> String {
        guard let purposes else { return String(purpose) }
        let names = purposes.entries
        if let exact = names.first(where: { $0.name == purpose }) { return exact.name }
        if let known = names.first(where: { ASCIICase.equal($0.name, purpose) }) { return known.name }
        throw LedgerProblem(line: line, field: "purpose", message: "unknown purpose '\(purpose)'"
            + (Suggest.closest(to: String(purpose), in: purposes.names).map { "; did you mean '\($0)'?" } ?? "")
            + " (known: \(purposes.names.joined(separator: ", ")))")
    }

    /// Reads the CSV header (line 1).
    public mutating func readHeader(_ line: Substring) throws(LedgerProblem) {
        let names = try Self.csvFields(line, line: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for (index, name) in names.enumerated() {
            if Self.requiredFields.contains(name) || Self.optionalFields.contains(name) {
                guard columns[name] == nil else { throw LedgerProblem(line: 1, field: name, message: "the column appears twice in the header") }
                columns[name] = index
            } else if !name.isEmpty {
                ignoredColumns.append(name)
            }
        }
        for name in Self.requiredFields where columns[name] == nil {
            throw LedgerProblem(line: 1, field: name, message: "the header has no '\(name)' column (needs \(Self.requiredFields.joined(separator: ", ")))")
        }
        slots = Fields.names.map { columns[$0] }
        headerRead = true
    }

    /// Parses one data line; nil for a blank line.
    public func row(_ text: Substring, line: Int) throws(LedgerProblem) -> LedgerRow? {
        if text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        var fields = Fields()
        switch format {
        case .csv:
            let values: [Substring]
            if let plain = Self.plainFields(text) { values = plain } else { values = try Self.csvFields(text, line: line).map { $0[...] } }
            for (slot, index) in slots.enumerated() {
                guard let index, index < values.count else { continue }
                let value = Self.trimmed(values[index])
                if !value.isEmpty { fields[slot] = value }
            }
        case .jsonl:
            let json: JSONValue
            do {
                json = try JSONValue.parsing(Data(text.utf8))
            } catch {
                throw LedgerProblem(line: line, field: nil, message: "not valid JSON at column \(error.column): \(error.reason)")
            }
            guard case .object(let members) = json else {
                throw LedgerProblem(line: line, field: nil, message: "not a JSON object")
            }
            for (name, value) in members {
                guard let slot = Fields.names.firstIndex(of: name) else { continue }
                switch value {
                case .string(let s): if !s.isEmpty { fields[slot] = s[...] }
                case .null: continue
                default: throw LedgerProblem(line: line, field: name, message: "must be a string")
                }
            }
        }
        return try row(from: fields, line: line)
    }

    /// The values of one row, in `names` order, as slices of the line.
    struct Fields {
        static let names = requiredFields + optionalFields
        static let email = 0, purpose = 1, status = 2, changedAt = 3, externalId = 4, userName = 5, expiresAt = 6
        // One stored property per field: no array to allocate per row.
        private var a, b, c, d, e, f, g: Substring?

        subscript(slot: Int) -> Substring? {
            get {
                switch slot {
                case 0: a
                case 1: b
                case 2: c
                case 3: d
                case 4: e
                case 5: f
                default: g
                }
            }
            set {
                switch slot {
                case 0: a = newValue
                case 1: b = newValue
                case 2: c = newValue
                case 3: d = newValue
                case 4: e = newValue
                case 5: f = newValue
                default: g = newValue
                }
            }
        }
    }

    /// The CSV column of each field, in `Fields.names` order (set by the header).
    private var slots: [Int?] = []

    func row(from fields: Fields, line: Int) throws(LedgerProblem) -> LedgerRow {
        for (slot, name) in Self.requiredFields.enumerated() where fields[slot] == nil {
            throw LedgerProblem(line: line, field: name, message: "is missing")
        }
        let email = String(fields[Fields.email]!)
        guard IdentifierSyntax.isPlausibleEmail(email) else {
            throw LedgerProblem(line: line, field: "subject_email", message: "is not an e-mail address")
        }
        let purpose = try knownPurpose(fields[Fields.purpose]!, line: line)
        let statusText = fields[Fields.status]!
        guard let status = Self.status(statusText) else {
            throw LedgerProblem(line: line, field: "status", message: "'\(statusText)' is not granted, revoked or expired")
        }
        let changedText = fields[Fields.changedAt]!
        guard let changedAt = Self.moment(changedText) else {
            throw LedgerProblem(line: line, field: "changed_at", message: "'\(changedText)' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
        }
        guard changedAt <= latestAllowed else {
            throw LedgerProblem(line: line, field: "changed_at", message: "'\(changedText)' is in the future")
        }
        var expiresAt: Double?
        if let text = fields[Fields.expiresAt] {
            guard let moment = Self.moment(text) else {
                throw LedgerProblem(line: line, field: "expires_at", message: "'\(text)' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
            }
            expiresAt = moment
        }
        return LedgerRow(email: email, purpose: purpose, status: status, changedAt: changedAt,
                         externalId: fields[Fields.externalId].map { String($0) },
                         userName: fields[Fields.userName].map { String($0) }, expiresAt: expiresAt, line: line)
    }

    /// A status, in any case.
    static func status(_ text: Substring) -> LedgerRow.Status? {
        for status in LedgerRow.Status.allCases where ASCIICase.equal(status.rawValue, text) { return status }
        // Outside ASCII, as `lowercased()` reads it (the Kelvin sign lowers into k).
        if text.utf8.contains(where: { $0 >= 0x80 }) { return LedgerRow.Status(rawValue: text.lowercased()) }
        return nil
    }

    /// Fields of a CSV line without quotes, as slices of it: a plain split on commas. Nil when
    /// the line holds a quote (`csvFields` reads it).
    static func plainFields(_ line: Substring) -> [Substring]? {
        var line = line
        var commas: [Int] = []
        commas.reserveCapacity(8)
        let quoted = line.withUTF8 { bytes in
            for (offset, byte) in bytes.enumerated() {
                if byte == UInt8(ascii: ",") { commas.append(offset) } else if byte == UInt8(ascii: "\"") { return true }
            }
            return false
        }
        if quoted { return nil }
        var fields: [Substring] = []
        fields.reserveCapacity(commas.count + 1)
        let utf8 = line.utf8
        var start = utf8.startIndex
        for offset in commas {
            let comma = utf8.index(utf8.startIndex, offsetBy: offset)
            fields.append(line[start..<comma])
            start = utf8.index(after: comma)
        }
        fields.append(line[start...])
        return fields
    }

    /// Trims spaces and tabs (and a stray carriage return).
    static func trimmed(_ text: Substring) -> Substring {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last, blank(first) || blank(last) else { return text }
        guard let start = utf8.firstIndex(where: { !blank($0) }) else { return text[text.endIndex...] }
        let end = utf8.lastIndex(where: { !blank($0) })!
        return text[start...end]
    }

    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`, as seconds since 1970.
    public static func moment(_ text: String) -> Double? {
        moment(text[...])
    }

    /// The same, read from a slice of a line.
    public static func moment(_ text: Substring) -> Double? {
        var text = text
        return text.withUTF8 { moment(utf8: $0) }
    }

    static func moment(utf8: UnsafeBufferPointer<UInt8>) -> Double? {
        /// The decimal number in `range`, or nil when it is not all digits (or past the end).
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= utf8.count else { return nil }
            var value = 0
            for k in range {
                let b = utf8[k]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard utf8.count >= 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let dayOfMonth = number(8..<10),
              let day = CalendarDate(year: year, month: month, day: dayOfMonth) else { return nil }
        var seconds = day.secondsSince1970AtMidnightUTC
        if utf8.count == 10 { return seconds }
        guard utf8[10] == UInt8(ascii: "T") || utf8[10] == UInt8(ascii: " "), utf8.count >= 16 else { return nil }
        guard let h = number(11..<13), utf8[13] == UInt8(ascii: ":"), let m = number(14..<16), h < 24, m < 60 else { return nil }
        seconds += Double(h * 3600 + m * 60)
        var i = 16
        if i < utf8.count, utf8[i] == UInt8(ascii: ":") {
            guard let s = number((i + 1)..<(i + 3)), s < 61 else { return nil }
            seconds += Double(s)
            i += 3
            if i < utf8.count, utf8[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < utf8.count, (48...57).contains(utf8[i]) { i += 1 }
                guard i > start, let fraction = Double("0." + String(decoding: utf8[start..<i], as: UTF8.self)) else { return nil }
                seconds += fraction
            }
        }
        guard i < utf8.count else { return nil }  // a zone is required with a time
        if utf8[i] == UInt8(ascii: "Z") {
            return i + 1 == utf8.count ? seconds : nil
        }
        guard utf8[i] == UInt8(ascii: "+") || utf8[i] == UInt8(ascii: "-"), utf8.count == i + 6, utf8[i + 3] == UInt8(ascii: ":"),
              let oh = number((i + 1)..<(i + 3)), let om = number((i + 4)..<(i + 6)) else { return nil }
        let offset = Double(oh * 3600 + om * 60)
        return utf8[i] == UInt8(ascii: "+") ? seconds - offset : seconds + offset
    }

    /// Splits a CSV line (RFC 4180 quoting; a quoted field cannot span lines here).
    public static func csvFields(_ line: Substring, line number: Int) throws(LedgerProblem) -> [String] {
        var fields: [String] = []
        var current = ""
        var inQuotes = false
        var afterQuote = false
        var iterator = line.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = iterator.next()
        while let c = pending {
            pending = iterator.next()
            if inQuotes {
                if c == "\"" {
                    if pending == "\"" {
                        current.unicodeScalars.append("\"")
                        pending = iterator.next()
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    current.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",":
                fields.append(current)
                current = ""
                afterQuote = false
            case "\"" where current.isEmpty && !afterQuote:
                inQuotes = true
            case "\r" where pending == nil:
                continue
            default:
                if afterQuote { throw LedgerProblem(line: number, field: nil, message: "text after a closing quote") }
                current.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw LedgerProblem(line: number, field: nil, message: "a quoted field is not closed on this line") }
        fields.append(current)
        return fields
    }
}
