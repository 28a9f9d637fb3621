import ArgumentParser
import Foundation
import Logging

/// The `lethe` command: GDPR erasure and consent withdrawal across connected SCIM systems.
@main
struct Lethe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lethe",
        abstract: "Erase a person everywhere their data was shared, prove it, and never touch the wrong person.",
        discussion: """
            Lethe reads one policy per connected system (policies/*.yaml: what is shared there, \
            for which purpose, on which lawful basis) and turns GDPR erasure requests (Art. 17) \
            and consent withdrawals (Art. 7(3)) into verified SCIM 2.0 changes in every system.

            Try it:    lethe demo
            Then:
              lethe policy check                 validate the policies
              lethe plan --erase --email E       what an erasure would do (changes nothing)
              lethe init                         create the state directory
              lethe erase --email E --ref T      file a request
              lethe run --until-idle             carry it out, verified
              lethe status T                     per system: outcome, verified, attempts
              lethe report export                a signed report for your regulator

            Every command takes --policies DIR (env LETHE_POLICIES, default policies) and \
            --state-dir DIR (env LETHE_STATE_DIR, default .lethe).
            """,
        version: LetheVersion.current,
        subcommands: [
            InitCommand.self, PolicyCommand.self, PlanCommand.self, EraseCommand.self, RevokeCommand.self, RunCommand.self,
            StatusCommand.self, ApproveCommand.self, ConfirmCommand.self, TasksCommand.self, RejectCommand.self, RetryCommand.self, CancelCommand.self, ExtendCommand.self, AuditCommand.self, ReportCommand.self,
            KeysCommand.self, SweepCommand.self, TargetCommand.self, SandboxCommand.self, DemoCommand.self, ServeCommand.self, TokenCommand.self,
            DatabaseCommand.self,
        ]
    )
}

extension Lethe {
    /// Log lines go to standard error; LETHE_LOG_LEVEL (trace … critical, default warning)
    /// chooses how many. `lethe run` logs every transition at info, with pseudonyms only.
    static func main() async {
        let level = ProcessInfo.processInfo.environment["LETHE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        // Swift would quietly replace invalid UTF-8 in arguments with U+FFFD: an e-mail address
        // changed that way is somebody else's. Refuse it, naming the argument.
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil else { continue }
            FileHandle.standardError.write(Data("lethe: argument \(index) is not valid UTF-8; nothing was done\n".utf8))
            exit(withError: ExitStatus.usage)
        }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as ValidationError {
            exit(withError: error)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // `lethe --help` and `lethe help X` run ArgumentParser's help command, which throws
            // its (internal) help request: ArgumentParser prints the help and exits 0.
            exit(withError: error)
        } catch {
            // Library errors are data; this is where they become a sentence and a status.
            exit(withError: ExitStatus.report(error))
        }
    }
}

enum LetheVersion {
    static let current = "0.1.0"
}
