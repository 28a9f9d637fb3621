import Foundation
import Logging
import NIOConcurrencyHelpers
import LetheCore
import LetheStorage
import PostgresNIO

/// Lethe's store on PostgreSQL, for a deployment of several workers on one database: the same
/// protocols, records, audit chain and migrations as the SQLite store (`AppDatabase`).
///
/// - Every change and its audit event commit together. Writers that append events first take
///   one transaction-level advisory lock (`chainLock`): the chain stays one line whoever writes.
/// - Claims lock their rows with `FOR UPDATE SKIP LOCKED` and hold a lease; results are
///   recorded only while the attempt still holds the action (checked in the same transaction).
/// - Identifiers of open requests are sealed (`IdentifierSealer`): a dump shows no address.
public final class PostgresStore: Store, Sendable {
    let connections: PostgresConnections
    let sealer: IdentifierSealer?
    /// Rows handed to `insertRows`, inserted together by `finishCopy`.
    let copying = NIOLockedValueBox<[(String, [String], [[StoreValue]])]>([])

    /// The advisory lock every event-appending transaction takes first.
    static let chainLock: Int64 = 0x4C45_5448_4501  // "LETHE" 1
    /// The advisory lock migrations run under.
    static let migrationLock: Int64 = 0x4C45_5448_4502

    /// The schema versions this Lethe knows, oldest first: the SQLite store's, by name.
    public static var schemaVersions: [String] { PostgresSchema.versions }

    /// Connects, brings the schema up to date (under a lock, so workers starting together do
    /// not race) and, with a sealer, refuses another identifiers key than the database's.
    public init(url: String, sealer: IdentifierSealer?, logger: Logger = Logger(label: "lethe.postgres")) throws {
        let location = try PostgresLocation(url: url)
        connections = try PostgresConnections(location, logger: logger)
        self.sealer = sealer
        try PostgresSchema.migrate(connections)
        if let sealer { try checkSealingKey(sealer) }
    }

    /// The database, for messages (no password).
    public var location: String { connections.location.description }

    /// Closes the idle connections.
    public func close() { connections.close() }

    private func checkSealingKey(_ sealer: IdentifierSealer) throws {
        try connections.write(chain: false) { session in
            let known = try session.value("SELECT value FROM meta WHERE key = \(Self.sealingKeyMeta)", as: String.self)
            if let known, known != sealer.keyId {
                throw StoreError.invalid("this database's identifiers were sealed with identifiers.key \(known), and the state directory holds "
                    + "\(sealer.keyId): give every worker the same key files (see the README); nothing was changed")
            }
            if known == nil {
                try session.execute("INSERT INTO meta (key, value) VALUES (\(Self.sealingKeyMeta), \(sealer.keyId)) ON CONFLICT (key) DO NOTHING")
                try session.execute("INSERT INTO meta (key, value) VALUES (\(Self.sealedMeta), '1') ON CONFLICT (key) DO NOTHING")
            }
        }
        // Two workers starting at once with different keys: the one that wrote second reads the first's.
        if let known = try meta(Self.sealingKeyMeta), known != sealer.keyId {
            throw StoreError.invalid("this database's identifiers were sealed with identifiers.key \(known), and the state directory holds "
                + "\(sealer.keyId): give every worker the same key files (see the README); nothing was changed")
        }
    }

    static let sealingKeyMeta = "identifiers.key_id"
    static let sealedMeta = "identifiers.sealed"

    func stored(_ identifiers: SubjectIdentifiers?, request: String) throws -> [String?] {
        try StoredIdentifiers.stored(identifiers, request: request, sealer: sealer)
    }

    public func meta(_ key: String) throws -> String? {
        try connections.read { session in try session.value("SELECT value FROM meta WHERE key = \(key)", as: String.self) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try connections.write(chain: false) { session in
            try session.execute("INSERT INTO meta (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        }
    }

    /// Nothing to do at the end of a run: PostgreSQL keeps no write-ahead copy a purge would miss
    /// that an operator reads (its WAL segments are recycled; see the README on backups).
    public func endOfRun() throws {}

    // MARK: The audit chain

    /// Appends an event to the chain; call inside the transaction of the change it records,
    /// which holds the chain lock (`PostgresConnections.write`).
    @discardableResult
    static func appendAudit(_ session: PGSession, at date: Date, request: String?, target: String?, event kind: AuditEventKind,
                            details: [String: JSONValue]) throws -> AuditEvent {
        let event = kind.rawValue
        let last: (seq: Int64, hash: String)
        if let known = session.chainHead.last {
            last = known
        } else {
            let row = try session.row("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
            last = (try row?.at(0, as: Int64.self) ?? 0, try row?.at(1, as: String.self) ?? AuditChain.genesisHash)
        }
        let seq = last.seq + 1, prev = last.hash
        let at = Timestamp.iso8601(date)
        let detailsJSON = CanonicalJSON.string(.object(details))
        let hash = AuditChain.hash(prev: prev, seq: seq, at: at, request: request, target: target, event: event, details: detailsJSON)
        if let request, let target {
            // The action this event is about now cites it (see the SQLite store's `action_final`);
            // one statement for both, a round trip less while the chain lock is held.
            let followUp = details["follow_up"]?.stringValue ?? ""
            try session.execute("""
                WITH event AS (
                    INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash)
                    VALUES (\(seq), \(at), \(request), \(target), \(event), \(detailsJSON), \(prev), \(hash)) RETURNING seq)
                INSERT INTO action_final (action_id, seq) SELECT action.id, event.seq FROM action, event
                WHERE action.request_id = \(request) AND action.target = \(target) AND action.not_before = \(followUp)
                ON CONFLICT (action_id) DO UPDATE SET seq = excluded.seq
                """)
        } else {
            try session.execute("""
                INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash)
                VALUES (\(seq), \(at), \(request), \(target), \(event), \(detailsJSON), \(prev), \(hash))
                """)
        }
        session.chainHead.last = (seq, hash)
        return AuditEvent(seq: seq, at: at, requestId: request, target: target, event: event, details: detailsJSON, prevHash: prev, hash: hash)
    }

    /// Re-derives a request's state from its actions; on reaching a terminal state, purges the
    /// identifiers and records both in the chain (as the SQLite store does).
    @discardableResult
    static func refreshState(of requestId: String, in session: PGSession, now: Date) throws -> RequestState {
        guard let row = try session.row("""
            SELECT state, cancel_reason, approval, pseudonym,
                (SELECT string_agg(state, ',') FROM action WHERE request_id = request.id AND follows IS NULL) AS states,
                EXISTS (SELECT 1 FROM action WHERE request_id = request.id AND follows IS NULL AND attempts > 0) AS attempted
            FROM request WHERE id = \(requestId)
            """) else {
            throw StoreError.notFound("no request \(requestId)")
        }
        let old = RequestState(rawValue: try row.at(0, as: String.self)) ?? .received
        let states = (try row.at(4, as: String?.self) ?? "").split(separator: ",").compactMap { ActionState(rawValue: String($0)) }
        let new = RequestState.derive(actions: states, anyAttempt: try row.at(5, as: Bool.self), cancelled: try row.at(1, as: String?.self) != nil,
                                      rejected: try row.at(2, as: String?.self) == Approval.State.rejected.rawValue)
        guard new != old else { return new }
        let t = now.timeIntervalSince1970
        if new.isTerminal {
            try session.execute("""
                WITH purged AS (
                    UPDATE request SET state = \(new.rawValue), completed_at = \(t), email = NULL, external_id = NULL, user_name = NULL, note = NULL
                    WHERE id = \(requestId))
                UPDATE action SET server_message = NULL WHERE request_id = \(requestId) AND server_message IS NOT NULL
                """)
        } else {
            try session.execute("UPDATE request SET state = \(new.rawValue), completed_at = NULL WHERE id = \(requestId)")
        }
        let pseudonym = try row.at(3, as: String.self)
        try appendAudit(session, at: now, request: requestId, target: nil, event: .requestEntered(new),
                        details: ["from": .string(old.rawValue), "state": .string(new.rawValue), "subject": .string(pseudonym)])
        if new.isTerminal {
            try appendAudit(session, at: now, request: requestId, target: nil, event: .identifiersPurged,
                            details: ["subject": .string(pseudonym), "kept": .string("pseudonym only")])
        }
        return new
    }

    func request(_ id: String, in session: PGSession) throws -> StoredRequest {
        guard let row = try session.row("SELECT \(unescaped: Self.requestColumns) FROM request WHERE id = \(id)") else {
            throw StoreError.notFound("no request \(id)")
        }
        return try request(from: row)
    }

    /// Action states a claim takes; a cancellation ends; of unfinished work (as in the SQLite store).
    static let claimable: [ActionState] = [.pending, .retrying, .scheduled]
    static let claimableStates = "(" + claimable.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    static let cancellableStates = "(" + ([ActionState.held, .awaitingConfirmation] + claimable).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
}
