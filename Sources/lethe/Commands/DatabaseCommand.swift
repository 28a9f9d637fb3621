import ArgumentParser
import Foundation
import LetheApp

/// `lethe db`
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Move a deployment's database.",
        subcommands: [DatabaseCopyCommand.self]
    )
}

/// `lethe db copy`
struct DatabaseCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite state directory's whole history into an empty PostgreSQL database.",
        discussion: """
            Every request, action, attempt, audit event, token, webhook cursor and sweep record \
            is copied as it is, in one transaction: the audit chain's hashes do not change, so \
            `lethe audit verify` and every report signed before verify against the copy. The \
            identifiers of open requests stay sealed under the same identifiers.key. The copy \
            is checked (the chain walked, its head compared) before this exits 0.

            Stop every `lethe run` and `lethe serve` of the directory first. Then give every \
            worker the directory's key files and the database URL (see the README, "Running \
            on PostgreSQL with several workers").

            Example:
              lethe db copy --state-dir /srv/lethe/state --to 'postgres://lethe@db:5432/lethe?sslmode=require'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The empty PostgreSQL database to copy into (postgres://user@host:port/db?sslmode=...; password: PGPASSWORD).",
                               valueName: "url"))
    var to: String

    func validate() throws {
        if global.databaseURL != nil {
            throw ValidationError("db copy reads the SQLite database of --state-dir; do not also give --database or LETHE_DATABASE_URL")
        }
    }

    func run() throws {
        let state = global.state
        guard state.isInitialized else { throw ExitStatus.report(StateDirectory.Problem.notInitialized(state.path), command: "lethe db copy") }
        // Nothing else may write while the history is copied: the run lock says no run is working.
        guard let lock = try state.lock("run.lock") else {
            Output.error("lethe db copy: a `lethe run` or `lethe serve` is working on \(state.path); stop it first; nothing was copied")
            throw ExitStatus.tempFail
        }
        do {
            let result = try DatabaseCopy.run(from: state, to: to)
            let counts = result.rows.sorted { $0.key < $1.key }.filter { $0.value > 0 }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            Output.line("copied \(counts)")
            Output.line("audit chain verified in the copy: \(result.chain.events) events, head \(result.chain.headHash)")
        } catch {
            throw ExitStatus.report(error, command: "lethe db copy")
        }
        withExtendedLifetime(lock) {}
    }
}
