import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheEngine
import LetheStorage
#if canImport(Glibc)
import Glibc
#endif

/// `lethe sweep`
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Turn a consent ledger into withdrawals, idempotently (for cron).",
        discussion: """
            The ledger has one row per consent change: subject_email, purpose, status \
            (granted, revoked, expired), changed_at (YYYY-MM-DD or an ISO 8601 time with zone), \
            and optionally external_id, user_name, expires_at (a granted consent past it counts \
            as expired). CSV with a header row, or JSON Lines with the same field names.

            For each subject and purpose whose latest row withdraws consent, one withdrawal is \
            filed per subject with all its purposes, planned like `lethe revoke`. A withdrawal \
            already filed for the same subject, purpose and changed_at is never filed again, so \
            running the same ledger twice files nothing the second time. Purposes no policy \
            shares under consent are counted, not filed; consent granted again after a \
            withdrawal is reported, not acted on.

            A malformed row is an error naming its line and field; by default nothing is then \
            filed (exit 65). --skip-invalid files the valid rows and lists the skipped lines. \
            A second sweep while one runs exits 75 at once. Filing is transactional in batches: \
            a killed sweep leaves whole batches, and the next sweep files the rest.

            Nightly, for example:
              lethe sweep --ledger /exports/consent-$(date +%F).csv --run --timeout 30m || alert
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The consent ledger file.", valueName: "file"))
    var ledger: String

    @Option(help: ArgumentHelp("csv or jsonl (default: from the file name; csv otherwise).", valueName: "format"))
    var format: String?

    @Flag(name: .customLong("dry-run"), help: "Show what would be filed; change nothing.")
    var dryRun = false

    @Flag(name: .customLong("skip-invalid"), help: "File the valid rows even when some rows are malformed; list the skipped lines.")
    var skipInvalid = false

    @Flag(name: .customLong("run"), help: "Then carry the withdrawals out, as `lethe run --until-idle`, with its exit statuses.")
    var thenRun = false

    @Option(help: ArgumentHelp("With --run: stop waiting after this long (e.g. 30m).", valueName: "duration"))
    var timeout: String?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp(
        "Withdrawals filed per transaction (default 5000). A killed sweep keeps whole batches; the next sweep files the rest.",
        valueName: "n"))
    var batchSize = 5000

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let format, LedgerFormat(rawValue: format) == nil { throw ValidationError("--format must be csv or jsonl") }
        if dryRun && thenRun { throw ValidationError("--dry-run changes nothing, so it cannot --run") }
        if !(1...100_000).contains(batchSize) { throw ValidationError("--batch-size must be between 1 and 100000, not \(batchSize)") }
        if let timeout {
            guard TimeSpan(parsing: timeout) != nil else { throw ValidationError("--timeout '\(timeout)' is not a duration; write e.g. 30m") }
            guard thenRun else { throw ValidationError("--timeout applies to --run") }
        }
    }

    var ledgerFormat: LedgerFormat {
        if let format, let chosen = LedgerFormat(rawValue: format) { return chosen }
        return ledger.hasSuffix(".jsonl") || ledger.hasSuffix(".ndjson") ? .jsonl : .csv
    }

    func run() async throws {
        let context = try AppContext.open(global)
        guard let lock = try context.state.lock("sweep.lock") else {
            let holder = FileLock.holder(of: context.state.file("sweep.lock")).map { " (pid \($0))" } ?? ""
            Output.error("lethe sweep: another sweep\(holder) is running on \(context.state.path); exiting without filing anything")
            throw ExitStatus.tempFail
        }
        let tty = isatty(STDERR_FILENO) == 1
        let sweep = try context.runtime.sweep()
        var progress: (@Sendable (Int) -> Void)?
        if tty { progress = { rows in Output.progress("sweeping: \(rows) rows read…") } }
        let summary: ConsentSweep.Summary
        do {
            let options = ConsentSweep.Options(format: ledgerFormat, dryRun: dryRun, skipInvalid: skipInvalid, batchSize: batchSize,
                                               progress: progress)
            summary = try sweep.run(ledger: ledger, options: options)
        } catch let failure as ConsentSweep.Failure {
            if tty { FileHandle.standardError.write(Data("\r".utf8)) }
            Output.error("lethe sweep: \(ledger):\n\(ExitStatus.of(failure).message ?? "\(failure)")")
            throw ExitStatus.dataError
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        withExtendedLifetime(lock) {}
        if json {
            try Output.json(summary)
        } else {
            print(summary)
        }
        if thenRun {
            let summary: Engine.Summary
            do {
                summary = try await RunCommand.work(context: context, untilIdle: true, timeout: timeout.flatMap(TimeSpan.init(parsing:))?.seconds)
                await context.runtime.shutdown()
            } catch {
                await context.runtime.shutdown()
                throw error
            }
            if !json { try RunCommand.report(summary, json: false) }
            let code = RunCommand.exitStatus(of: summary, untilIdle: true)
            if code != .success { throw code }
        }
    }

    private func print(_ s: ConsentSweep.Summary) {
        let verb = s.dryRun ? "would file" : "filed"
        Output.line("\(s.rows) rows, \(s.subjects) subjects: \(verb) \(s.revocationsFiled) withdrawal\(s.revocationsFiled == 1 ? "" : "s") "
            + "(\(s.purposesFiled) purpose\(s.purposesFiled == 1 ? "" : "s")); \(s.alreadyFiled) already filed; \(s.regrants) consent\(s.regrants == 1 ? "" : "s") granted again (not acted on); "
            + "\(s.invalidRows) invalid row\(s.invalidRows == 1 ? "" : "s"); \(s.durationMs) ms")
        if s.awaitingApproval > 0 {
            Output.line("\(s.awaitingApproval) of them \(s.dryRun ? "would wait" : s.awaitingApproval == 1 ? "waits" : "wait") for approval (approval: all in lethe.yaml): "
                + "someone other than the sweep approves each with `lethe approve ID --by NAME`")
        }
        if !s.ignoredPurposes.isEmpty {
            Output.line("ignored (no policy shares them under consent): "
                + s.ignoredPurposes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        if !s.skippedLines.isEmpty {
            let shown = s.skippedLines.prefix(50).map(String.init).joined(separator: ", ")
            Output.line("skipped invalid lines: \(shown)\(s.skippedLines.count > 50 ? ", …" : "")")
        }
        if !s.ignoredColumns.isEmpty { Output.line("ignored unknown columns: \(s.ignoredColumns.joined(separator: ", "))") }
        if s.dryRun {
            for planned in s.sample { Output.line("  \(planned.subject): withdraw \(planned.purposes.joined(separator: ", ")) (lines \(planned.lines.map(String.init).joined(separator: ", ")))") }
            if s.revocationsFiled > s.sample.count { Output.line("  … and \(s.revocationsFiled - s.sample.count) more") }
            Output.line("dry run: nothing was changed")
        }
    }
}
