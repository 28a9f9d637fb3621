import Foundation
import GRDB
import LetheCore
import LetheStorage

/// The dashboard's sessions (see `SessionStore`).
extension AppDatabase {
    public func openSession(_ session: DashboardSessionRecord, now: Date) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM dashboard_session WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO dashboard_session (id_digest, token_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [Self.tokenDigest(session.id), session.tokenId, session.csrf, session.expires.timeIntervalSince1970])
        }
    }

    public func session(id: String, now: Date) throws -> DashboardSessionRecord? {
        let digest = Self.tokenDigest(id)
        guard let row = try writer.read({ db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT token_id, csrf, expires_at FROM dashboard_session WHERE id_digest = ?"), arguments: [digest])
        }) else { return nil }
        let expires = Date(timeIntervalSince1970: row["expires_at"])
        guard expires > now else {
            try closeSession(id: id)
            return nil
        }
        return DashboardSessionRecord(id: id, tokenId: row["token_id"], csrf: row["csrf"], expires: expires)
    }

    public func closeSession(id: String) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM dashboard_session WHERE id_digest = ?", arguments: [Self.tokenDigest(id)]) }
    }
}
