/// What an attribute must look like after an erasure's write, when read back.
public struct AttributeExpectation: Sendable, Hashable {
    public enum Expected: Sendable, Hashable {
        /// No value at all.
        case absent
        /// Exactly this value.
        case equals(JSONValue)
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

    private static func isRequired(_ path: AttributePath) -> Bool {
        (try? AttributeCatalog.standard.resolve(path.description).get().shape.required) ?? false
    }

}
