import Foundation
import LetheCore

/// A parsed SCIM filter (RFC 7644 §3.4.2.2): comparisons, `pr`, `and`/`or`/`not`,
/// parentheses, and value paths such as `emails[type eq "work"]`.
indirect enum FilterExpression: Sendable, Equatable {
    case compare(AttributeRef, String, JSONValue)
    case present(AttributeRef)
    case and(FilterExpression, FilterExpression)
    case or(FilterExpression, FilterExpression)
    case not(FilterExpression)
    case valuePath(AttributeRef, FilterExpression)
}

/// `[urn:...:]name[.sub]`.
struct AttributeRef: Sendable, Equatable {
    var schema: String?
    var name: String
    var sub: String?

    static func parse(_ text: String) -> AttributeRef? {
        var schema: String?
        var local = text
        if text.lowercased().hasPrefix("urn:") {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            schema = String(text[..<colon])
            local = String(text[text.index(after: colon)...])
            if schema?.lowercased() == SCIMSchemas.coreUser.lowercased() || schema?.lowercased() == SCIMSchemas.coreGroup.lowercased() {
                schema = nil
            }
        }
        let parts = local.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return AttributeRef(schema: schema, name: parts[0], sub: parts.count == 2 ? parts[1] : nil)
    }

    /// The container holding the attribute (the resource, or its extension object).
    func container(in resource: JSONValue) -> JSONValue? {
        guard let schema else { return resource }
        return resource.member(schema)?.value
    }

    /// Every value at this path (multi-valued attributes flattened).
    func values(in resource: JSONValue) -> [JSONValue] {
        guard let top = container(in: resource)?.member(name)?.value else { return [] }
        let items = top.arrayValue ?? [top]
        guard let sub else { return top.arrayValue ?? [top] }
        return items.compactMap { $0.member(sub)?.value }
    }

    /// Whether any value at this path satisfies the predicate: `values(in:)` without building
    /// the list (a filter over a group's members runs once per member).
    func contains(in resource: JSONValue, where predicate: (JSONValue) -> Bool) -> Bool {
        guard let top = container(in: resource)?.member(name)?.value else { return false }
        guard case .array(let items) = top else { return (sub.map { top.member($0)?.value } ?? top).map(predicate) ?? false }
        for item in items {
            if let value = sub.map({ item.member($0)?.value }) ?? item, predicate(value) { return true }
        }
        return false
    }

    /// Attributes compared exactly (RFC 7643 caseExact); the rest ignore case.
    var caseExact: Bool {
        let n = name.lowercased()
        return n == "id" || n == "externalid" || (n == "members" && sub?.lowercased() == "value") || sub == "$ref"
    }
}

/// Why a filter could not be parsed.
struct FilterSyntaxError: Error, Sendable { var detail: String }

/// A recursive-descent parser for SCIM filters.
struct FilterParser {
    enum Token: Equatable {
        case word(String)
        case string(String)
        case open, close, openBracket, closeBracket
    }

    private var tokens: [Token]
    private var index = 0
    /// Groups open around the current token: `(`, `not (` and `[` nest the parser (and later the
    /// evaluation) one level deeper, so a filter of a thousand `(` would exhaust the stack
    /// (found by `scripts/fuzz FuzzFilter`). No filter a client means nests this deep.
    private var depth = 0
    static let maxDepth = 32
    /// `and`/`or` chains build a tree evaluated recursively; bounded for the same reason.
    private var connectives = 0
    static let maxConnectives = 256

    init(_ text: String) throws(FilterSyntaxError) {
        tokens = try Self.tokenize(text)
    }

    static func parse(_ text: String) throws(FilterSyntaxError) -> FilterExpression {
        var parser = try FilterParser(text)
        let expression = try parser.parseOr()
        guard parser.index == parser.tokens.count else { throw FilterSyntaxError(detail: "unexpected text after the filter") }
        return expression
    }

    static func tokenize(_ text: String) throws(FilterSyntaxError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case " ", "\t", "\n", "\r": i += 1
            case "(": tokens.append(.open); i += 1
            case ")": tokens.append(.close); i += 1
            case "[": tokens.append(.openBracket); i += 1
            case "]": tokens.append(.closeBracket); i += 1
            case "\"":
                // A JSON string: read to the closing quote, honouring escapes, then decode it as JSON.
                var j = i + 1
                var raw = "\""
                while j < chars.count, chars[j] != "\"" {
                    if chars[j] == "\\" {
                        guard j + 1 < chars.count else { break }
                        raw.unicodeScalars.append(chars[j])
                        j += 1
                    }
                    raw.unicodeScalars.append(chars[j])
                    j += 1
                }
                guard j < chars.count, case .string(let value)? = JSONValue.parse(Data((raw + "\"").utf8)) else {
                    throw FilterSyntaxError(detail: "a string is not closed or badly escaped")
                }
                tokens.append(.string(value))
                i = j + 1
            default:
                var j = i
                var word = ""
                while j < chars.count, !" \t\n\r()[]\"".unicodeScalars.contains(chars[j]) {
                    word.unicodeScalars.append(chars[j])
                    j += 1
                }
                tokens.append(.word(word))
                i = j
            }
        }
        return tokens
    }

    private func peekWord() -> String? {
        guard index < tokens.count, case .word(let w) = tokens[index] else { return nil }
        return w.lowercased()
    }

    mutating func parseOr() throws(FilterSyntaxError) -> FilterExpression {
        var left = try parseAnd()
        while peekWord() == "or" {
            index += 1
            try connective()
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(FilterSyntaxError) -> FilterExpression {
        var left = try parseUnary()
        while peekWord() == "and" {
            index += 1
            try connective()
            left = .and(left, try parseUnary())
        }
        return left
    }

    private mutating func connective() throws(FilterSyntaxError) {
        connectives += 1
        guard connectives <= Self.maxConnectives else {
            throw FilterSyntaxError(detail: "the filter joins more than \(Self.maxConnectives) conditions with and/or")
        }
    }

    /// Parses one nested group (`(...)` or `[...]`) with `body`, at most `maxDepth` deep.
    private mutating func nested(_ body: (inout FilterParser) throws(FilterSyntaxError) -> FilterExpression) throws(FilterSyntaxError) -> FilterExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw FilterSyntaxError(detail: "the filter nests more than \(Self.maxDepth) groups deep") }
        return try body(&self)
    }

    mutating func parseUnary() throws(FilterSyntaxError) -> FilterExpression {
        guard index < tokens.count else { throw FilterSyntaxError(detail: "the filter ends too early") }
        if peekWord() == "not" {
            index += 1
            guard index < tokens.count, tokens[index] == .open else { throw FilterSyntaxError(detail: "'not' needs parentheses") }
            return .not(try nested { parser throws(FilterSyntaxError) in try parser.parseUnary() })
        }
        if tokens[index] == .open {
            index += 1
            let inner = try nested { parser throws(FilterSyntaxError) in try parser.parseOr() }
            guard index < tokens.count, tokens[index] == .close else { throw FilterSyntaxError(detail: "a parenthesis is not closed") }
            index += 1
            return inner
        }
        guard case .word(let path) = tokens[index], let ref = AttributeRef.parse(path) else {
            throw FilterSyntaxError(detail: "expected an attribute name")
        }
        index += 1
        if index < tokens.count, tokens[index] == .openBracket {
            index += 1
            let inner = try nested { parser throws(FilterSyntaxError) in try parser.parseOr() }
            guard index < tokens.count, tokens[index] == .closeBracket else { throw FilterSyntaxError(detail: "a '[' is not closed") }
            index += 1
            return .valuePath(ref, inner)
        }
        guard let op = peekWord() else { throw FilterSyntaxError(detail: "expected an operator after \(path)") }
        index += 1
        if op == "pr" { return .present(ref) }
        guard ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"].contains(op) else {
            throw FilterSyntaxError(detail: "unknown operator '\(op)'")
        }
        guard index < tokens.count else { throw FilterSyntaxError(detail: "expected a value after \(op)") }
        let value: JSONValue
        switch tokens[index] {
        case .string(let s): value = .string(s)
        case .word(let w):
            switch w.lowercased() {
            case "true": value = .bool(true)
            case "false": value = .bool(false)
            case "null": value = .null
            default:
                guard let n = Double(w) else { throw FilterSyntaxError(detail: "'\(w)' is not a value") }
                value = .number(n)
            }
        default: throw FilterSyntaxError(detail: "expected a value after \(op)")
        }
        index += 1
        return .compare(ref, op, value)
    }
}

extension FilterExpression {
    /// True when the resource (or, inside a value path, the element) matches.
    func matches(_ resource: JSONValue) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(resource) && b.matches(resource)
        case .or(let a, let b): return a.matches(resource) || b.matches(resource)
        case .not(let a): return !a.matches(resource)
        case .present(let ref): return ref.contains(in: resource) { !$0.isEmptyValue }
        case .valuePath(let ref, let inner):
            guard let top = ref.container(in: resource)?.member(ref.name)?.value else { return false }
            return (top.arrayValue ?? [top]).contains { inner.matches($0) }
        case .compare(let ref, let op, let expected):
            let caseExact = ref.caseExact
            return ref.contains(in: resource) { Self.compare($0, op, expected, caseExact: caseExact) }
        }
    }

    static func compare(_ actual: JSONValue, _ op: String, _ expected: JSONValue, caseExact: Bool) -> Bool {
        switch (actual, expected) {
        case (.string(var a), .string(var b)):
            if !caseExact, op == "eq" || op == "ne", a.utf8.allSatisfy({ $0 < 0x80 }), b.utf8.allSatisfy({ $0 < 0x80 }) {
                // ASCII texts: the same answer as comparing lowercased copies, without making them.
                return ASCIICase.equal(a, b) == (op == "eq")
            }
            if !caseExact { a = a.lowercased(); b = b.lowercased() }
            switch op {
            case "eq": return a == b
            case "ne": return a != b
            case "co": return a.contains(b)
            case "sw": return a.hasPrefix(b)
            case "ew": return a.hasSuffix(b)
            case "gt": return a > b
            case "ge": return a >= b
            case "lt": return a < b
            case "le": return a <= b
            default: return false
            }
        case (.number(let a), .number(let b)):
            switch op {
            case "eq": return a == b
            case "ne": return a != b
            case "gt": return a > b
            case "ge": return a >= b
            case "lt": return a < b
            case "le": return a <= b
            default: return false
            }
        case (.bool(let a), .bool(let b)):
            return op == "eq" ? a == b : op == "ne" ? a != b : false
        case (_, .null):
            return op == "eq" ? actual == .null : op == "ne" ? actual != .null : false
        default:
            return op == "ne"
        }
    }
}
