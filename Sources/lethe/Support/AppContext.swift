import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStorage

/// What most commands need: a `Runtime` over the policies and the state directory.
struct AppContext {
    let runtime: Runtime
    let storage: Runtime.Storage
    let state: StateDirectory

    var policies: PolicySet { runtime.policies }
    var database: any Store { storage.database }
    var pseudonymizer: Pseudonymizer { storage.pseudonymizer }

    /// Loads everything, or throws what `ExitStatus.of` turns into 65 (bad policies) or 66
    /// (no state). Commands that reach targets call `shutdown()` when done (or use `with`).
    static func open(_ global: some Locations, needsPolicies: Bool = true,
                     configure: (inout Runtime.Configuration) -> Void = { _ in }) throws -> AppContext {
        let policies = needsPolicies ? try loadPolicies(global) : PolicySet(policies: [])
        let state = global.state
        var configuration = Runtime.Configuration(policies: policies, state: state)
        configure(&configuration)
        let runtime = try Runtime(configuration)
        return AppContext(runtime: runtime, storage: try runtime.requireStorage(), state: state)
    }

    /// Opens the context, runs `body`, and shuts the runtime's HTTP client down on every path.
    static func with<T: Sendable>(_ global: some Locations, configure: (inout Runtime.Configuration) -> Void = { _ in },
                                  _ body: (AppContext) async throws -> T) async throws -> T {
        let context = try open(global, configure: configure)
        do {
            let result = try await body(context)
            await context.runtime.shutdown()
            return result
        } catch {
            await context.runtime.shutdown()
            throw error
        }
    }

    /// A request by id or reference, or exit 66.
    func request(_ idOrRef: String) throws -> StoredRequest {
        guard let request = try database.request(idOrRef) else {
            Output.error("lethe: no request with id or reference '\(idOrRef)' (lethe status lists them)")
            throw ExitStatus.noInput
        }
        return request
    }
}

extension AppContext {
    /// Now, by the runtime's clock (the one clock every door uses).
    var now: Date { runtime.configuration.clock.now() }
    /// Today in UTC, by the same clock.
    var today: CalendarDate { CalendarDate(secondsSince1970: now.timeIntervalSince1970) }
}
