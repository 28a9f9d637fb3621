/// What a privacy officer asks for, as far as planning needs to know.
public struct PlanningRequest: Sendable, Hashable {
    public var kind: RequestKind
    public var subject: SubjectIdentifiers
    /// The day the request was received; deadlines and retention count from it.
    public var received: CalendarDate
    /// The day it is planned: a retention that has already ended by then keeps nothing.
    public var today: CalendarDate

    public init(kind: RequestKind, subject: SubjectIdentifiers, received: CalendarDate, today: CalendarDate? = nil) {
        self.kind = kind
        self.subject = subject
        self.received = received
        self.today = max(today ?? received, received)
    }
}

/// Erasure (GDPR Art. 17) or withdrawal of consent for some purposes (Art. 7(3)).
public enum RequestKind: Sendable, Hashable {
    case erasure
    case revocation(purposes: [String])

    /// `erasure` or `revocation`.
    public var name: String {
        switch self {
        case .erasure: "erasure"
        case .revocation: "revocation"
        }
    }

    /// The purposes withdrawn; empty for an erasure.
    public var purposes: [String] {
        switch self {
        case .erasure: []
        case .revocation(let purposes): purposes
        }
    }
}
