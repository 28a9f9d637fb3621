import Foundation

/// A JSON value checked to be in canonical form (`CanonicalJSON`) byte by byte, and indexed
/// as it is checked, without building it: one token per value, member name and container.
/// `CanonicalJSON.isCanonical` parses a value and encodes it again to compare; this reads the
/// bytes once and allocates nothing per value (only an object with a name outside ASCII has its
/// names decoded, to find two the parser takes for one), which is what lets a 200 MB signed report be
/// checked in about the time it takes to read it. The two agree on every input: the form is
/// the one `CanonicalJSON` writes (sorted, unique member names; no whitespace; only the
/// escapes it writes; integers without a fraction), and what the strict parser refuses
/// (invalid UTF-8, nesting 512 levels deep) is refused here too.
public struct CanonicalTape: Sendable {
    public enum Kind: UInt8, Sendable { case object, array, string, number, literal }

    public struct Token: Sendable {
        public var kind: Kind
        /// The value's bytes: `start..<end` of the buffer it was read from.
        public var start: Int
        public var end: Int
        /// The token after this value and everything inside it.
        public var next: Int
        /// A string that holds an escape (so its text is not its bytes).
        public var escaped = false
        /// A string with a byte outside ASCII.
        public var nonASCII = false
    }

    public private(set) var tokens: [Token] = []
    /// The containers being read, innermost last, each with the last member name read in it and
    /// whether any of its names is not ASCII.
    private var open: [(container: Int, lastName: Int?, nonASCII: Bool)] = []

    public init() {}

    /// Reads `bytes[range]` as one JSON value in canonical form, replacing the tokens; false
    /// when the bytes are not exactly that (not JSON, or JSON in another form).
    public mutating func read(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        read(bytes, from: range.lowerBound, before: range.upperBound) == range.upperBound
    }

    /// Reads the one JSON value in canonical form that starts at `start` and ends before
    /// `end`, replacing the tokens; returns where it ends, nil when there is none. Lets the
    /// elements of a large array be read one by one without finding their ends first.
    public mutating func read(_ bytes: UnsafeRawBufferPointer, from start: Int, before end: Int) -> Int? {
        tokens.removeAll(keepingCapacity: true)
        open.removeAll(keepingCapacity: true)
        guard start >= 0, end <= bytes.count else { return nil }
        var i = start
        var expectKey = false
        while true {
            // A value (or, in an object, a member name, its colon and its value) starts at i.
            guard i < end else { return nil }
            if expectKey {
                guard bytes[i] == 0x22, let keyEnd = string(bytes, i, end) else { return nil }
                let key = tokens.count - 1
                if let previous = open[open.count - 1].lastName, !Self.precedes(bytes, tokens[previous], tokens[key]) { return nil }
                open[open.count - 1].lastName = key
                if tokens[key].nonASCII { open[open.count - 1].nonASCII = true }
                i = keyEnd
                guard i < end, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard i < end else { return nil }
                expectKey = false
            }
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard open.count < 511 else { return nil }  // the parser's depth limit
                let isObject = bytes[i] == UInt8(ascii: "{")
                open.append((tokens.count, nil, false))
                tokens.append(Token(kind: isObject ? .object : .array, start: i, end: i, next: 0))
                i += 1
                guard i < end else { return nil }
                if bytes[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    guard close(bytes, at: i) else { return nil }
                } else {
                    expectKey = isObject
                    continue
                }
            case 0x22:
                guard let stringEnd = string(bytes, i, end) else { return nil }
                i = stringEnd
            case UInt8(ascii: "t"): guard literal(bytes, &i, end, "true") else { return nil }
            case UInt8(ascii: "f"): guard literal(bytes, &i, end, "false") else { return nil }
            case UInt8(ascii: "n"): guard literal(bytes, &i, end, "null") else { return nil }
            default: guard number(bytes, &i, end) else { return nil }
            }
            // After a value: the next element or member, or the end of one or more containers.
            while true {
                guard let container = open.last?.container else { return i }
                guard i < end else { return nil }
                let isObject = tokens[container].kind == .object
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    expectKey = isObject
                    break
                }
                guard bytes[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return nil }
                i += 1
                guard close(bytes, at: i) else { return nil }
            }
        }
    }

    /// Ends the innermost container; false when it is an object with two names the parser takes
    /// for one. Sorted, distinct bytes are distinct names only in ASCII: Swift compares strings
    /// by canonical equivalence, so "é" and "e" + U+0301, or "K" and the Kelvin sign, are one
    /// name to the parser (a duplicate, refused), and in the order not always next to each other.
    private mutating func close(_ bytes: UnsafeRawBufferPointer, at end: Int) -> Bool {
        let (container, _, nonASCII) = open.removeLast()
        tokens[container].end = end
        tokens[container].next = tokens.count
        guard nonASCII else { return true }
        var names = Set<String>()
        var name = container + 1
        while name < tokens.count {
            guard let text = Self.text(bytes, tokens[name]), names.insert(text).inserted else { return false }
            name = tokens[name + 1].next
        }
        return true
    }

    private mutating func literal(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= end else { return false }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { return false }
        tokens.append(Token(kind: .literal, start: i, end: i + count, next: tokens.count + 1))
        i += count
        return true
    }

    /// A string at `start` (its opening quote) with only the escapes `CanonicalJSON` writes and
    /// valid UTF-8; appends its token and returns where it ends.
    private mutating func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var i = start + 1
        var escaped = false, nonASCII = false
        while i < end {
            let b = bytes[i]
            if b == 0x22 {
                tokens.append(Token(kind: .string, start: start, end: i + 1, next: tokens.count + 1, escaped: escaped, nonASCII: nonASCII))
                return i + 1
            }
            if b < 0x20 { return nil }
            if b == 0x5C {
                escaped = true
                guard i + 1 < end else { return nil }
                switch bytes[i + 1] {
                case 0x22, 0x5C, UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"), UInt8(ascii: "b"), UInt8(ascii: "f"):
                    i += 2
                case UInt8(ascii: "u"):
                    // Only a control character without a short escape, as \u00xx in lower case.
                    guard i + 6 <= end, bytes[i + 2] == UInt8(ascii: "0"), bytes[i + 3] == UInt8(ascii: "0") else { return nil }
                    let high = bytes[i + 4], low = bytes[i + 5]
                    guard high == UInt8(ascii: "0") || high == UInt8(ascii: "1"),
                          let digit = Self.lowerHex(low) else { return nil }
                    let code = (high == UInt8(ascii: "1") ? 16 : 0) + digit
                    guard ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(code) else { return nil }
                    i += 6
                default: return nil
                }
                continue
            }
            if b < 0x80 {
                i += 1
                continue
            }
            guard let next = Self.utf8Scalar(bytes, i, end) else { return nil }
            nonASCII = true
            i = next
        }
        return nil
    }

    private static func lowerHex(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(b - UInt8(ascii: "a")) + 10
        default: nil
        }
    }

    /// Where the well-formed UTF-8 sequence at `i` ends (Unicode 15, table 3-7: no overlong
    /// forms, no surrogates, nothing past U+10FFFF); nil when it is not well formed.
    private static func utf8Scalar(_ bytes: UnsafeRawBufferPointer, _ i: Int, _ end: Int) -> Int? {
        let b0 = bytes[i]
        let count: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; high = 0x9F
        case 0xF0: count = 4; low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; high = 0x8F
        default: return nil
        }
        guard i + count <= end, (low...high).contains(bytes[i + 1]) else { return nil }
        for k in 2..<count where !(0x80...0xBF).contains(bytes[i + k]) { return nil }
        return i + count
    }

    /// A number as `CanonicalJSON.number` writes it: an integer below 2^53 in magnitude without
    /// a fraction, exponent or "-0"; any other number only when it is exactly Swift's shortest
    /// form of its value.
    private mutating func number(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) -> Bool {
        let start = i
        func digit(_ at: Int) -> Bool { at < end && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
        if i < end, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return false }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
        var integer = true
        if i < end, bytes[i] == UInt8(ascii: ".") {
            integer = false
            i += 1
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integer = false
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if integer {
            let negative = bytes[start] == UInt8(ascii: "-")
            guard i - start - (negative ? 1 : 0) <= 16, let value = Int64(text), abs(value) < 9_007_199_254_740_992,
                  !(negative && value == 0) else { return false }
        } else {
            guard let value = Double(text), value.isFinite, CanonicalJSON.number(value) == text else { return false }
        }
        tokens.append(Token(kind: .number, start: start, end: i, next: tokens.count + 1))
        return true
    }

    /// Whether member name `a` comes before `b` in canonical order (`CanonicalJSON.precedes`).
    private static func precedes(_ bytes: UnsafeRawBufferPointer, _ a: Token, _ b: Token) -> Bool {
        if !a.escaped, !b.escaped {
            // Both are their text: UTF-8 order, as long as the first difference is ASCII.
            var x = a.start + 1, y = b.start + 1
            while true {
                let endA = x == a.end - 1, endB = y == b.end - 1
                if endA || endB { return endA && !endB }
                if bytes[x] != bytes[y] {
                    if bytes[x] < 0x80 && bytes[y] < 0x80 { return bytes[x] < bytes[y] }
                    break
                }
                x += 1
                y += 1
            }
        }
        return CanonicalJSON.precedes(text(bytes, a) ?? "", text(bytes, b) ?? "")
    }

    /// The text of a string token.
    static func text(_ bytes: UnsafeRawBufferPointer, _ token: Token) -> String? {
        guard token.kind == .string else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: bytes[(token.start + 1)..<(token.end - 1)])
        if !token.escaped { return String(decoding: inner, as: UTF8.self) }
        return JSONValue.parse(Data(UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end])))?.stringValue
    }
}

extension CanonicalTape {
    /// One value of a tape read from `json`, to be read like a `JSONValue` without building one.
    public struct Value: JSONReading {
        let json: Data
        let tokens: [Token]
        let index: Int

        /// The root of `tape`, which was read from `json` (offsets from its start).
        public init(root tape: CanonicalTape, in json: Data) {
            self.json = json
            tokens = tape.tokens
            index = 0
        }

        init(json: Data, tokens: [Token], index: Int) {
            self.json = json
            self.tokens = tokens
            self.index = index
        }

        var token: Token { tokens[index] }

        private func text(_ token: Token) -> String? {
            json.withUnsafeBytes { CanonicalTape.text($0, token) }
        }

        /// The member named `key`; like `JSONValue`'s subscript, an exact name first, then one
        /// that differs only in case.
        public subscript(key: String) -> Value? {
            guard token.kind == .object else { return nil }
            var wanted = key
            let found: Int? = wanted.withUTF8 { wanted in
                json.withUnsafeBytes { bytes in
                    var name = index + 1
                    while name < token.next {
                        let t = tokens[name]
                        if !t.escaped, t.end - t.start - 2 == wanted.count,
                           wanted.isEmpty || memcmp(wanted.baseAddress!, bytes.baseAddress! + t.start + 1, wanted.count) == 0 {
                            return name + 1
                        }
                        name = tokens[name + 1].next
                    }
                    return nil
                }
            }
            if let found { return Value(json: json, tokens: tokens, index: found) }
            let lower = key.lowercased()
            var name = index + 1
            while name < token.next {
                if text(tokens[name])?.lowercased() == lower { return Value(json: json, tokens: tokens, index: name + 1) }
                name = tokens[name + 1].next
            }
            return nil
        }

        public var arrayValue: [Value]? {
            guard token.kind == .array else { return nil }
            var elements: [Value] = []
            var element = index + 1
            while element < token.next {
                elements.append(Value(json: json, tokens: tokens, index: element))
                element = tokens[element].next
            }
            return elements
        }

        public var stringValue: String? { text(token) }

        public var intValue: Int? {
            switch token.kind {
            case .number:
                let text = json.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[token.start..<token.end]), as: UTF8.self) }
                if let int = Int(text) { return int }
                return Double(text).flatMap { $0.rounded() == $0 ? Int(exactly: $0) : nil }
            case .string: return stringValue.flatMap { Int($0) }
            default: return nil
            }
        }
    }
}

/// What reading a report needs of a JSON value: members, elements, text and integers. Both a
/// parsed `JSONValue` and a `CanonicalTape.Value` read in place provide it.
public protocol JSONReading {
    subscript(key: String) -> Self? { get }
    var arrayValue: [Self]? { get }
    var stringValue: String? { get }
    var intValue: Int? { get }
}

extension JSONValue: JSONReading {}
