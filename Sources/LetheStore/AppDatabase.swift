import Foundation
import GRDB
import LetheCore
import LetheStorage

/// Lethe's database: one SQLite file in the state directory, in WAL mode.
///
/// The one owner of the database writer. It migrates on open and exposes named writes
/// that keep the invariants: every state change and its audit event commit together.
public struct AppDatabase: Store {
    let writer: any DatabaseWriter
    /// The engine's per-action writes, committed in groups (see `GroupCommit`).
    let commits: GroupCommit
    /// Seals the identifiers of open requests (nil: kept as given, for tests and benchmarks).
    let sealer: IdentifierSealer?

    /// Wraps a writer and brings its schema up to date. With a sealer, identifiers stored
    /// before sealing are sealed now, and a sealer whose key is not the one the database was
    /// sealed with is refused.
    public init(_ writer: any DatabaseWriter, sealer: IdentifierSealer? = nil) throws {
        self.writer = writer
        self.commits = GroupCommit(writer)
        self.sealer = sealer
        // A newer Lethe may keep records this one would not (since v13, every event updates
        // `action_final`, which reports cite): writing to its database could make them false.
        // Read on the writer's connection, which every open makes anyway: a process that then
        // only writes (`lethe erase`) never opens a reader (about 2 ms of its 35).
        if try writer.writeWithoutTransaction(Self.migrator.hasBeenSuperseded) {
            // Name the schema it needs: the migrations the database has and this version does not know.
            let applied = try writer.writeWithoutTransaction { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            let unknown = applied.filter { !Self.schemaVersions.contains($0) }.sorted()
            throw StoreError.invalid("the database was brought up to date by a newer version of Lethe, whose records this version "
                + "does not keep: its schema has \(unknown.joined(separator: ", ")), and this Lethe knows up to \(Self.schemaVersions.last ?? "none"); "
                + "run a Lethe whose schema reaches \(unknown.last ?? "it") on it; nothing was changed")
        }
        try Self.migrator.migrate(writer)
        if let sealer { try sealIdentifiers(with: sealer) }
    }

    /// Opens (creating if needed) the database file.
    ///
    /// Durability: `synchronous = FULL`, so a commit survives a power loss, not only a
    /// killed process. `secure_delete` zeroes deleted content, so purged identifiers do
    /// not linger in free pages.
    /// - Parameter notice: told, before it starts, when bringing the schema up to date will go
    ///   through a large database (a migration that computes something for every action).
    public static func open(path: String, sealer: IdentifierSealer? = nil, notice: (String) -> Void = { _ in }) throws -> AppDatabase {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets NORMAL on its writer after prepareDatabase; set FULL afterwards.
        // The writer gets a page cache of up to 32 MiB (SQLite's default is 2 MiB): the request,
        // action and audit indexes have random keys, so a sweep that files 100,000 requests
        // otherwise reads and writes the same pages again and again. Readers keep the default:
        // in WAL mode a reader drops its whole cache whenever the writer committed, and a large
        // one made the engine's frequent small reads slower (measured: +10 % CPU).
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        if let actions = try pool.writeWithoutTransaction(pendingMigrationWork), actions >= 100_000 {
            notice("bringing the database of \(actions) actions up to date for this version of Lethe, once; "
                + "at a million actions this takes about twenty seconds")
        }
        return try AppDatabase(pool, sealer: sealer)
    }

    /// The actions a pending migration may go through, or nil when the schema is up to date.
    static func pendingMigrationWork(_ db: Database) throws -> Int? {
        guard try !migrator.hasCompletedMigrations(db), try db.tableExists("action") else { return nil }
        return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM action")
    }

    /// A fresh in-memory database, for tests.
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue())
    }

    /// The schema versions this Lethe knows, oldest first (the migrations' names).
    public static var schemaVersions: [String] { migrator.migrations }

    /// Writes outstanding WAL content into the main file and truncates the WAL, so nothing
    /// purged survives in it (SQLite calls this a WAL checkpoint; not the signed chain heads of
    /// `lethe audit checkpoint`).
    public func endOfRun() throws { try truncateWriteAheadLog() }

    public func truncateWriteAheadLog() throws {
        try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// Shipped migrations are never edited; new ones are appended.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-requests-actions-audit") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                CREATE TABLE request (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('erasure', 'revocation')),
                    ref TEXT UNIQUE,
                    purposes TEXT NOT NULL DEFAULT '[]',
                    pseudonym TEXT NOT NULL,
                    email TEXT,
                    external_id TEXT,
                    user_name TEXT,
                    requested_by TEXT,
                    note TEXT,
                    received TEXT NOT NULL,
                    due TEXT NOT NULL,
                    extended_months INTEGER NOT NULL DEFAULT 0 CHECK (extended_months BETWEEN 0 AND 2),
                    created_at REAL NOT NULL,
                    completed_at REAL,
                    state TEXT NOT NULL CHECK (state IN ('received', 'in_progress', 'completed', 'failed', 'needs_review', 'cancelled')),
                    cancel_reason TEXT,
                    CHECK (kind = 'erasure' OR purposes <> '[]')
                );
                CREATE INDEX request_state ON request(state);
                CREATE INDEX request_received ON request(received);
                CREATE TABLE action (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL REFERENCES request(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'needs_review', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    budget_start INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    claimed_at REAL,
                    claimed_by TEXT,
                    scim_id TEXT,
                    outcome TEXT,
                    verified INTEGER,
                    verification TEXT,
                    last_error TEXT,
                    completed_at REAL,
                    UNIQUE (request_id, target)
                );
                CREATE INDEX action_due ON action(state, next_attempt_at);
                CREATE TABLE attempt (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    action_id INTEGER NOT NULL REFERENCES action(id) ON DELETE CASCADE,
                    number INTEGER NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    result TEXT NOT NULL,
                    status_code INTEGER,
                    error TEXT,
                    UNIQUE (action_id, number)
                );
                CREATE TABLE audit_event (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    at TEXT NOT NULL,
                    request_id TEXT,
                    target TEXT,
                    event TEXT NOT NULL,
                    details TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE
                );
                CREATE INDEX audit_event_request ON audit_event(request_id);
                """)
        }
        migrator.registerMigration("v2-sweep-filed") { db in
            // What consent sweeps filed: subject (pseudonym), purpose and the ledger's changed_at,
            // so the same withdrawal is never filed twice.
            try db.execute(sql: """
                CREATE TABLE sweep_filed (
                    pseudonym TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    changed_at REAL NOT NULL,
                    request_id TEXT NOT NULL REFERENCES request(id) ON DELETE CASCADE,
                    filed_at REAL NOT NULL,
                    PRIMARY KEY (pseudonym, purpose, changed_at)
                );
                """)
        }
        migrator.registerMigration("v3-typed-vocabulary") { db in
            // The schema holds the store's vocabulary: an operation, outcome or attempt result the
            // code does not know is refused by SQLite itself. SQLite cannot add a CHECK to a table,
            // so action and attempt are rebuilt (GRDB runs migrations with foreign keys deferred).
            // The lists are literals on purpose: a shipped migration never changes, and a test ties
            // them to the enums (a new case needs a new migration).
            try db.execute(sql: """
                CREATE TABLE action_v3 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL REFERENCES request(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL CHECK (operation IN
                        ('delete', 'anonymize', 'deactivate', 'remove_attributes', 'leave_groups', 'none', 'needs_review')),
                    state TEXT NOT NULL CHECK (state IN
                        ('scheduled', 'pending', 'running', 'retrying', 'succeeded', 'failed', 'needs_review', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    budget_start INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    claimed_at REAL,
                    claimed_by TEXT,
                    scim_id TEXT,
                    outcome TEXT CHECK (outcome IS NULL OR outcome IN
                        ('deleted', 'anonymized', 'deactivated', 'anonymized_and_deactivated', 'attributes_removed', 'groups_left', 'absent',
                         'not_applicable')),
                    verified INTEGER CHECK (verified IS NULL OR verified IN (0, 1)),
                    verification TEXT,
                    last_error TEXT,
                    completed_at REAL,
                    -- A follow-up (the erasure that ends a legal retention) names the action it follows,
                    -- and the day it is due; '' for the request's own action of each target.
                    follows INTEGER REFERENCES action(id) ON DELETE CASCADE,
                    not_before TEXT NOT NULL DEFAULT '',
                    -- What Lethe itself wrote to the account (path -> value), recorded before the write:
                    -- the only evidence that an account Lethe anonymized is still the subject's.
                    written TEXT,
                    CHECK ((follows IS NULL) = (not_before = '')),
                    UNIQUE (request_id, target, not_before)
                );
                INSERT INTO action_v3 SELECT id, request_id, target, plan, operation, state, attempts, budget_start, next_attempt_at,
                    claimed_at, claimed_by, scim_id, outcome, verified, verification, last_error, completed_at, NULL, '', NULL FROM action;
                CREATE TABLE attempt_v3 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    action_id INTEGER NOT NULL REFERENCES action(id) ON DELETE CASCADE,
                    number INTEGER NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    result TEXT NOT NULL CHECK (result IN ('succeeded', 'transient', 'permanent', 'not_verified', 'needs_review', 'interrupted')),
                    status_code INTEGER,
                    error TEXT,
                    UNIQUE (action_id, number)
                );
                INSERT INTO attempt_v3 SELECT id, action_id, number, started_at, finished_at, duration_ms, result, status_code, error FROM attempt;
                DROP TABLE attempt;
                DROP TABLE action;
                ALTER TABLE action_v3 RENAME TO action;
                ALTER TABLE attempt_v3 RENAME TO attempt;
                CREATE INDEX action_due ON action(state, next_attempt_at);
                """)
        }
        migrator.registerMigration("v4-claim-by-target") { db in
            // The engine asks per target: "is anything due?" and "the oldest due actions". In
            // (target, state, next_attempt_at) order both are index range reads, with no scan or
            // sort of every open action (which made a long run quadratic).
            try db.execute(sql: "CREATE INDEX action_target_due ON action(target, state, next_attempt_at)")
        }
        migrator.registerMigration("v5-overdue-by-state") { db in
            // `lethe status --overdue` asks for open, failed or needs_review requests past their
            // due day: with (state, due) that is a range read per state, not a visit of every
            // open request (a backlog of a million received requests).
            try db.execute(sql: "CREATE INDEX request_state_due ON request(state, due)")
        }
        migrator.registerMigration("v6-api-tokens") { db in
            // `lethe serve`'s bearer tokens: only the SHA-256 of each token is kept.
            try db.execute(sql: """
                CREATE TABLE api_token (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL CHECK (role IN ('officer', 'auditor', 'admin')),
                    sha256 TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                )
                """)
        }
        migrator.registerMigration("v7-webhooks") { db in
            // `lethe serve --webhook URL`: the audit log is the outbox. Each URL has a cursor (the
            // last event delivered, advanced only after a 2xx, so delivery is at least once and
            // survives restarts) and the overdue requests it was told of.
            try db.execute(sql: """
                CREATE TABLE webhook_cursor (
                    url TEXT PRIMARY KEY NOT NULL,
                    last_seq INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL DEFAULT 0,
                    last_error TEXT
                );
                CREATE TABLE webhook_overdue (
                    url TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    PRIMARY KEY (url, request_id)
                );
                """)
        }
        migrator.registerMigration("v8-request-filing-order") { db in
            // `GET /api/v1/requests` pages in filing order with a (created_at, id) cursor.
            try db.execute(sql: "CREATE INDEX request_created ON request(created_at, id)")
        }
        migrator.registerMigration("v9-approval-and-grace") { db in
            // Four eyes and a grace period (`lethe.yaml`): a request can wait for approval
            // (`awaiting_approval`) or end `rejected`, its actions wait `held` until approved, and
            // none starts before `starts_at`. SQLite cannot change a CHECK, so request and action
            // are rebuilt as in v3 (foreign keys are off while a migration runs).
            try db.execute(sql: """
                CREATE TABLE request_v9 (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('erasure', 'revocation')),
                    ref TEXT UNIQUE,
                    purposes TEXT NOT NULL DEFAULT '[]',
                    pseudonym TEXT NOT NULL,
                    email TEXT,
                    external_id TEXT,
                    user_name TEXT,
                    requested_by TEXT,
                    note TEXT,
                    received TEXT NOT NULL,
                    due TEXT NOT NULL,
                    extended_months INTEGER NOT NULL DEFAULT 0 CHECK (extended_months BETWEEN 0 AND 2),
                    created_at REAL NOT NULL,
                    completed_at REAL,
                    state TEXT NOT NULL CHECK (state IN
                        ('awaiting_approval', 'received', 'in_progress', 'completed', 'failed', 'needs_review', 'cancelled', 'rejected')),
                    cancel_reason TEXT,
                    -- NULL: no approval needed; 'awaiting' until someone other than the filer decides.
                    approval TEXT CHECK (approval IS NULL OR approval IN ('awaiting', 'approved', 'rejected')),
                    decided_by TEXT,
                    decided_at REAL,
                    -- The approver's note, or the reason for a rejection.
                    decision_note TEXT,
                    -- No action starts before this (filing time + the grace period).
                    starts_at REAL,
                    CHECK (kind = 'erasure' OR purposes <> '[]'),
                    CHECK ((approval IS NULL OR approval = 'awaiting') = (decided_by IS NULL))
                );
                INSERT INTO request_v9 (id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by, note, received, due,
                                        extended_months, created_at, completed_at, state, cancel_reason)
                    SELECT id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by, note, received, due,
                        extended_months, created_at, completed_at, state, cancel_reason FROM request;
                DROP TABLE request;
                ALTER TABLE request_v9 RENAME TO request;
                CREATE INDEX request_state ON request(state);
                CREATE INDEX request_received ON request(received);
                CREATE INDEX request_state_due ON request(state, due);
                CREATE INDEX request_created ON request(created_at, id);
                CREATE TABLE action_v9 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL REFERENCES request(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL CHECK (operation IN
                        ('delete', 'anonymize', 'deactivate', 'remove_attributes', 'leave_groups', 'none', 'needs_review')),
                    state TEXT NOT NULL CHECK (state IN
                        ('scheduled', 'held', 'pending', 'running', 'retrying', 'succeeded', 'failed', 'needs_review', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    budget_start INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    claimed_at REAL,
                    claimed_by TEXT,
                    scim_id TEXT,
                    outcome TEXT CHECK (outcome IS NULL OR outcome IN
                        ('deleted', 'anonymized', 'deactivated', 'anonymized_and_deactivated', 'attributes_removed', 'groups_left', 'absent',
                         'not_applicable')),
                    verified INTEGER CHECK (verified IS NULL OR verified IN (0, 1)),
                    verification TEXT,
                    last_error TEXT,
                    completed_at REAL,
                    follows INTEGER REFERENCES action(id) ON DELETE CASCADE,
                    not_before TEXT NOT NULL DEFAULT '',
                    written TEXT,
                    CHECK ((follows IS NULL) = (not_before = '')),
                    UNIQUE (request_id, target, not_before)
                );
                INSERT INTO action_v9 SELECT id, request_id, target, plan, operation, state, attempts, budget_start, next_attempt_at,
                    claimed_at, claimed_by, scim_id, outcome, verified, verification, last_error, completed_at, follows, not_before, written FROM action;
                DROP TABLE action;
                ALTER TABLE action_v9 RENAME TO action;
                CREATE INDEX action_due ON action(state, next_attempt_at);
                CREATE INDEX action_target_due ON action(target, state, next_attempt_at);
                """)
        }
        migrator.registerMigration("v10-dashboard-reads") { db in
            // The dashboard's pages at 100,000 requests: a state's requests newest first is a range
            // read of (state, created_at, id), not a sort of every request in that state; the
            // overview's requests per week by state is a covering read of (received, state).
            try db.execute(sql: "CREATE INDEX request_state_created ON request(state, created_at, id)")
            try db.execute(sql: "CREATE INDEX request_received_state ON request(received, state)")
        }
        migrator.registerMigration("v11-fewer-request-indexes") { db in
            // request(state) and request(received) are prefixes of request(state, due),
            // request(state, created_at, id) and request(received, state): every query they served
            // reads those as well, and each filing paid for two more B-tree inserts (issue #13).
            try db.execute(sql: "DROP INDEX request_state")
            try db.execute(sql: "DROP INDEX request_received")
        }
        migrator.registerMigration("v12-audit-hash-not-indexed") { db in
            // The UNIQUE on audit_event.hash kept an index of random 64-digit keys: every event
            // (about three per action) dirtied a random page of it, written whole to the WAL at
            // each commit, and nothing ever looks an event up by its hash. The chain's integrity is
            // its recomputation (`verifyAuditChain`), which this does not change. SQLite cannot drop
            // a UNIQUE constraint, so the table is copied (issue #13).
            try db.execute(sql: """
                CREATE TABLE audit_event_v12 (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    at TEXT NOT NULL,
                    request_id TEXT,
                    target TEXT,
                    event TEXT NOT NULL,
                    details TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                INSERT INTO audit_event_v12 SELECT seq, at, request_id, target, event, details, prev_hash, hash FROM audit_event;
                DROP TABLE audit_event;
                ALTER TABLE audit_event_v12 RENAME TO audit_event;
                CREATE INDEX audit_event_request ON audit_event(request_id);
                """)
        }
        migrator.registerMigration("v13-action-final-event") { db in
            // Each action's last audit event, the one a report row cites, so a report reads one
            // event per action instead of grouping every event of its requests (a fifth of an
            // export's reading at 100,000 requests). `appendAudit` keeps it; here it is computed
            // once from the log, the way reports computed it before (issue #13).
            try db.execute(sql: """
                CREATE TABLE action_final (
                    action_id INTEGER PRIMARY KEY NOT NULL REFERENCES action(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL
                )
                """)
            try db.execute(sql: finalSeqFromLog)
        }
        migrator.registerMigration("v14-filer-identities") { db in
            // Who filed a request, as principals (`token:ID`, `name:alice`), apart from the text
            // shown as its filer: "consent sweep by alice" must not approve what alice's token
            // filed (issue #30). A JSON array; NULL for requests filed before, where the check
            // falls back to the filer's name as it did then. People who retry a request while it
            // awaits approval are added: they too may not approve it.
            try db.execute(sql: "ALTER TABLE request ADD COLUMN filer_identities TEXT")
        }
        migrator.registerMigration("v15-action-server-message") { db in
            // What a target said in its own words about the last failed attempt. Kept apart from
            // last_error (Lethe's own structured sentence, which audit events and reports carry)
            // because a server's text can name the subject's name or street, which Lethe cannot
            // scrub: it is shown while the request is open and purged with its identifiers.
            try db.execute(sql: "ALTER TABLE action ADD COLUMN server_message TEXT")
        }
        migrator.registerMigration("v16-action-account-ref") { db in
            // The account's reference in its target, whatever kind of target it is (a SCIM id
            // today; a webhook's or a person's reference later): the column says what it holds,
            // not which protocol found it (issue #31). A rename: no row is rewritten.
            try db.execute(sql: "ALTER TABLE action RENAME COLUMN scim_id TO account_ref")
        }
        migrator.registerMigration("v17-action-lease") { db in
            // Until when a running action's claim is its runner's own (issue #32): renewed while
            // the runner works, taken over after it. NULL for claims made before leases.
            try db.execute(sql: "ALTER TABLE action ADD COLUMN lease_expires_at REAL")
        }
        migrator.registerMigration("v18-dashboard-session") { db in
            // The dashboard's sessions, shared by every replica and kept across restarts (issue
            // #32): a session id's SHA-256, never the id a cookie carries.
            try db.execute(sql: """
                CREATE TABLE dashboard_session (
                    id_digest TEXT PRIMARY KEY,
                    token_id TEXT NOT NULL REFERENCES api_token(id),
                    csrf TEXT NOT NULL,
                    expires_at REAL NOT NULL
                )
                """)
        }
        migrator.registerMigration("v19-job-lease") { db in
            // Jobs done once per deployment, whichever replica holds the lease (issue #32).
            try db.execute(sql: "CREATE TABLE job_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)")
        }
        migrator.registerMigration("v20-audit-checkpoint") { db in
            // Signed checkpoints in the store (issue #32, point 5), so every worker of a deployment
            // sees and checks them; each worker also keeps its own checkpoints.jsonl.
            try db.execute(sql: "CREATE TABLE audit_checkpoint (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL)")
        }
        migrator.registerMigration("v21-manual-tasks") { db in
            // Manual targets (issue #33): an action handed to a person waits in a state of its own,
            // its hand-over is an attempt of its own, and every outcome says how it is known and,
            // for a person's confirmation, who. SQLite cannot change a CHECK, so both tables are
            // copied (as v9 did). Outcomes recorded before were read back when verified.
            try db.execute(sql: """
                CREATE TABLE action_v21 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL REFERENCES request(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL CHECK (operation IN
                        ('delete', 'anonymize', 'deactivate', 'remove_attributes', 'leave_groups', 'none', 'needs_review')),
                    state TEXT NOT NULL CHECK (state IN
                        ('scheduled', 'held', 'pending', 'running', 'retrying', 'succeeded', 'failed', 'needs_review', 'cancelled',
                         'awaiting_confirmation')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    budget_start INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    claimed_at REAL,
                    claimed_by TEXT,
                    account_ref TEXT,
                    outcome TEXT CHECK (outcome IS NULL OR outcome IN
                        ('deleted', 'anonymized', 'deactivated', 'anonymized_and_deactivated', 'attributes_removed', 'groups_left', 'absent',
                         'not_applicable')),
                    verified INTEGER CHECK (verified IS NULL OR verified IN (0, 1)),
                    verification TEXT,
                    last_error TEXT,
                    completed_at REAL,
                    follows INTEGER REFERENCES action(id) ON DELETE CASCADE,
                    not_before TEXT NOT NULL DEFAULT '',
                    written TEXT,
                    server_message TEXT,
                    lease_expires_at REAL,
                    evidence TEXT CHECK (evidence IS NULL OR evidence IN ('read_back', 'system', 'person')),
                    confirmed_by TEXT,
                    task_overdue_at REAL,
                    CHECK ((follows IS NULL) = (not_before = '')),
                    UNIQUE (request_id, target, not_before)
                );
                INSERT INTO action_v21 SELECT id, request_id, target, plan, operation, state, attempts, budget_start, next_attempt_at,
                    claimed_at, claimed_by, account_ref, outcome, verified, verification, last_error, completed_at, follows, not_before, written,
                    server_message, lease_expires_at, CASE WHEN verified = 1 THEN 'read_back' END, NULL, NULL FROM action;
                DROP TABLE action;
                ALTER TABLE action_v21 RENAME TO action;
                CREATE INDEX action_due ON action(state, next_attempt_at);
                CREATE INDEX action_target_due ON action(target, state, next_attempt_at);
                CREATE TABLE attempt_v21 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    action_id INTEGER NOT NULL REFERENCES action(id) ON DELETE CASCADE,
                    number INTEGER NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    result TEXT NOT NULL CHECK (result IN
                        ('succeeded', 'transient', 'permanent', 'not_verified', 'needs_review', 'interrupted', 'handed_over')),
                    status_code INTEGER,
                    error TEXT,
                    UNIQUE (action_id, number)
                );
                INSERT INTO attempt_v21 SELECT id, action_id, number, started_at, finished_at, duration_ms, result, status_code, error FROM attempt;
                DROP TABLE attempt;
                ALTER TABLE attempt_v21 RENAME TO attempt;
                """)
        }
        return migrator
    }

    /// Records every action's last event from the log: its target's last event, or for a
    /// follow-up the last event naming its day (migration v13).
    static let finalSeqFromLog = """
        INSERT OR REPLACE INTO action_final (action_id, seq)
        SELECT id, seq FROM (
            SELECT action.id AS id, (
                SELECT MAX(e.seq) FROM audit_event e
                WHERE e.request_id = action.request_id AND e.target = action.target
                  AND COALESCE(\(followUpOfDetails), '') = action.not_before) AS seq
            FROM action)
        WHERE seq IS NOT NULL
        """

    /// Action states a claim takes (`next_attempt_at` decides when; for `scheduled`, it is the
    /// due day of the follow-up). The one place the engine's SQL names them.
    static let claimable: [ActionState] = [.pending, .retrying, .scheduled]
    static let claimableStates = "(" + claimable.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    /// Action states a cancellation or rejection ends (nothing was attempted in them yet, or
    /// the next attempt has not started).
    static let cancellableStates = "(" + ([ActionState.held, .awaitingConfirmation] + claimable).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    /// Action states of unfinished work.
    static let openStates = "('\(ActionState.pending.rawValue)', '\(ActionState.running.rawValue)', '\(ActionState.retrying.rawValue)')"
}
