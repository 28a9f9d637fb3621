import Foundation
import LetheCore
import Logging
import LetheSCIM
import LetheStore

/// Claims due actions and carries them out, each target within its own concurrency, so
/// one slow or broken target never holds up the others. Every attempt and transition is
/// committed before the next side effect.
public struct Engine: Sendable {
    let database: AppDatabase
    let policies: PolicySet
    let clients: TargetClients
    let pseudonymizer: Pseudonymizer
    let clock: any LetheClock
    /// A value in [0, 1) for backoff jitter.
    let random: @Sendable () -> Double
    let runner: String
    /// One line per transition, with the pseudonym, never an identifier.
    let logger: Logger

    public init(database: AppDatabase, policies: PolicySet, clients: TargetClients, pseudonymizer: Pseudonymizer,
                clock: any LetheClock = SystemClock(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                runner: String = "pid-\(ProcessInfo.processInfo.processIdentifier)", logger: Logger = Logger(label: "lethe.engine")) {
        self.logger = logger
        self.database = database
        self.policies = policies
        self.clients = clients
        self.pseudonymizer = pseudonymizer
        self.clock = clock
        self.random = random
        self.runner = runner
    }

    /// How a run ends.
    public struct Options: Sendable {
        /// Return once nothing is pending, running or retrying.
        public var untilIdle: Bool
        /// Give up waiting after this many seconds (only with `untilIdle`).
        public var timeout: Double?
        /// How often to look for newly due work while waiting.
        public var pollInterval: Double
        /// Asked between steps; true stops claiming, lets in-flight actions finish and returns.
        public var shouldStop: @Sendable () -> Bool

        public init(untilIdle: Bool, timeout: Double? = nil, pollInterval: Double = 0.5, shouldStop: @escaping @Sendable () -> Bool = { false }) {
            self.untilIdle = untilIdle
            self.timeout = timeout
            self.pollInterval = pollInterval
            self.shouldStop = shouldStop
        }
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Requests this run worked on, with their state at the end.
        public var requests: [String: RequestState]
        public var attempts: Int
        public var rescued: Int
        public var timedOut: Bool
        public var stopped: Bool

        /// 0 every touched request completed; 1 some failed or need review; 75 the timeout left work.
        public var exitCode: Int32 {
            if timedOut { return 75 }
            if requests.values.contains(where: { $0 == .failed || $0 == .needsReview }) { return 1 }
            return 0
        }
    }

    private enum Event: Sendable {
        case finished(target: String)
        case tick
    }

    /// Runs until idle, timed out or stopped (or, without `untilIdle`, until stopped).
    public func run(_ options: Options) async throws -> Summary {
        let started = clock.now()
        let rescued = try database.rescueRunning(now: started)
        if rescued > 0 { logger.notice("took up actions left running by a stopped run", metadata: ["count": "\(rescued)"]) }
        let deadline = options.timeout.map { started.addingTimeInterval($0) }
        var touched = Set<String>()
        var attempts = 0
        var timedOut = false
        var stopped = false

        try await withThrowingTaskGroup(of: Event.self) { group in
            var inFlight: [String: Int] = [:]
            var ticking = false
            while true {
                if options.shouldStop() { stopped = true }
                if let deadline, options.untilIdle, clock.now() >= deadline { timedOut = true }
                if !stopped && !timedOut {
                    for target in try database.targetsWithDueWork(now: clock.now()) {
                        let limit = (policies[target]?.connection.maxConcurrency ?? 1) - inFlight[target, default: 0]
                        for claimed in try database.claim(target: target, limit: limit, runner: runner, now: clock.now()) {
                            inFlight[target, default: 0] += 1
                            touched.insert(claimed.requestId)
                            group.addTask {
                                try await perform(claimed)
                                return .finished(target: target)
                            }
                        }
                    }
                }
                let busy = inFlight.values.reduce(0, +)
                if busy == 0 {
                    if stopped || timedOut { break }
                    let open = try database.openWork()
                    if open.count == 0 && options.untilIdle { break }
                    // Sleep until the next retry is due, a poll interval at most.
                    var wait = options.pollInterval
                    if let next = open.nextDue { wait = min(wait, max(0.01, next.timeIntervalSince(clock.now()))) }
                    if let deadline, options.untilIdle { wait = min(wait, max(0, deadline.timeIntervalSince(clock.now()))) }
                    await clock.sleep(seconds: wait)
                    continue
                }
                if !ticking {
                    ticking = true
                    let interval = options.pollInterval
                    group.addTask { [clock] in
                        await clock.sleep(seconds: interval)
                        return .tick
                    }
                }
                switch try await group.next() {
                case .finished(let target)?:
                    inFlight[target, default: 1] -= 1
                    attempts += 1
                case .tick?: ticking = false
                case nil: break
                }
            }
            group.cancelAll()
        }
        try database.checkpoint()
        return Summary(requests: try database.states(of: touched), attempts: attempts, rescued: rescued,
                       timedOut: try timedOut && database.openWork().count > 0,
                       stopped: stopped)
    }

    /// One attempt of one claimed action, recorded with its transition.
    func perform(_ claimed: ClaimedAction) async throws {
        let started = clock.now()
        let result: ExecutionResult
        let retry: RetryPolicy
        if let policy = policies[claimed.action.target] {
            retry = RetryPolicy(policy.connection.retry)
            do {
                let client = try clients.client(for: policy.target)
                let executor = ActionExecutor(client: client, pseudonymizer: pseudonymizer) { [database] actionId, scimId in
                    try database.recordResolvedId(actionId: actionId, scimId: scimId)
                }
                result = await executor.execute(claimed, policy: policy)
            } catch {
                result = ExecutionResult(result: .permanentFailure(String(describing: error)), statusCode: nil)
            }
        } else {
            retry = RetryPolicy(RetrySettings())
            result = ExecutionResult(result: .permanentFailure("no policy names target \(claimed.action.target) any more"))
        }
        let transition = ActionStateMachine.afterAttempt(result.result, attemptsUsed: claimed.attemptsInBudget, policy: retry, random: random())
        let report = AttemptReport(actionId: claimed.action.id, number: claimed.attempt, startedAt: started, finishedAt: clock.now(),
                                   result: result.label, statusCode: result.statusCode, error: result.error)
        let state = try database.record(report, transition: transition, now: clock.now())
        var metadata: Logger.Metadata = [
            "request": "\(claimed.requestId)", "subject": "\(claimed.pseudonym)", "target": "\(claimed.action.target)",
            "attempt": "\(claimed.attempt)", "state": "\(transition.state.rawValue)", "request_state": "\(state.rawValue)",
            "ms": "\(Int(report.finishedAt.timeIntervalSince(report.startedAt) * 1000))",
        ]
        if let outcome = transition.outcome { metadata["outcome"] = "\(outcome.rawValue)" }
        if let retryIn = transition.retryIn, transition.state == .retrying { metadata["retry_in_s"] = "\(String(format: "%.1f", retryIn))" }
        if let reason = transition.reason, transition.state != .succeeded { metadata["reason"] = "\(reason)" }
        switch transition.state {
        case .failed, .needsReview: logger.warning("\(transition.event)", metadata: metadata)
        case .retrying: logger.notice("\(transition.event)", metadata: metadata)
        default: logger.info("\(transition.event)", metadata: metadata)
        }
    }
}
