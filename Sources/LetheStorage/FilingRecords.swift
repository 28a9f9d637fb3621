import Foundation
import LetheCore

/// A request ready to be filed: planned, pseudonymised, identified.
public struct NewRequest: Sendable, Hashable {
    public var id: String
    public var kind: RequestKind
    public var ref: String?
    public var pseudonym: String
    public var identifiers: SubjectIdentifiers
    public var requestedBy: String?
    /// Who files it, as the four-eyes check compares people (`Principal.identities`); empty when
    /// only `requestedBy` is known, which then stands for a person of that name.
    public var filers: Set<String> = []
    public var note: String?
    public var received: CalendarDate
    public var plan: [PlannedAction]
    /// Nothing runs until someone other than the filer approves (`approve`).
    public var needsApproval = false
    /// No action is claimed before the filing time plus this many seconds.
    public var grace: Double = 0

    public init(id: String, kind: RequestKind, ref: String?, pseudonym: String, identifiers: SubjectIdentifiers,
                requestedBy: String? = nil, note: String? = nil, received: CalendarDate, plan: [PlannedAction]) {
        self.id = id
        self.kind = kind
        self.ref = ref
        self.pseudonym = pseudonym
        self.identifiers = identifiers
        self.requestedBy = requestedBy
        self.note = note
        self.received = received
        self.plan = plan
    }

    /// GDPR Art. 12(3): one month from receipt.
    public var due: CalendarDate { received.adding(months: 1) }

    /// Applies a deployment's approval rule and grace period.
    public mutating func apply(_ settings: LetheSettings) {
        needsApproval = settings.approval.applies(to: kind)
        grace = settings.grace.seconds
    }
}

/// What filing did.
public enum FilingResult: Sendable, Hashable {
    case filed(StoredRequest)
    /// The reference was filed before for the same subject and kind: nothing new was stored.
    case existing(StoredRequest)

    public var request: StoredRequest {
        switch self {
        case .filed(let r), .existing(let r): r
        }
    }
}

extension NewRequest {
    /// The filers' identities, or the named person's when only a name was given.
    public var filerIdentities: Set<String> {
        if !filers.isEmpty { return filers }
        return requestedBy.map { [Principal.identity(name: $0)] } ?? []
    }
}


/// A withdrawal a sweep files: the request and the ledger entries it answers.
public struct SweepFiling: Sendable, Hashable {
    public var request: NewRequest
    /// (purpose, the ledger's changed_at in seconds since 1970)
    public var entries: [(purpose: String, changedAt: Double)]

    public init(request: NewRequest, entries: [(purpose: String, changedAt: Double)]) {
        self.request = request
        self.entries = entries
    }

    public static func == (lhs: SweepFiling, rhs: SweepFiling) -> Bool {
        lhs.request == rhs.request && lhs.entries.map(\.purpose) == rhs.entries.map(\.purpose) && lhs.entries.map(\.changedAt) == rhs.entries.map(\.changedAt)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(request) }
}

/// What earlier sweeps filed.
public struct SweepHistory: Sendable {
    /// "pseudonym|purpose|changedAt(ms)".
    public var entries: Set<String>
    /// "pseudonym|purpose".
    public var pairs: Set<String>

    public init(entries: Set<String>, pairs: Set<String>) {
        self.entries = entries
        self.pairs = pairs
    }

    public static func entryKey(_ pseudonym: String, _ purpose: String, _ changedAt: Double) -> String {
        "\(pseudonym)|\(purpose)|\(Int64((changedAt * 1000).rounded()))"
    }

    public static func pairKey(_ pseudonym: String, _ purpose: String) -> String { "\(pseudonym)|\(purpose)" }
}
