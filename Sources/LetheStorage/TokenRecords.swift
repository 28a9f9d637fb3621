import Foundation
import LetheCore

/// A browser signed in to the dashboard with an API token.
public struct DashboardSessionRecord: Sendable, Hashable {
    /// The cookie's random value; the store keeps only its SHA-256.
    public var id: String
    public var tokenId: String
    /// The secret every form and script of the session carries (CSRF).
    public var csrf: String
    public var expires: Date

    public init(id: String, tokenId: String, csrf: String, expires: Date) {
        self.id = id
        self.tokenId = tokenId
        self.csrf = csrf
        self.expires = expires
    }
}

/// What an API token may do (`lethe serve`).
public enum TokenRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Files, retries, cancels, extends, plans, runs sweeps, and reads.
    case officer
    /// Reads, exports reports and certificates, verifies the audit log.
    case auditor
    /// Everything, tokens and keys included.
    case admin
}

/// An API token as stored: never the token itself, only its SHA-256.
public struct APIToken: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var role: TokenRole
    public var createdAt: Date
    public var revokedAt: Date?

    public var isRevoked: Bool { revokedAt != nil }

    public init(id: String, name: String, role: TokenRole, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
