import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStore

/// What most commands need: the policies, the state directory and its database.
struct AppContext {
    let policies: PolicySet
    let state: StateDirectory
    let database: AppDatabase
    let pseudonymizer: Pseudonymizer

    /// Loads everything, or prints a clear error and exits (65 bad policies, 66 no state).
    static func open(_ global: some Locations, needsPolicies: Bool = true) throws -> AppContext {
        let policies = needsPolicies ? try loadPolicies(global) : PolicySet(policies: [])
        let state = StateDirectory(path: global.stateDirectory)
        do {
            return AppContext(policies: policies, state: state, database: try state.openDatabase(), pseudonymizer: try state.pseudonymizer())
        } catch {
            throw CLIError.report(error)
        }
    }

    /// A request by id or reference, or exit 66.
    func request(_ idOrRef: String) throws -> StoredRequest {
        guard let request = try database.request(idOrRef) else {
            Output.error("lethe: no request with id or reference '\(idOrRef)' (lethe status lists them)")
            throw ExitCode(66)
        }
        return request
    }
}

/// Maps library errors to a message and an exit status at the CLI edge.
enum CLIError {
    static func report(_ error: any Error) -> ExitCode {
        switch error {
        case let exit as ExitCode:
            return exit
        case let problem as StateDirectory.Problem:
            Output.error("lethe: \(problem)")
            if case .notLethes = problem { return ExitCode(73) }
            return ExitCode(66)
        case let refusal as Intake.Refusal:
            Output.error("lethe: \(refusal); nothing was stored")
            return refusal.isUsage ? ExitStatus.usage : ExitStatus.dataError
        case let report as ReportError:
            Output.error("lethe: \(report)")
            return ExitCode.failure
        case let store as StoreError:
            Output.error("lethe: \(store)")
            if case .notFound = store { return ExitCode(66) }
            return ExitStatus.dataError
        default:
            Output.error("lethe: \(error)")
            return ExitCode.failure
        }
    }
}

extension CalendarDate {
    /// Today in UTC.
    static var today: CalendarDate { CalendarDate(secondsSince1970: Date().timeIntervalSince1970) }
}
