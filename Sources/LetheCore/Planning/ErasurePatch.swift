/// What an attribute must look like after an erasure's write, when read back.
public struct AttributeExpectation: Sendable, Hashable {
    public enum Expected: Sendable, Hashable {
        /// No value at all.
        case absent
        /// Exactly this value.
        case equals(JSONValue)
        /// A multi-valued attribute holding exactly one item, whose `value` is this (a server
        /// may add `primary` or `type` to the placeholder Lethe wrote).
        case onlyItem(value: String)
    }

    public var path: AttributePath
    public var expected: Expected

    public init(path: AttributePath, expected: Expected) {
        self.path = path
        self.expected = expected
    }
}

/// The write that carries out an anonymization, a deactivation or an attribute removal on one
/// account, and what reading it back must show. Pure: the account's current values and the
/// tokens come in as arguments, so every rule is testable without a server.
public struct ErasurePatch: Sendable, Hashable {
    /// One change to the account.
    public enum Change: Sendable, Hashable {
        case replace(path: String, value: JSONValue)
        case remove(path: String)
    }

    /// The changes, written only for attributes that still hold a value (so a rerun does not
    /// write again). Empty when nothing is left to change.
    public var changes: [Change]
    /// What the read-back must show, for every planned attribute.
    public var expectations: [AttributeExpectation]

    /// The text written by `redact`.
    public static let redacted = "[redacted]"

    /// Builds the patch for `plan` against the account as it is now.
    /// - Parameters:
    ///   - current: the account's values at a path (empty when it holds none).
    ///   - pseudonym: the keyed token written by the `pseudonym` strategy for a path.
    ///   - randomToken: fresh random text for the `random` strategy.
    ///   - written: what Lethe wrote to this account before (path → value): an attribute that
    ///     holds exactly that is already erased. Nothing else counts as Lethe's own mark: a
    ///     prefix such as `erased-` is something any user could have.
    public static func build(for plan: PlannedAction, current: (AttributePath) -> [JSONValue],
                             pseudonym: (String) -> String, randomToken: () -> String,
                             written: [String: JSONValue] = [:]) -> ErasurePatch {
        var changes: [Change] = []
        var expectations: [AttributeExpectation] = []
        for change in plan.attributes {
            let path = change.path.description
            let values = current(change.path)
            let present = !values.isEmpty
            if change.strategy == .random || change.strategy == .redact, AttributeCatalog.standard.takesPlaceholder(change.path) {
                let (write, expect) = placeholder(change, values: values, written: written[path], randomToken: randomToken)
                if let write { changes.append(.replace(path: path, value: write)) }
                expectations.append(expect)
                continue
            }
            switch change.strategy {
            case .remove:
                if present { changes.append(.remove(path: path)) }
                expectations.append(AttributeExpectation(path: change.path, expected: .absent))
            case .random:
                if present, let mine = written[path], values == [mine] {
                    // An earlier attempt already replaced it; leave it.
                    expectations.append(AttributeExpectation(path: change.path, expected: .equals(values[0])))
                } else if present || isRequired(change.path) {
                    let value = JSONValue.string(change.path.name == "userName" && change.path.schema == nil
                        ? "erased-\(randomToken())@erased.invalid" : "erased-\(randomToken())")
                    changes.append(.replace(path: path, value: value))
                    expectations.append(AttributeExpectation(path: change.path, expected: .equals(value)))
                } else {
                    expectations.append(AttributeExpectation(path: change.path, expected: .absent))
                }
            case .redact, .pseudonym:
                guard present else {
                    expectations.append(AttributeExpectation(path: change.path, expected: .absent))
                    continue
                }
                let value = JSONValue.string(change.strategy == .redact ? redacted : pseudonym(path))
                if values.contains(where: { $0 != value }) {
                    changes.append(.replace(path: path, value: value))
                }
                expectations.append(AttributeExpectation(path: change.path, expected: .equals(value)))
            }
        }
        if plan.operation == .deactivate {
            // Anonymized as planned, and deactivated: active=false on top, never instead.
            if current(AttributePath(name: "active")) != [.bool(false)] { changes.append(.replace(path: "active", value: .bool(false))) }
            expectations.append(AttributeExpectation(path: AttributePath(name: "active"), expected: .equals(.bool(false))))
        }
        return ErasurePatch(changes: changes, expectations: expectations)
    }

    /// `random` or `redact` on a multi-valued attribute (`emails: random`): the whole attribute
    /// becomes one item whose value is a placeholder, an address at `erased.invalid` for e-mails
    /// (RFC 2606 reserves `.invalid`: no mail can reach it). Nothing is written when the account
    /// holds none, or already holds exactly the placeholder (a rerun).
    static func placeholder(_ change: AttributeChange, values: [JSONValue], written: JSONValue?,
                            randomToken: () -> String) -> (write: JSONValue?, expect: AttributeExpectation) {
        let items = values.flatMap { $0.arrayValue ?? [$0] }
        guard !items.isEmpty else { return (nil, AttributeExpectation(path: change.path, expected: .absent)) }
        let email = change.path.name.lowercased() == "emails"
        let text: String
        if change.strategy == .redact {
            text = email ? "redacted@erased.invalid" : redacted
        } else if let mine = written?.arrayValue?.first?["value"]?.stringValue, items.count == 1, items[0]["value"]?.stringValue == mine {
            // An earlier attempt already wrote its random placeholder; leave it.
            return (nil, AttributeExpectation(path: change.path, expected: .onlyItem(value: mine)))
        } else {
            text = email ? "erased-\(randomToken())@erased.invalid" : "erased-\(randomToken())"
        }
        let expect = AttributeExpectation(path: change.path, expected: .onlyItem(value: text))
        if items.count == 1, items[0]["value"]?.stringValue == text { return (nil, expect) }
        return (.array([.object(["value": .string(text)])]), expect)
    }

    private static func isRequired(_ path: AttributePath) -> Bool {
        (try? AttributeCatalog.standard.resolve(path.description).get().shape.required) ?? false
    }

}
