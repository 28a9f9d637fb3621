import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSCIM
import LetheStorage

/// `lethe run`
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Carry out filed requests: find each subject, act, verify, retry, record.",
        discussion: """
            Examples:
              lethe run --until-idle                  finish what is filed, then exit (cron)
              lethe run --until-idle --timeout 10m    the same, giving up waiting after 10 minutes
              lethe run                               keep working until SIGINT or SIGTERM

            Each target runs within its max_concurrency and rate_limit; a slow or broken \
            target never holds up the others. Transient failures are retried with backoff \
            (Retry-After honoured); permanent ones and unverified writes end `failed`; \
            ambiguous matches end `needs_review` with nothing written. Actions left running \
            by a killed process are taken up again first. On SQLite only one `lethe run` works \
            on a state directory at a time. On PostgreSQL (--database) any number of runs, on \
            any machines, share the work: each claim is a lease (--lease, default 60s) renewed \
            while its call is in flight; the claims of a run that dies are taken over by the \
            others once their lease has run out, and carried out again from the start (find, \
            act, verify), as after a crash.

            SIGINT and SIGTERM stop it gracefully: nothing new is started, actions in flight \
            get a second to finish and are otherwise cancelled and recorded as interrupted (taken \
            up again by the next run), then it exits 0. --timeout ends the run the same way.

            Exit status (--until-idle): 0 every request it touched completed; 1 some ended \
            failed or needs_review; 75 the timeout left work unfinished, or another run holds \
            the lock.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("until-idle"), help: "Return when nothing is pending, running or retrying.")
    var untilIdle = false

    @Option(help: ArgumentHelp("Stop after this long (e.g. 90s, 10m): nothing new is started, in-flight actions are recorded.", valueName: "duration"))
    var timeout: String?

    @Option(help: ArgumentHelp("How long a claim is this run's own without renewal (default 60s); renewed every third of it. "
        + "Shorter: a dead worker's actions are taken over sooner; longer: a paused worker keeps them.", valueName: "duration"))
    var lease: String?

    @Flag(help: "Print a JSON summary.")
    var json = false

    func validate() throws {
        if let lease {
            guard let span = TimeSpan(parsing: lease), span.seconds >= 1 else {
                throw ValidationError("--lease '\(lease)' is not a duration of at least 1s; write e.g. 30s or 2m")
            }
        }
        if let timeout {
            guard let span = TimeSpan(parsing: timeout), span.milliseconds > 0 else {
                throw ValidationError("--timeout '\(timeout)' is not a duration; write e.g. 90s or 10m")
            }
        }
    }

    func run() async throws {
        let summary = try await AppContext.with(global) { context in
            try await Self.work(context: context, untilIdle: untilIdle, timeout: timeout.flatMap(TimeSpan.init(parsing:))?.seconds,
                                lease: lease.flatMap(TimeSpan.init(parsing:))?.seconds)
        }
        try Self.report(summary, json: json)
        let code = Self.exitStatus(of: summary, untilIdle: untilIdle)
        if code != .success { throw code }
    }

    /// Runs the engine as a service (SIGINT/SIGTERM shut it down gracefully), holding the run lock.
    /// Also used by `sweep --run`.
    static func work(context: AppContext, untilIdle: Bool, timeout: Double?, lease: Double? = nil) async throws -> Engine.Summary {
        do {
            var options = Engine.Options(untilIdle: untilIdle, timeout: timeout)
            if let lease { options.lease = lease }
            return try await context.runtime.runEngine(options)
        } catch let error as RuntimeError {
            if case .runLockHeld = error { throw ExitStatus.report(error, command: "lethe run") }
            throw error
        }
    }

    /// 0 every touched request completed (or the run was stopped by a signal); 1 some failed
    /// or need review; 75 the timeout left work.
    static func exitStatus(of summary: Engine.Summary, untilIdle: Bool) -> ExitCode {
        if summary.timedOut { return ExitStatus.tempFail }
        if summary.stopped { return .success }
        if untilIdle && summary.hasUnresolved { return ExitStatus.failure }
        return .success
    }

    static func report(_ summary: Engine.Summary, json: Bool) throws {
        let byState = Dictionary(grouping: summary.requests.values, by: \.rawValue).mapValues(\.count)
        if json {
            try Output.json(RunJSON(requests: summary.requests.count, byState: byState, attempts: summary.attempts,
                                    rescued: summary.rescued, interrupted: summary.interrupted, timedOut: summary.timedOut,
                                    stopped: summary.stopped, awaitingApproval: summary.awaitingApproval,
                                    startingLater: summary.startingLater))
            return
        }
        if summary.rescued > 0 { Output.line("took up \(summary.rescued) action\(summary.rescued == 1 ? "" : "s") left running by a stopped run") }
        if summary.requests.isEmpty {
            Output.line("nothing to do")
        } else {
            let states = byState.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            Output.line("\(summary.requests.count) request\(summary.requests.count == 1 ? "" : "s") worked on (\(summary.attempts) attempts): \(states)")
        }
        for (id, state) in summary.requests.sorted(by: { $0.key < $1.key }) where state == .failed || state == .needsReview {
            Output.line("  \(id) \(state.rawValue): see `lethe status \(id)`")
        }
        if summary.interrupted > 0 { Output.line("\(summary.interrupted) attempt\(summary.interrupted == 1 ? "" : "s") interrupted; taken up again next run") }
        if summary.timedOut { Output.line("timeout: work is still pending or retrying; run again later") }
        if summary.stopped { Output.line("stopped by signal after recording in-flight actions") }
        if summary.awaitingApproval > 0 {
            Output.line("\(summary.awaitingApproval) request\(summary.awaitingApproval == 1 ? " waits" : "s wait") for approval (`lethe status --state awaiting_approval`; `lethe approve ID --by NAME`)")
        }
        if summary.startingLater > 0 {
            Output.line("\(summary.startingLater) action\(summary.startingLater == 1 ? "" : "s") wait for the grace period to end; a later run takes them up")
        }
    }
}

private struct RunJSON: Encodable {
    var requests: Int
    var byState: [String: Int]
    var attempts: Int
    var rescued: Int
    var interrupted: Int
    var timedOut: Bool
    var stopped: Bool
    var awaitingApproval: Int
    var startingLater: Int

    enum CodingKeys: String, CodingKey {
        case requests, attempts, rescued, interrupted, stopped
        case byState = "by_state"
        case timedOut = "timed_out"
        case awaitingApproval = "awaiting_approval"
        case startingLater = "starting_later"
    }
}
