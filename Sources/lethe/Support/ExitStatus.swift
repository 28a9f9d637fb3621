import ArgumentParser
import LetheApp
import LethePostgres
import LetheCore
import LetheReports
import LetheSCIM
import LetheStorage

/// Exit statuses, after sysexits(3) where one fits.
enum ExitStatus {
    /// The work was done and something in it failed (a request failed, a chain is broken).
    static let failure = ExitCode.failure
    /// The command was used wrongly (64).
    static let usage = ExitCode(64)
    /// The input (policies, request, ledger) is invalid (65).
    static let dataError = ExitCode(65)
    /// No state directory, no such request (66).
    static let noInput = ExitCode(66)
    /// A target or service could not be reached (69).
    static let unavailable = ExitCode(69)
    /// `init` refused or could not create a directory or file (73).
    static let cantCreate = ExitCode(73)
    /// Try again later: the timeout left work, another process holds the lock (75).
    static let tempFail = ExitCode(75)
    /// The state directory is not private (77).
    static let noPermission = ExitCode(77)

    /// The one place where an error becomes a sentence and an exit status. Library errors
    /// carry cases and fields; only here do they mention flags and commands.
    static func of(_ error: any Error) -> (message: String?, code: ExitCode) {
        switch error {
        case let exit as ExitCode:
            return (nil, exit)
        case let problem as StateDirectory.Problem:
            switch problem {
            case .notInitialized(let path):
                return ("no Lethe state in '\(path)'; run `lethe init` first (or pass --state-dir DIR)", noInput)
            case .notLethes(let path):
                return ("'\(path)' exists and is not a Lethe state directory; Lethe will not touch it. Choose another --state-dir", cantCreate)
            case .io(let detail):
                return (detail, noInput)
            case .notPrivate(let path, _):
                return ("\(problem); make it private with `chmod 700 \(path)` (Lethe creates it so)", noPermission)
            case .lost, .missingSharedKey:
                return ("\(problem)", noInput)
            case .keyMismatch:
                return ("\(problem)", dataError)
            }
        case let refusal as Intake.Refusal:
            switch refusal {
            case .invalidReference: return ("--ref must be 1 to 200 bytes; nothing was stored", usage)
            case .controlCharacter(let field):
                return ("\(flag(field)) contains a control character (a line break, tab or escape); nothing was stored", usage)
            case .tooLong(let field, let limit):
                return ("\(flag(field)) is longer than \(limit) bytes; nothing was stored", usage)
            case .unplannable(.noIdentifier):
                return ("the request names no identifier of the subject; give --email, --external-id or --user-name; nothing was stored", usage)
            case .unplannable(.noPurpose): return ("a revocation needs at least one purpose (--purpose NAME); nothing was stored", usage)
            case .notTheSubject, .conflictingIdentifier: return ("\(refusal)", dataError)
            case .filerRequired: return ("\(refusal): pass --requested-by NAME; nothing was stored", usage)
            default: return ("\(refusal); nothing was stored", usage)
            }
        case let text as FreeText.Problem:
            return ("\(text); nothing was changed", usage)
        case let runtime as RuntimeError:
            switch runtime {
            case .runLockHeld(let state, let holder):
                return ("another `lethe run`\(holder.map { " (pid \($0))" } ?? "") is working on \(state); try again when it ends", tempFail)
            case .noStateDirectory:
                return ("this command needs a state directory (--state-dir DIR)", noInput)
            case .shutDown, .engineDidNotFinish:
                return ("\(runtime)", failure)
            }
        case let report as ReportError:
            return ("\(report)", failure)
        case let store as StoreError:
            switch store {
            case .notFound: return ("\(store)", noInput)
            case .refConflict: return ("\(store); use a different --ref", dataError)
            case .identifiersPurged: return ("\(store): give them with --email, --external-id or --user-name", dataError)
            case .unavailable: return ("\(store); nothing was changed", unavailable)
            default: return ("\(store)", dataError)
            }
        case let copy as DatabaseCopy.Refusal:
            return ("\(copy)", dataError)
        case let location as PostgresLocation.Invalid:
            return ("\(location) (--database or LETHE_DATABASE_URL); nothing was changed", usage)
        case let sealed as IdentifierSealer.Failure:
            return ("\(sealed)", dataError)
        case let sweep as ConsentSweep.Failure:
            if case .invalid = sweep { return ("\(sweep) Fix them, or pass --skip-invalid to file the valid rows.", dataError) }
            return ("\(sweep)", dataError)
        case let scim as SCIMClientError:
            return ("\(scim)", unavailable)
        default:
            return ("\(error)", failure)
        }
    }

    /// The command-line flag of an intake field.
    private static func flag(_ field: String) -> String {
        ["ref": "--ref", "note": "--note", "requested_by": "--requested-by"][field] ?? field
    }

    /// Prints the error's sentence (prefixed with the command) and returns its exit status.
    static func report(_ error: any Error, command: String = "lethe") -> ExitCode {
        let (message, code) = of(error)
        if let message { Output.error("\(command): \(message)") }
        return code
    }
}
