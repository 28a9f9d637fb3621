import ArgumentParser
import Foundation
import LetheApp

/// Where the policies and the state directory are.
protocol Locations {
    var policies: String? { get }
    var stateDir: String? { get }
    var database: String? { get }
}

extension Locations {
    /// The policy directory: the flag, else LETHE_POLICIES, else `policies`.
    var policyDirectory: String {
        policies ?? Self.environment("LETHE_POLICIES") ?? "policies"
    }

    /// The state directory: `--state-dir`, else LETHE_STATE_DIR, else LETHE_STATE (its older
    /// name), else `.lethe`.
    var stateDirectory: String {
        stateDir ?? Self.environment("LETHE_STATE_DIR") ?? Self.environment("LETHE_STATE") ?? ".lethe"
    }

    /// The shared PostgreSQL database: `--database`, else LETHE_DATABASE_URL; nil for SQLite in
    /// the state directory.
    var databaseURL: String? {
        database ?? Self.environment("LETHE_DATABASE_URL")
    }

    /// The state directory over the database these options name.
    var state: StateDirectory { StateDirectory(path: stateDirectory, databaseURL: databaseURL) }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments, Locations {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of target policies (*.yaml). Env: LETHE_POLICIES.", valueName: "dir"))
    var policies: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "Lethe's state directory (database, keys). Env: LETHE_STATE_DIR (or LETHE_STATE, its older name).", valueName: "dir"))
    var stateDir: String?

    @Option(name: .customLong("database"), help: ArgumentHelp(
        "A PostgreSQL database shared by several workers, postgres://user@host:5432/db?sslmode=require (password: PGPASSWORD); "
            + "without it, SQLite in the state directory. The state directory then holds only the keys, the same on every worker. "
            + "Env: LETHE_DATABASE_URL.", valueName: "url"))
    var database: String?
}
