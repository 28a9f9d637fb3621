import Crypto
import Foundation
import GRDB
import LetheCore
import LetheStorage


extension AppDatabase {
    /// The digest a token is stored and looked up by.
    public static func tokenDigest(_ token: String) -> String { APIToken.digest(token) }

    /// Creates a token and returns it with its secret, which is stored nowhere: only its
    /// SHA-256 is. The name must be new (1 to 100 bytes, no control character).
    public func createToken(name: String, role: TokenRole, now: Date) throws -> (token: APIToken, secret: String) {
        let (id, secret) = try APIToken.new(named: name)
        return try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_token WHERE name = ?", arguments: [name]) == true {
                throw StoreError.invalid("a token named '\(name)' exists already; revoke it or choose another name")
            }
            try db.execute(sql: "INSERT INTO api_token (id, name, role, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, name, role.rawValue, Self.tokenDigest(secret), now.timeIntervalSince1970])
            try Self.appendAudit(db, at: now, request: nil, target: nil, event: .tokenCreated,
                                 details: ["token": .string(id), "name": .string(name), "role": .string(role.rawValue)])
            let token = try APIToken(row: try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE id = ?", arguments: [id])!)
            return (token, secret)
        }
    }

    /// Every token, newest first, revoked ones included.
    public func tokens() throws -> [APIToken] {
        try writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_token ORDER BY created_at DESC, id").map(APIToken.init) }
    }

    /// The token a bearer secret belongs to, revoked or not; nil for none.
    public func token(secret: String) throws -> APIToken? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE sha256 = ?", arguments: [Self.tokenDigest(secret)]).map(APIToken.init)
        }
    }

    /// Revokes a token by id or name; revoking it again changes nothing.
    public func revokeToken(_ idOrName: String, now: Date) throws -> APIToken {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE id = ? OR name = ?", arguments: [idOrName, idOrName]) else {
                throw StoreError.notFound("no token with id or name '\(idOrName)'; `lethe token list` shows them")
            }
            let token = try APIToken(row: row)
            if token.isRevoked { return token }
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, token.id])
            try Self.appendAudit(db, at: now, request: nil, target: nil, event: .tokenRevoked,
                                 details: ["token": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue)])
            return try APIToken(row: try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE id = ?", arguments: [token.id])!)
        }
    }
}
