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

    /// The known purpose a ledger names: itself, its ASCII-case variant, or a problem.
    func knownPurpose(_ purpose: String, line: Int) throws(LedgerProblem) -> String {
        guard let purposes, !purposes.contains(purpose) else { return purpose }
        if let known = purposes.names.first(where: { ASCIICase.equal($0, purpose) }) { return known }
        throw LedgerProblem(line: line, field: "purpose", message: "unknown purpose '\(purpose)'"
            + (Suggest.closest(to: purpose, in: purposes.names).map { "; did you mean '\($0)'?" } ?? "")
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
        headerRead = true
    }

    /// Parses one data line; nil for a blank line.
    public func row(_ text: Substring, line: Int) throws(LedgerProblem) -> LedgerRow? {
        if text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { return nil }
        var fields = Fields()
        switch format {
        case .csv:
            let values = text.utf8.contains(UInt8(ascii: "\"")) ? try Self.csvFields(text, line: line) : Self.plainFields(text)
            for (slot, index) in slots.enumerated() {
                guard let index, index < values.count else { continue }
                let value = Self.trimmed(values[index])
                if !value.isEmpty { fields.values[slot] = value }
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
            for (name, value) in members where Self.requiredFields.contains(name) || Self.optionalFields.contains(name) {
                switch value {
                case .string(let s): if !s.isEmpty { fields[name] = s }
                case .null: continue
                default: throw LedgerProblem(line: line, field: name, message: "must be a string")
                }
            }
        }
        return try row(from: fields, line: line)
    }

    /// The values of one row, by field.
    struct Fields {
        static let names = requiredFields + optionalFields
        var values: [String?] = Array(repeating: nil, count: names.count)

        subscript(name: String) -> String? {
            get { Self.names.firstIndex(of: name).flatMap { values[$0] } }
            set { if let index = Self.names.firstIndex(of: name) { values[index] = newValue } }
        }
    }

    /// The CSV column of each field, in `Fields.names` order.
    private var slots: [Int?] { Fields.names.map { columns[$0] } }

    func row(from fields: Fields, line: Int) throws(LedgerProblem) -> LedgerRow {
        for name in Self.requiredFields where fields[name] == nil {
            throw LedgerProblem(line: line, field: name, message: "is missing")
        }
        let email = fields["subject_email"]!
        guard IdentifierSyntax.isPlausibleEmail(email) else {
            throw LedgerProblem(line: line, field: "subject_email", message: "is not an e-mail address")
        }
        let purpose = try knownPurpose(fields["purpose"]!, line: line)
        guard let statusText = fields["status"], let status = LedgerRow.Status(rawValue: statusText.lowercased()) else {
            throw LedgerProblem(line: line, field: "status", message: "'\(fields["status"] ?? "")' is not granted, revoked or expired")
        }
        guard let changedAt = Self.moment(fields["changed_at"]!) else {
            throw LedgerProblem(line: line, field: "changed_at", message: "'\(fields["changed_at"]!)' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
        }
        guard changedAt <= latestAllowed else {
            throw LedgerProblem(line: line, field: "changed_at", message: "'\(fields["changed_at"]!)' is in the future")
        }
        var expiresAt: Double?
        if let text = fields["expires_at"] {
            guard let moment = Self.moment(text) else {
                throw LedgerProblem(line: line, field: "expires_at", message: "'\(text)' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
            }
            expiresAt = moment
        }
        return LedgerRow(email: email, purpose: purpose, status: status, changedAt: changedAt,
                         externalId: fields["external_id"], userName: fields["user_name"], expiresAt: expiresAt, line: line)
    }

    /// Fields of a CSV line without quotes: a plain split on commas.
    static func plainFields(_ line: Substring) -> [String] {
        line.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Trims spaces and tabs (and a stray carriage return) only when there are any.
    static func trimmed(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard blank(first) || blank(last) else { return text }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r"))
    }

    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`, as seconds since 1970.
    public static func moment(_ text: String) -> Double? {
        let utf8 = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for k in range {
                let b = utf8[k]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard utf8.count >= 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"),
              let year = digits(0..<4), let month = digits(5..<7), let dayOfMonth = digits(8..<10),
              let day = CalendarDate(year: year, month: month, day: dayOfMonth) else { return nil }
        var seconds = day.secondsSince1970AtMidnightUTC
        if utf8.count == 10 { return seconds }
        guard utf8[10] == UInt8(ascii: "T") || utf8[10] == UInt8(ascii: " "), utf8.count >= 16 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= utf8.count, utf8[range].allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int(String(decoding: utf8[range], as: UTF8.self))
        }
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
