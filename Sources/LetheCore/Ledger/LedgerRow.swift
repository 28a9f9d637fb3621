/// One row of a consent ledger: what a subject's consent for one purpose became, and when.
public struct LedgerRow: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case granted
        case revoked
        case expired
    }

    public var email: String
    public var purpose: String
    public var status: Status
    /// Seconds since 1970.
    public var changedAt: Double
    public var externalId: String?
    public var userName: String?
    /// Seconds since 1970; a granted consent past this moment counts as expired.
    public var expiresAt: Double?
    /// 1-based line in the file (the CSV header is line 1).
    public var line: Int

    public init(email: String, purpose: String, status: Status, changedAt: Double, externalId: String? = nil, userName: String? = nil,
                expiresAt: Double? = nil, line: Int) {
        self.email = email
        self.purpose = purpose
        self.status = status
        self.changedAt = changedAt
        self.externalId = externalId
        self.userName = userName
        self.expiresAt = expiresAt
        self.line = line
    }

    /// True when consent is withdrawn at `now`: revoked, expired, or granted past its expiry.
    public func isWithdrawn(at now: Double) -> Bool {
        switch status {
        case .revoked, .expired: true
        case .granted: expiresAt.map { $0 <= now } ?? false
        }
    }
}

/// A row that cannot be used, and why.
public struct LedgerProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var field: String?
    public var message: String

    public init(line: Int, field: String?, message: String) {
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        "line \(line)" + (field.map { ", field \($0)" } ?? "") + ": \(message)"
    }
}

/// The format of a ledger file.
public enum LedgerFormat: String, Sendable, Hashable, CaseIterable {
    case csv
    case jsonl
}
