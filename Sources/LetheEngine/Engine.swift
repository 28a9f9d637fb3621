import Foundation
import Synchronization
import LetheCore
import Logging
import LetheDrivers
import LetheStorage

/// Claims due actions and carries them out, each target within its own concurrency, so
/// one slow or broken target never holds up the others. Every attempt and transition is
/// committed before the next side effect.
public struct Engine: Sendable {
    /// The engine's side of the store: claims and results.
    let database: any WorkQueue
    let policies: PolicySet
    /// Each target's driver (SCIM, ...): the engine knows no protocol of its own.
    let drivers: any TargetDrivers
    let clock: any LetheClock
    /// A value in [0, 1) for backoff jitter.
    let random: @Sendable () -> Double
    let runner: String
    /// One line per transition, with the pseudonym, never an identifier.
    let logger: Logger

    public init(store: any WorkQueue, policies: PolicySet, drivers: any TargetDrivers,
                clock: any LetheClock = SystemClock(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                runner: String = "pid-\(ProcessInfo.processInfo.processIdentifier)", logger: Logger = Logger(label: "lethe.engine")) {
        self.logger = logger
        self.database = store
        self.policies = policies
        self.drivers = drivers
        self.clock = clock
        self.random = random
        self.runner = runner
    }

    /// How a run ends.
    public struct Options: Sendable {
        /// Return once nothing is pending, running or retrying.
        public var untilIdle: Bool
        /// Stop after this many seconds: no new claims, in-flight actions get `stopGrace`.
        public var timeout: Double?
        /// How often to look for newly due work while waiting.
        public var pollInterval: Double
        /// After a stop request or the timeout, how long in-flight actions may still finish
        /// before they are cancelled (and recorded as interrupted, to be taken up next run).
        public var stopGrace: Double
        /// How long a claim is this run's own without renewal; claims in flight are renewed every
        /// third of it. A run that pauses longer (a stopped process, a lost database) loses its
        /// claims to other runners, and its late results are refused.
        public var lease: Double
        /// Other runners work on the same store at the same time (PostgreSQL with several
        /// workers): a run then takes back only actions whose lease ran out, at its start and
        /// every third of a lease while it runs, never every running action (which is right only
        /// for a runner alone on its store, under the run lock).
        public var shared: Bool

        public init(untilIdle: Bool, timeout: Double? = nil, pollInterval: Double = 0.5, stopGrace: Double = 1.0,
                    lease: Double = ClaimedAction.defaultLease, shared: Bool = false) {
            self.untilIdle = untilIdle
            self.timeout = timeout
            self.pollInterval = pollInterval
            self.stopGrace = stopGrace
            self.lease = lease
            self.shared = shared
        }
    }

    /// What a run did. The caller decides what it means (the CLI turns it into an exit status).
    public struct Summary: Sendable, Hashable {
        /// Requests this run worked on, with their state at the end.
        public var requests: [String: RequestState]
        /// Attempts recorded, interrupted ones included.
        public var attempts: Int
        /// Actions left running by an earlier, stopped run and taken up again.
        public var rescued: Int
        /// Attempts cut short by the stop or the timeout (taken up again next run).
        public var interrupted: Int
        /// The timeout ended the run while work was still open.
        public var timedOut: Bool
        /// A stop request (SIGTERM, SIGINT, graceful shutdown) ended the run.
        public var stopped: Bool
        /// Requests left waiting for a second person's approval (nothing of them ran).
        public var awaitingApproval = 0
        /// Actions left waiting for their grace period to end (a later run takes them up).
        public var startingLater = 0
        /// Attempts whose result was refused because their claim had passed to another runner
        /// (the action is carried out again from the start: resolve, act, verify).
        public var leasesLost = 0

        /// True when some touched request ended failed or needs_review.
        public var hasUnresolved: Bool {
            requests.values.contains { $0 == .failed || $0 == .needsReview }
        }
    }

    /// One attempt's result, carried from the task that made it to the loop that records it.
    struct Finished: Sendable {
        var claimed: ClaimedAction
        var result: ExecutionResult
        var retry: RetryPolicy
        var startedAt: Date
        var finishedAt: Date
    }

    enum Event: Sendable {
        case finished(Finished)
        /// The attempt's claim had passed to another runner: nothing was recorded.
        case leaseLost(Finished)
        /// Recording a result failed.
        case failed(any Error)
        case tick
        case stop
    }

    /// Where the run's children post events, and the loop waits for them: `take` returns
    /// everything posted so far, waiting only when nothing is. Not cancellable: the loop must
    /// see every claimed action's result, cancelled or not, and some child always posts (an
    /// action in flight, or the tick).
    final class Inbox: Sendable {
        private struct State {
            var events: [Event] = []
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())

        func post(_ event: Event) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.events.append(event)
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func take() async -> [Event] {
            while true {
                let ready = state.withLock { state -> [Event] in
                    defer { state.events = [] }
                    return state.events
                }
                if !ready.isEmpty { return ready }
                await withCheckedContinuation { continuation in
                    let now = state.withLock { state -> Bool in
                        if !state.events.isEmpty { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }

    /// Runs until idle, timed out or stopped (or, without `untilIdle`, until stopped).
    ///
    /// Stopping (`stop.request()`, or the timeout): no new action is claimed; actions in flight
    /// may finish within `stopGrace`, then they are cancelled and recorded as interrupted. Every
    /// claimed action is recorded before this returns, so none is left `running`. Each child records
    /// its own result through the database's group commit, which a cancellation does not stop.
    public func run(_ options: Options, stop: EngineStop = EngineStop()) async throws -> Summary {
        let started = clock.now()
        var rescued = options.shared ? try await database.rescueExpired(now: started) : try await database.rescueRunning(now: started)
        if rescued > 0 { logger.notice("took up actions left running by a stopped run", metadata: ["count": "\(rescued)"]) }
        let deadline = options.timeout.map { started.addingTimeInterval($0) }
        // The targets to ask for due work: every policy's, and any other with work in the store.
        let targets = Set(policies.targetNames).union(try database.targetsWithOpenWork()).sorted()
        // Each target's max_concurrency holds for the deployment: the store counts every runner's.
        let caps = Dictionary(uniqueKeysWithValues: policies.policies.map { ($0.target, $0.engine.maxConcurrency) })
        var touched = Set<String>()
        var attempts = 0
        var interrupted = 0
        var timedOut = false
        var stopped = false
        var leasesLost = 0

        // Children post what happened to `inbox`; the loop takes everything posted at once, so
        // actions that finish together (their results share a commit) free their slots together
        // and are refilled with one claim.
        let inbox = Inbox()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await stop.wait()
                inbox.post(.stop)
            }
            var inFlight: [String: Int] = [:]
            /// The claims in flight, renewed every third of the lease.
            var held: [Int64: ClaimedAction.Lease] = [:]
            var renewAt = clock.now().addingTimeInterval(options.lease / 3)
            var rescueAt = renewAt
            // Manual tasks past their due time are announced (once in the deployment) at the
            // start and every minute while the run goes on.
            var announceAt = clock.now()
            // Every minute, or sooner when a webhook target's deadline is shorter.
            let announceEvery = policies.policies.compactMap { $0.webhook?.within.seconds }.reduce(60.0) { min($0, max(1, $1)) }
            // While the database is away (a restart, a lost network): no claims until then; the
            // wait doubles up to 5 s, and work resumes without a human once it answers again.
            var awayUntil = Date.distantPast
            var awayDelay = 0.2
            func away(_ why: String) {
                if awayDelay == 0.2 { logger.warning("the database is away; waiting for it", metadata: ["why": "\(why)"]) }
                awayUntil = clock.now().addingTimeInterval(awayDelay)
                awayDelay = min(awayDelay * 2, 5)
            }
            var ticking = false
            /// Once set, nothing new is claimed; in-flight work is cancelled at this time.
            var cancelAt: Date?
            var cancelled = false
            while true {
                let now = clock.now()
                if Task.isCancelled && !cancelled {
                    // The run's own task was cancelled: stop now, no grace. Children are already
                    // cancelled; their results are still recorded (the group commit is not).
                    stopped = true
                    cancelAt = now
                }
                if cancelAt == nil {
                    if stop.isRequested {
                        stopped = true
                    } else if let deadline, now >= deadline {
                        timedOut = true
                    }
                    if stopped || timedOut { cancelAt = now.addingTimeInterval(options.stopGrace) }
                }
                if cancelAt == nil, now >= awayUntil {
                    do {
                        // Every target with due work and room for more, claimed in one transaction.
                        let wanted = try database.targetsWithDueWork(now: now, among: targets).map { target in
                            (target: target, limit: (policies[target]?.engine.maxConcurrency ?? 1) - inFlight[target, default: 0])
                        }.filter { $0.limit > 0 }
                        for claimed in try await database.claim(wanted, runner: runner, now: clock.now(), lease: options.lease, caps: caps) {
                            inFlight[claimed.action.target, default: 0] += 1
                            held[claimed.action.id] = claimed.lease
                            touched.insert(claimed.requestId)
                            // On one of the transport's event loops: each SCIM answer resumes the
                            // action where it arrived, without a hop to the global pool and back.
                            group.addTask(executorPreference: drivers.preferredExecutor) {
                                // The task records its own result: results of concurrent actions
                                // share a commit (the SQLite store commits them in groups).
                                let done = await perform(claimed)
                                do {
                                    try await record(done)
                                    inbox.post(.finished(done))
                                } catch StoreError.leaseLost {
                                    inbox.post(.leaseLost(done))
                                } catch {
                                    inbox.post(.failed(error))
                                }
                            }
                        }
                        awayDelay = 0.2
                    } catch is CancellationError {
                        // Cancelled between the check above and the claim: nothing was claimed.
                        stopped = true
                        cancelAt = now
                    } catch StoreError.unavailable(let why) {
                        away(why)
                    }
                }
                let busy = inFlight.values.reduce(0, +)
                if busy == 0 && cancelAt != nil { break }
                if options.shared, cancelAt == nil, clock.now() >= rescueAt, clock.now() >= awayUntil {
                    // Another runner that stopped without a word (kill -9, a lost machine): its
                    // claims are taken back once their lease has run out, and done again here.
                    rescueAt = clock.now().addingTimeInterval(options.lease / 3)
                    do {
                        let taken = try await database.rescueExpired(now: clock.now())
                        if taken > 0 {
                            rescued += taken
                            logger.notice("took back actions whose runner stopped renewing its lease", metadata: ["count": "\(taken)"])
                        }
                    } catch StoreError.unavailable(let why) {
                        away(why)
                    }
                }
                if cancelAt == nil, clock.now() >= announceAt, clock.now() >= awayUntil {
                    announceAt = clock.now().addingTimeInterval(announceEvery)
                    do {
                        let overdue = try database.announceOverdueTasks(now: clock.now())
                        if !overdue.isEmpty {
                            logger.warning("tasks are past their due time unanswered", metadata: [
                                "count": "\(overdue.count)", "targets": "\(Set(overdue.map(\.target)).sorted().joined(separator: ","))"])
                        }
                        // A webhook target that never answered: the job is sent again later, as
                        // for a SCIM target that did not answer, until the attempts are used.
                        for action in overdue {
                            guard let policy = policies[action.target], policy.kind == .webhook, let endpoint = policy.webhook else { continue }
                            let transition = ActionStateMachine.afterAttempt(
                                .transientFailure("no answer from \(action.target) within \(endpoint.within)", retryAfter: nil),
                                attemptsUsed: action.attempts - action.budgetStart, policy: RetryPolicy(policy.engine.retry), random: random())
                            try database.expireTask(actionId: action.id, transition: transition, now: clock.now())
                        }
                    } catch StoreError.unavailable(let why) {
                        away(why)
                    }
                }
                if !held.isEmpty, clock.now() >= renewAt, clock.now() >= awayUntil {
                    renewAt = clock.now().addingTimeInterval(options.lease / 3)
                    do {
                        let lost = try await database.renew(Array(held.values), until: clock.now().addingTimeInterval(options.lease))
                        if !lost.isEmpty {
                            logger.warning("claims lost before renewal (this run paused past its lease); their results will be refused",
                                           metadata: ["count": "\(lost.count)"])
                        }
                    } catch StoreError.unavailable(let why) {
                        away(why)
                    }
                }
                if let cancelAt, !cancelled, clock.now() >= cancelAt {
                    // The grace is over: cancel what is still in flight. The stop waiter and the
                    // tick are cancelled too and post at once; the loop keeps going until every
                    // claimed action has posted its recorded result.
                    cancelled = true
                    group.cancelAll()
                }
                var open: (count: Int, nextDue: Date?, later: Int)?
                if busy == 0, clock.now() >= awayUntil {
                    do {
                        open = try database.openWork(now: clock.now())
                    } catch StoreError.unavailable(let why) {
                        away(why)
                    }
                }
                if let open, open.count == 0 && options.untilIdle { break }
                if !ticking && !cancelled {
                    ticking = true
                    var wait = options.pollInterval
                    if let next = open?.nextDue { wait = min(wait, max(0.01, next.timeIntervalSince(clock.now()))) }
                    if let deadline, cancelAt == nil { wait = min(wait, max(0.001, deadline.timeIntervalSince(clock.now()))) }
                    if let cancelAt, !cancelled { wait = min(wait, max(0.001, cancelAt.timeIntervalSince(clock.now()))) }
                    group.addTask { [clock] in
                        try? await clock.sleep(seconds: wait)
                        inbox.post(.tick)
                    }
                }
                for event in await inbox.take() {
                    switch event {
                    case .finished(let done):
                        inFlight[done.claimed.action.target, default: 1] -= 1
                        held[done.claimed.action.id] = nil
                        attempts += 1
                        if case .interrupted = done.result.result { interrupted += 1 }
                    case .leaseLost(let done):
                        inFlight[done.claimed.action.target, default: 1] -= 1
                        held[done.claimed.action.id] = nil
                        leasesLost += 1
                        logger.notice("result refused: the claim had passed to another runner; the action is carried out again from the start",
                                      metadata: ["request": "\(done.claimed.requestId)", "target": "\(done.claimed.action.target)",
                                                 "attempt": "\(done.claimed.attempt)"])
                    case .failed(let error):
                        // The database refused a result: stop the run (the action stays running
                        // and is taken up as interrupted by the next run).
                        group.cancelAll()
                        throw error
                    case .tick: ticking = false
                    case .stop:
                        if !cancelled { stopped = true }
                    }
                }
            }
            group.cancelAll()
        }
        try database.endOfRun()
        let left = try database.openWork(now: clock.now())
        var summary = Summary(requests: try database.states(of: touched), attempts: attempts, rescued: rescued, interrupted: interrupted,
                              timedOut: timedOut && left.count > 0, stopped: stopped)
        summary.awaitingApproval = try database.count(state: .awaitingApproval)
        summary.startingLater = left.later
        summary.leasesLost = leasesLost
        return summary
    }

    /// One attempt of one claimed action. Records nothing but the subject's id in the
    /// target; the loop records the result.
    func perform(_ claimed: ClaimedAction) async -> Finished {
        let started = clock.now()
        let result: ExecutionResult
        let retry: RetryPolicy
        if let policy = policies[claimed.action.target] {
            retry = RetryPolicy(policy.engine.retry)
            do {
                let driver = try drivers.driver(for: policy.target)
                // Fenced by the attempt: a claim lost to another runner writes nothing ahead either.
                let attempt = claimed.attempt
                let journal = ActionJournal(recordAccountRef: { [database] actionId, ref in
                    try await database.recordAccountRef(actionId: actionId, accountRef: ref, attempt: attempt)
                }, recordWritten: { [database] actionId, values, ref in
                    try await database.recordWritten(actionId: actionId, values: values, accountRef: ref, attempt: attempt)
                })
                result = await driver.perform(claimed, policy: policy, journal: journal)
            } catch {
                result = ExecutionResult(result: .permanentFailure(String(describing: error)), statusCode: nil)
            }
        } else {
            retry = RetryPolicy(RetrySettings())
            result = ExecutionResult(result: .permanentFailure("no policy names target \(claimed.action.target) any more"))
        }
        return Finished(claimed: claimed, result: result, retry: retry, startedAt: started, finishedAt: clock.now())
    }

    /// Records an attempt, waiting out a database that is away (restarting, unreachable) with
    /// backoff: a result Lethe has seen is never dropped. Retrying is safe: the record is fenced
    /// by the attempt, so one that did commit before its answer was lost is refused the second
    /// time (`leaseLost`), never recorded twice.
    private func recordWhileAway(_ report: AttemptReport, transition: ActionStateMachine.Transition, now: Date) async throws -> RequestState {
        var delay = 0.2
        while true {
            do {
                return try await database.record(report, transition: transition, now: now)
            } catch StoreError.unavailable(let why) {
                logger.warning("the database is away; the result is recorded once it is back", metadata: ["why": "\(why)", "retry_in_s": "\(delay)"])
                // Not cancelled with the run: the result must still be recorded.
                let wait = delay
                await Task.detached { [clock] in try? await clock.sleep(seconds: wait) }.value
                delay = min(delay * 2, 5)
            }
        }
    }

    /// Records an attempt with its transition and audit event, then logs it.
    private func record(_ done: Finished) async throws {
        let claimed = done.claimed
        let transition = ActionStateMachine.afterAttempt(done.result.result, attemptsUsed: claimed.attemptsInBudget, policy: done.retry, random: random())
        let report = AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: done.startedAt, finishedAt: done.finishedAt,
                                   result: done.result.kind, statusCode: done.result.statusCode, error: done.result.error,
                                   serverMessage: done.result.serverMessage)
        let now = clock.now()
        // Not cancelled with the run: a result Lethe has seen is recorded even while the run is
        // being cancelled (the group commit's writer is its own task).
        let state = try await recordWhileAway(report, transition: transition, now: now)
        // The line is built only when its level is logged (the default, warning, skips successes).
        let level: Logger.Level = switch transition.state {
        case .failed, .needsReview: .warning
        case .retrying, .pending: .notice
        default: .info
        }
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "request": "\(claimed.requestId)", "subject": "\(claimed.pseudonym)", "target": "\(claimed.action.target)",
            "attempt": "\(claimed.attempt)", "state": "\(transition.state.rawValue)", "request_state": "\(state.rawValue)",
            "ms": "\(Int(report.finishedAt.timeIntervalSince(report.startedAt) * 1000))",
        ]
        if let outcome = transition.outcome { metadata["outcome"] = "\(outcome.rawValue)" }
        if let retryIn = transition.retryIn, transition.state == .retrying { metadata["retry_in_s"] = "\(String(format: "%.1f", retryIn))" }
        if let reason = transition.reason, transition.state != .succeeded { metadata["reason"] = "\(reason)" }
        logger.log(level: level, "\(transition.event.rawValue)", metadata: metadata)
    }
}
