import LetheCore

/// The JSON shape of one planned action: `{target, operation, attributes, groups, retained, reason}`.
public struct PlanJSON: Codable, Sendable, Hashable {
    public var target: String
    public var operation: String
    public var match: String?
    public var attributes: [String]
    public var strategies: [String: String]
    public var groups: [String]
    public var retained: [Retained]
    public var pseudonymised: [String]
    public var reason: String

    public struct Retained: Codable, Sendable, Hashable {
        public var purpose: String
        public var basis: String
        public var attributes: [String]
        public var groups: [String]
        public var until: String
    }

    public init(_ action: PlannedAction) {
        target = action.target
        operation = action.operation.rawValue
        match = action.match?.rawValue
        attributes = action.attributes.map(\.path.description)
        strategies = Dictionary(uniqueKeysWithValues: action.attributes.map { ($0.path.description, $0.strategy.rawValue) })
        groups = action.groups
        retained = action.retained.map {
            Retained(purpose: $0.purpose, basis: $0.basis.rawValue, attributes: $0.attributes.map(\.description),
                     groups: $0.groups, until: $0.until.description)
        }
        pseudonymised = action.pseudonymised.map(\.description)
        reason = action.reason
    }
}

