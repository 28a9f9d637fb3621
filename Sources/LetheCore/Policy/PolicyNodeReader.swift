import Yams

/// Walks a composed YAML document, collecting diagnostics with file:line:col instead of
/// stopping at the first problem. Every string value is expanded from the environment.
struct PolicyNodeReader {
    let file: String
    let environment: [String: String]
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    var hasErrors: Bool { errorCount > 0 }

    var errorCount: Int { diagnostics.count { $0.severity == .error } }

    mutating func error(_ node: Node?, _ message: String, hint: String? = nil) {
        report(.error, node?.mark, message, hint: hint)
    }

    mutating func warning(_ node: Node?, _ message: String, hint: String? = nil) {
        report(.warning, node?.mark, message, hint: hint)
    }

    mutating func report(_ severity: PolicyDiagnostic.Severity, _ mark: Mark?, _ message: String, hint: String? = nil) {
        report(severity, at: (mark?.line ?? 1, mark?.column ?? 1), message, hint: hint)
    }

    mutating func report(_ severity: PolicyDiagnostic.Severity, at position: (line: Int, column: Int), _ message: String, hint: String? = nil) {
        diagnostics.append(PolicyDiagnostic(
            file: file, line: position.line, column: position.column,
            severity: severity, message: message, hint: hint))
    }

    /// Composes the document, reporting a syntax error at its position.
    ///
    /// With Yams's basic resolver: every value here is read as text (`string`, `bool` and
    /// `integer` below), never through Yams's implicit tags, and the default resolver
    /// compiles seven regular expressions through ICU on first use, a fifth of the policy
    /// loading every `lethe erase` does.
    mutating func compose(_ text: String) -> Node? {
        do {
            guard let node = try Yams.compose(yaml: text, .basic) else {
                report(.error, nil, "the file is empty", hint: "a policy starts with 'target: NAME'; see policies/crm.yaml")
                return nil
            }
            return node
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                let where_ = context.map { " \($0.text)" } ?? ""
                report(.error, mark, "YAML syntax: \(problem)\(where_)", hint: "check indentation and quoting on this line")
            case .duplicatedKeysInMapping(let duplicates, let context):
                for key in duplicates.sorted() {
                    let position = Self.secondOccurrence(of: key, in: text, from: context.mark.line)
                        ?? (context.mark.line, context.mark.column)
                    report(.error, at: position, "'\(key)' appears twice in the same mapping", hint: "keep one of them")
                }
            default:
                report(.error, nil, "YAML syntax: \(error)")
            }
            return nil
        } catch {
            report(.error, nil, "YAML syntax: \(error)")
            return nil
        }
    }

    /// Where a block-mapping key appears for the second time at the same indentation, for
    /// libyaml's duplicate-key error, which only points at the mapping.
    static func secondOccurrence(of key: String, in text: String, from line: Int) -> (line: Int, column: Int)? {
        var firstIndent: Int?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 >= line {
            let body = raw.drop { $0 == " " || $0 == "-" }
            guard body.hasPrefix(key + ":") || body.hasPrefix("\"\(key)\":") else { continue }
            let indent = raw.count - body.count
            if let firstIndent {
                if indent == firstIndent { return (index + 1, indent + 1) }
            } else {
                firstIndent = indent
            }
        }
        return nil
    }

    /// The mapping's entries by key, after checking it is a mapping with only allowed,
    /// unrepeated keys and all required keys. Returns nil when it is not a mapping.
    mutating func fields(
        _ node: Node, in context: String, allowed: [String], required: [String] = [],
        hints: [String: String] = [:]
    ) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(context) must be a mapping of keys to values", hint: "expected keys: \(allowed.joined(separator: ", "))")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                error(key, "keys in \(context) must be plain names")
                continue
            }
            if result[name] != nil {
                error(key, "'\(name)' appears twice in \(context)", hint: "keep one of them")
                continue
            }
            guard allowed.contains(name) else {
                let hint = hints[name]
                    ?? Suggest.closest(to: name, in: allowed).map { "did you mean '\($0)'?" }
                    ?? "allowed keys: \(allowed.joined(separator: ", "))"
                error(key, "unknown key '\(name)' in \(context)", hint: hint)
                continue
            }
            result[name] = (key, value)
        }
        for name in required where result[name] == nil {
            error(node, "\(context) is missing the required key '\(name)'")
        }
        return result
    }

    /// A scalar string, expanded from the environment. Reports and returns nil otherwise.
    mutating func string(_ node: Node, _ what: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node else {
            error(node, "\(what) must be a single value, not a \(kind(of: node))")
            return nil
        }
        if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            if allowEmpty { return "" }
            error(node, "\(what) has no value")
            return nil
        }
        switch EnvironmentExpansion.expand(scalar.string, environment: environment) {
        case .success(let value):
            if value.isEmpty && !allowEmpty {
                error(node, "\(what) is empty")
                return nil
            }
            return value
        case .failure(.unset(let name, _)):
            error(node, "\(what) uses ${\(name)}, which is not set and has no default",
                  hint: "export \(name)=..., or write ${\(name):-default}")
            return nil
        case .failure(.malformed(_, let detail)):
            error(node, "\(what): \(detail)", hint: "write ${VAR} or ${VAR:-default}")
            return nil
        }
    }

    /// A list of strings; a single scalar is not accepted, to keep files uniform.
    mutating func strings(_ node: Node, _ what: String) -> [(String, Node)]? {
        guard case .sequence(let sequence) = node else {
            error(node, "\(what) must be a list, e.g. [a, b]")
            return nil
        }
        var values: [(String, Node)] = []
        for item in sequence {
            if let value = string(item, "an entry of \(what)") { values.append((value, item)) }
        }
        return values
    }

    /// `true` or `false`.
    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard let text = string(node, what) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            error(node, "\(what) must be true or false, not '\(text)'")
            return nil
        }
    }

    /// A positive integer within bounds.
    mutating func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            return nil
        }
        return value
    }

    func kind(of node: Node) -> String {
        switch node {
        case .scalar: "value"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}
