/// What Lethe will do in one target for one request.
public struct PlannedAction: Sendable, Hashable, Codable {
    public var target: String
    public var operation: PlannedOperation
    /// The attribute the subject will be looked up by; nil when nothing is to be done.
    public var match: MatchAttribute?
    /// Attributes changed, each with how.
    public var attributes: [AttributeChange]
    /// Groups the subject will be removed from.
    public var groups: [String]
    /// What stays, under which basis, until when.
    public var retained: [RetainedData]
    /// Why this is the plan, in words a privacy officer can check.
    public var reason: String

    public init(
        target: String, operation: PlannedOperation, match: MatchAttribute? = nil, attributes: [AttributeChange] = [],
        groups: [String] = [], retained: [RetainedData] = [], reason: String
    ) {
        self.target = target
        self.operation = operation
        self.match = match
        self.attributes = attributes
        self.groups = groups
        self.retained = retained
        self.reason = reason
    }

    /// Attributes that are only pseudonymised, not anonymised (GDPR Recital 26).
    public var pseudonymised: [AttributePath] { attributes.filter { $0.strategy == .pseudonym }.map(\.path) }

    /// True when the engine has to talk to the target.
    public var needsWork: Bool { operation != .none && operation != .needsReview }
}

/// The kind of change planned in a target.
public enum PlannedOperation: String, Sendable, Hashable, Codable, CaseIterable {
    /// DELETE the user (after leaving its groups).
    case delete
    /// PATCH the listed attributes to non-identifying values.
    case anonymize
    /// Anonymize as planned and PATCH `active` to false (and leave groups): a policy's
    /// `deactivate` with its `anonymize` strategies. Deactivation alone is never erasure.
    case deactivate
    /// PATCH away the attributes shared under a withdrawn consent (and leave its groups).
    case removeAttributes = "remove_attributes"
    /// Only leave groups shared under a withdrawn consent.
    case leaveGroups = "leave_groups"
    /// The target holds nothing this request concerns.
    case none
    /// Lethe cannot act safely without a person looking at it.
    case needsReview = "needs_review"
}

/// One attribute and what happens to it.
public struct AttributeChange: Sendable, Hashable, Codable {
    public var path: AttributePath
    public var strategy: AnonymizeStrategy

    public init(path: AttributePath, strategy: AnonymizeStrategy) {
        self.path = path
        self.strategy = strategy
    }
}

/// Data kept under a legal obligation (GDPR Art. 17(3)(b)).
public struct RetainedData: Sendable, Hashable, Codable {
    public var purpose: String
    public var basis: LawfulBasis
    public var attributes: [AttributePath]
    public var groups: [String]
    /// The last day the data must be kept; it is erased after.
    public var until: CalendarDate
    /// True when the retention had already ended when the request was planned: nothing was
    /// kept, the data went with the rest (nil in plans made before this was recorded).
    public var ended: Bool?

    public init(purpose: String, basis: LawfulBasis, attributes: [AttributePath], groups: [String], until: CalendarDate, ended: Bool? = nil) {
        self.purpose = purpose
        self.basis = basis
        self.attributes = attributes
        self.groups = groups
        self.until = until
        self.ended = ended
    }

    /// The day the follow-up erasure is due: the day after the last day of keeping.
    public var erasureDue: CalendarDate { until.adding(days: 1) }
}
