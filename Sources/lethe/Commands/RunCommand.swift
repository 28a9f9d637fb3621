import ArgumentParser
import Dispatch
import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheSCIM
import LetheStore
import Synchronization

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
            by a killed process are taken up again first. Only one `lethe run` works on a \
            state directory at a time.

            Exit status (--until-idle): 0 every request it touched completed; 1 some ended \
            failed or needs_review; 75 the timeout left work unfinished, or another run holds \
            the lock. Without --until-idle, SIGINT/SIGTERM stop it after in-flight actions are \
            recorded, with status 0.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("until-idle"), help: "Return when nothing is pending, running or retrying.")
    var untilIdle = false

    @Option(help: ArgumentHelp("With --until-idle: stop waiting after this long (e.g. 90s, 10m).", valueName: "duration"))
    var timeout: String?

    @Flag(help: "Print a JSON summary.")
    var json = false

    func validate() throws {
        if let timeout {
            guard let span = TimeSpan(parsing: timeout), span.milliseconds > 0 else {
                throw ValidationError("--timeout '\(timeout)' is not a duration; write e.g. 90s or 10m")
            }
            guard untilIdle else { throw ValidationError("--timeout applies to --until-idle") }
        }
    }

    func run() async throws {
        let context = try AppContext.open(global)
        if untilIdle {
            let code = try await Self.untilIdle(context: context, timeout: timeout.flatMap(TimeSpan.init(parsing:)).map(\.seconds), json: json, quiet: false)
            if code != 0 { throw ExitCode(code) }
            return
        }
        try await Self.work(context: context, untilIdle: false, timeout: nil, json: json, quiet: false)
    }

    /// `run --until-idle`, also used by `sweep --run`. Returns the exit status.
    static func untilIdle(context: AppContext, timeout: Double?, json: Bool, quiet: Bool) async throws -> Int32 {
        try await work(context: context, untilIdle: true, timeout: timeout, json: json, quiet: quiet)
    }

    @discardableResult
    static func work(context: AppContext, untilIdle: Bool, timeout: Double?, json: Bool, quiet: Bool) async throws -> Int32 {
        guard let lock = try context.state.lock("run.lock") else {
            let holder = FileLock.holder(of: context.state.file("run.lock")).map { " (pid \($0))" } ?? ""
            Output.error("lethe run: another `lethe run`\(holder) is working on \(context.state.path); try again when it ends")
            throw ExitStatus.tempFail
        }
        let signals = StopSignal.install()
        let transport = AsyncHTTPClientTransport()
        let clients = TargetClients(policies: context.policies, environment: ProcessInfo.processInfo.environment, transport: transport)
        let engine = Engine(database: context.database, policies: context.policies, clients: clients, pseudonymizer: context.pseudonymizer)
        let summary: Engine.Summary
        do {
            summary = try await engine.run(Engine.Options(untilIdle: untilIdle, timeout: timeout, shouldStop: { StopSignal.requested }))
        } catch {
            await transport.shutdown()
            throw CLIError.report(error)
        }
        await transport.shutdown()
        withExtendedLifetime((lock, signals)) {}
        if !quiet { try report(summary, json: json) }
        return untilIdle ? summary.exitCode : 0
    }

    private static func report(_ summary: Engine.Summary, json: Bool) throws {
        let byState = Dictionary(grouping: summary.requests.values, by: \.rawValue).mapValues(\.count)
        if json {
            try Output.json(RunJSON(requests: summary.requests.count, byState: byState, attempts: summary.attempts,
                                    rescued: summary.rescued, timedOut: summary.timedOut, stopped: summary.stopped,
                                    exitCode: summary.exitCode))
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
        if summary.timedOut { Output.line("timeout: work is still pending or retrying; run again later") }
        if summary.stopped { Output.line("stopped by signal after recording in-flight actions") }
    }
}

private struct RunJSON: Encodable {
    var requests: Int
    var byState: [String: Int]
    var attempts: Int
    var rescued: Int
    var timedOut: Bool
    var stopped: Bool
    var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case requests, attempts, rescued, stopped
        case byState = "by_state"
        case timedOut = "timed_out"
        case exitCode = "exit_code"
    }
}

/// Turns SIGINT and SIGTERM into a flag the engine reads between steps.
enum StopSignal {
    static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Installs the handlers; keep the returned sources alive while they should work.
    static func install() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { StopSignal.flag.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
    }
}
