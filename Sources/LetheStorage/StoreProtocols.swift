import Foundation
import LetheCore

// What Lethe needs of a store, cut by who needs it. The SQLite store (in
// LetheStore) is the embedded default; another store implements the same protocols and passes
// the same contract suite (`StoreContract` in LetheTesting). Every change that a protocol
// names commits together with its audit event, or not at all.

/// Filing and deciding: what intake, sweeps and the front doors (CLI, API, dashboard) change.
public protocol RequestLedger: Sendable {
    /// Files a request: the request, one action per target and an audit event, in one
    /// transaction. Filing a `ref` again for the same subject and kind returns the existing request.
    func file(_ new: NewRequest, now: Date) throws -> FilingResult
    /// `file`, committed together with other filings made at the same moment (a busy API).
    func fileGrouped(_ new: NewRequest, now: Date) async throws -> FilingResult
    /// Many requests in one transaction (a ledger file, a benchmark).
    func file(batch: [NewRequest], now: Date) throws -> [FilingResult]
    /// A sweep's withdrawals with the ledger entries they answer, in one transaction.
    func file(sweep batch: [SweepFiling], now: Date) throws -> [FilingResult]
    /// Everything earlier sweeps filed.
    func sweepHistory() throws -> SweepHistory
    /// Starts a new retry budget for the failed or needs_review actions of a request (or of one
    /// target); returns the targets retried.
    func retry(_ requestId: String, target: String?, identifiers: SubjectIdentifiers?, replans: [String: PlannedAction],
               by actor: Principal?, now: Date) throws -> [String]
    func approve(_ requestId: String, by actor: Principal, note: String?, now: Date) throws -> StoredRequest
    func reject(_ requestId: String, by actor: String, reason: String, now: Date) throws -> StoredRequest
    func extend(_ requestId: String, months: Int, reason: String, by actor: String?, now: Date) throws -> StoredRequest
    func cancel(_ requestId: String, reason: String, by actor: String?, now: Date) throws -> StoredRequest
}

/// Reading requests and their actions: status, listings, the dashboard, metrics.
public protocol RequestQueries: Sendable {
    /// A request by id or by its reference.
    func request(_ idOrRef: String) throws -> StoredRequest?
    func requests(state: RequestState?, overdueOn today: CalendarDate?, limit: Int?) throws -> [StoredRequest]
    /// A page of requests in filing order, and the cursor of the next page (nil on the last).
    func requests(_ filter: RequestFilter, limit: Int) throws -> (requests: [StoredRequest], next: RequestCursor?)
    /// Requests received within a period (inclusive), oldest first.
    func requests(receivedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredRequest]
    func requestsWithOpenFollowUps(limit: Int?) throws -> [StoredRequest]
    func earliestReceived() throws -> CalendarDate?
    func actions(of requestId: String) throws -> [StoredAction]
    func actions(of requestIds: [String]) throws -> [String: [StoredAction]]
    /// The actions a filing just made (follow-ups of earlier runs left out).
    func actionsJustFiled(of requestId: String) throws -> [StoredAction]
    func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction]
    func attempts(of actionId: Int64) throws -> [StoredAttempt]
    /// What each target said in its own words about its last failure, while the request is open.
    func serverMessages(of requestId: String) throws -> [String: String]
    func states(of requestIds: Set<String>) throws -> [String: RequestState]
    func count(state: RequestState) throws -> Int
    func gauges(today: CalendarDate) throws -> Gauges
    func overview(today: CalendarDate, weeksBack: Int) throws -> Overview
}

/// The engine's side: claims, what an attempt writes ahead, results.
public protocol WorkQueue: Sendable {
    /// Actions left `running` by a run that stopped: recorded as interrupted and made due again.
    func rescueRunning(now: Date) async throws -> Int
    /// Targets with work that is not finished, whether due or not.
    func targetsWithOpenWork() throws -> [String]
    func targetsWithDueWork(now: Date, among targets: [String]) throws -> [String]
    /// Claims up to each target's limit of due actions in one transaction, counting the attempt
    /// at claim time, each held for `lease` seconds. An action is never handed out twice. With a
    /// cap for a target (its `max_concurrency`), the claim also leaves the target's running
    /// actions, whoever runs them, at or below it: the limit is the deployment's, not a process's.
    func claim(_ wanted: [(target: String, limit: Int)], runner: String, now: Date, lease: Double,
               caps: [String: Int]) async throws -> [ClaimedAction]
    /// Extends the leases still held to `until`; returns the actions whose lease is lost.
    func renew(_ leases: [ClaimedAction.Lease], until: Date) async throws -> Set<Int64>
    /// Takes back actions whose lease ran out (their runner stopped or paused): recorded as
    /// interrupted and due again. Their late results are then refused (`StoreError.leaseLost`).
    func rescueExpired(now: Date) async throws -> Int
    /// Records the subject's reference in the target, before anything is written to it. With
    /// `attempt`, only while that attempt still holds the action (else `StoreError.leaseLost`).
    func recordAccountRef(actionId: Int64, accountRef: String, attempt: Int?) async throws
    /// Records what is about to be written (path → value), with the account reference when given;
    /// fenced by `attempt` like `recordAccountRef`.
    func recordWritten(actionId: Int64, values: [String: JSONValue], accountRef: String?, attempt: Int?) async throws
    /// Records an attempt with its transition and audit event; returns the request's state after
    /// it. Refused (`StoreError.leaseLost`, nothing recorded) when the attempt no longer holds
    /// the action: the fencing check is part of the same transaction.
    func record(_ attempt: AttemptReport, transition: ActionStateMachine.Transition, now: Date) async throws -> RequestState
    /// Open work: how many actions, when the next is due, how many wait for a later day.
    func openWork(now: Date?) throws -> (count: Int, nextDue: Date?, later: Int)
    /// Marks each manual task past its due time with a `task_overdue` event (announced by
    /// webhook), once in the deployment; returns those marked now.
    func announceOverdueTasks(now: Date) throws -> [StoredAction]
    /// A webhook target's job that got no answer in time: the action leaves
    /// `awaiting_confirmation` as `transition` says (retrying, or failed once the attempts are
    /// used), with its event, unless an answer came meanwhile.
    func expireTask(actionId: Int64, transition: ActionStateMachine.Transition, now: Date) throws
    func states(of requestIds: Set<String>) throws -> [String: RequestState]
    func count(state: RequestState) throws -> Int
    /// What the store does when a run ends, so that nothing purged lingers (SQLite truncates
    /// its write-ahead log).
    func endOfRun() throws
}

/// The audit log, for reports, certificates and verification.
public protocol AuditLog: Sendable {
    /// Recomputes every hash and checks every link (of the events up to `lastSeq`, when given).
    func verifyAuditChain(through lastSeq: Int64?) throws -> ChainVerification
    func auditEvents(request: String?) throws -> [AuditEvent]
    func auditEvent(seq: Int64) throws -> AuditEvent?
    func citedEvents(seqs: [Int64]) throws -> [Int64: CitedEvent]
    /// Each request's final event per target (or follow-up), by request and citation key.
    func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]]
    func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]]
    /// Runs `body` on one consistent view of the store (a report reads everything through one).
    func snapshot<T>(_ body: (any ReportSnapshot) throws -> T) throws -> T
    /// Keeps a signed checkpoint (its canonical JSON line) for every worker of the deployment to see.
    func appendCheckpointLine(_ line: String) throws
    /// The checkpoint lines kept, oldest first.
    func checkpointLines() throws -> [String]
}

/// One consistent view of the store for a long read, such as a report: every query made
/// through it sees the same committed state, whatever the engine writes meanwhile.
public protocol ReportSnapshot {
    /// The chain's head as this view sees it, without walking the chain.
    func chainHead() throws -> ChainVerification
    func requestCount(receivedFrom from: CalendarDate, to: CalendarDate) throws -> Int
    /// The requests received within a period (inclusive), oldest first, `size` at a time.
    func requests(receivedFrom from: CalendarDate, to: CalendarDate, pageSize size: Int, _ body: ([StoredRequest]) throws -> Void) throws
    func actions(of requestIds: [String]) throws -> [String: [StoredAction]]
    /// The actions of these requests as read, to be decoded later on any thread.
    func undecodedActions(of requestIds: [String]) throws -> UndecodedActions
    func finalTargetEvents(requestIds: [String]) throws -> [String: [String: AuditEvent]]
    func followUps(completedFrom from: CalendarDate, to: CalendarDate) throws -> [StoredAction]
    func changeEvents(requestIds: [String]) throws -> [String: [AuditEvent]]
}

/// Actions read and not yet decoded (see `ReportSnapshot.undecodedActions(of:)`).
public struct UndecodedActions: Sendable {
    private let decode: @Sendable () throws -> [String: [StoredAction]]

    public init(decode: @escaping @Sendable () throws -> [String: [StoredAction]]) {
        self.decode = decode
    }

    /// The actions by request, each request's in the order they were read.
    public func decoded() throws -> [String: [StoredAction]] { try decode() }
}

/// API tokens, stored by digest only.
public protocol TokenStore: Sendable {
    /// Creates a token and returns it with its secret, which is stored nowhere.
    func createToken(name: String, role: TokenRole, now: Date) throws -> (token: APIToken, secret: String)
    func tokens() throws -> [APIToken]
    func token(secret: String) throws -> APIToken?
    func revokeToken(_ idOrName: String, now: Date) throws -> APIToken
}

/// The dashboard's browser sessions, kept in the store so that every replica of `lethe serve`
/// knows them and a restart signs nobody out. Only a session id's SHA-256 is stored: a copy of
/// the database opens no session.
public protocol SessionStore: Sendable {
    /// Stores a new session (its id's digest, its token, its CSRF secret, its end), and removes
    /// the sessions that ended before `now`.
    func openSession(_ session: DashboardSessionRecord, now: Date) throws
    /// The session with this id, while it has not ended (ended ones are removed as they are met).
    func session(id: String, now: Date) throws -> DashboardSessionRecord?
    func closeSession(id: String) throws
}

/// Work that must happen once in a deployment, not once per replica (webhook deliveries,
/// overdue announcements, checkpoint signing): a named lease in the store. One holder at a
/// time; when it stops renewing, another takes over once the lease has run out.
public protocol JobLeases: Sendable {
    /// Takes the job for `holder` until `until`, or extends it when `holder` has it; false when
    /// another holder's lease has not run out at `now`.
    func acquireJob(_ name: String, holder: String, until: Date, now: Date) throws -> Bool
    /// Gives the job up at once (a holder that stops cleanly), if `holder` has it.
    func releaseJob(_ name: String, holder: String) throws
    /// How many jobs whose name starts with `prefix` are held at `now` (the live workers).
    func jobHolders(prefix: String, now: Date) throws -> Int
}

/// The webhook outbox: the audit log is the outbox, each URL has a cursor.
public protocol WebhookOutbox: Sendable {
    /// A URL's delivery state; a new URL starts at the log's head (no history is replayed).
    func webhookCursor(url: String) throws -> WebhookCursor
    func nextWebhookEvent(after seq: Int64) throws -> (event: AuditEvent, request: StoredRequest)?
    func webhookDelivered(url: String, seq: Int64) throws
    func webhookFailed(url: String, error: String, retryAt: Date) throws
    func overdueNotNotified(url: String, today: CalendarDate, limit: Int) throws -> [StoredRequest]
    func overdueNotified(url: String, requestId: String) throws
}

/// Manual targets' tasks: actions handed to a person, who confirms what they did.
public protocol TaskDesk: Sendable {
    /// The tasks waiting for a person, oldest first, each with its request (identifiers included
    /// while it is open: the person needs them to find the subject).
    func openTasks() throws -> [(request: StoredRequest, action: StoredAction)]
    /// Records a person's confirmation of the task of `requestId` at `target`: the action ends
    /// with their outcome, `confirmed by a person` with their name, in one transaction with its
    /// event. Refuses a task that does not wait (confirmed already, cancelled), and, when the
    /// request needed approval, a confirmer who filed it (four eyes).
    /// - Returns: the request's state afterwards.
    /// With `evidence: .system`, a webhook target's callback (`actor` names the target; no four eyes).
    func confirmTask(_ requestId: String, target: String, outcome: TaskOutcome, by actor: Principal, note: String?,
                     evidence: Evidence, now: Date) throws -> RequestState
    /// An action by its id, with its request (nil when there is none).
    func task(actionId: Int64) throws -> (request: StoredRequest, action: StoredAction)?
    /// Records that a callback for this action was refused, with the reason and never its body.
    func recordRefusedCallback(actionId: Int64, reason: String, now: Date) throws
}

extension TaskDesk {
    /// A person's confirmation.
    public func confirmTask(_ requestId: String, target: String, outcome: TaskOutcome, by actor: Principal, note: String?,
                            now: Date) throws -> RequestState {
        try confirmTask(requestId, target: target, outcome: outcome, by: actor, note: note, evidence: .person, now: now)
    }
}

/// Everything a deployment's store keeps: the composition root holds one, and hands each part
/// of Lethe the protocol it needs.
public protocol Store: RequestLedger, RequestQueries, WorkQueue, AuditLog, TokenStore, WebhookOutbox, SessionStore, JobLeases, TaskDesk {
    /// A small setting the store keeps for the deployment (the pseudonym key's id, ...).
    func meta(_ key: String) throws -> String?
    func setMeta(_ key: String, _ value: String) throws
}

// The defaults callers rely on.
extension RequestLedger {
    public func approve(_ requestId: String, by actor: Principal, now: Date) throws -> StoredRequest {
        try approve(requestId, by: actor, note: nil, now: now)
    }

    public func extend(_ requestId: String, months: Int, reason: String, now: Date) throws -> StoredRequest {
        try extend(requestId, months: months, reason: reason, by: nil, now: now)
    }

    public func cancel(_ requestId: String, reason: String, now: Date) throws -> StoredRequest {
        try cancel(requestId, reason: reason, by: nil, now: now)
    }

    public func retry(_ requestId: String, target: String?, identifiers: SubjectIdentifiers?, replans: [String: PlannedAction],
                      now: Date) throws -> [String] {
        try retry(requestId, target: target, identifiers: identifiers, replans: replans, by: nil, now: now)
    }
}

extension RequestQueries {
    public func requests(state: RequestState? = nil, overdueOn today: CalendarDate? = nil) throws -> [StoredRequest] {
        try requests(state: state, overdueOn: today, limit: nil)
    }

    public func requestsWithOpenFollowUps() throws -> [StoredRequest] { try requestsWithOpenFollowUps(limit: nil) }

    public func overview(today: CalendarDate) throws -> Overview { try overview(today: today, weeksBack: 12) }
}

extension WorkQueue {
    public func openWork() throws -> (count: Int, nextDue: Date?, later: Int) { try openWork(now: nil) }

    public func recordWritten(actionId: Int64, values: [String: JSONValue]) async throws {
        try await recordWritten(actionId: actionId, values: values, accountRef: nil, attempt: nil)
    }

    public func recordAccountRef(actionId: Int64, accountRef: String) async throws {
        try await recordAccountRef(actionId: actionId, accountRef: accountRef, attempt: nil)
    }
}

extension AuditLog {
    public func verifyAuditChain() throws -> ChainVerification { try verifyAuditChain(through: nil) }
    public func auditEvents() throws -> [AuditEvent] { try auditEvents(request: nil) }
}
