import Foundation
import LetheCore
import LetheStorage

/// API tokens: created, listed and revoked by an admin (the CLI on the server's machine).
/// Only a token's SHA-256 is stored; its secret is shown once, at creation.
public struct TokenAdministration: Sendable {
    public let database: any TokenStore
    public let clock: any LetheClock

    public init(database: any TokenStore, clock: any LetheClock) {
        self.database = database
        self.clock = clock
    }

    /// A new token and its secret. The name must be new: 1 to 100 bytes, no control character.
    public func create(name: String, role: TokenRole) throws -> (token: APIToken, secret: String) {
        try database.createToken(name: name, role: role, now: clock.now())
    }

    public func list() throws -> [APIToken] { try database.tokens() }

    /// Revokes a token by id or name; it stops working at once.
    public func revoke(_ idOrName: String) throws -> APIToken {
        try database.revokeToken(idOrName, now: clock.now())
    }
}
