import Foundation
import LetheCore
import LetheEngine
import LetheSCIM

/// The result of `lethe target check` for one target.
public struct TargetCheck: Sendable, Codable, Hashable {
    public var target: String
    public var baseURL: String
    public var reachable: Bool
    public var usable: Bool
    public var capabilities: ServiceProviderCapabilities?
    /// True when a filter for a name nobody has returned nobody.
    public var filterQueryWorks: Bool
    public var problems: [String]
    public var milliseconds: Int

    enum CodingKeys: String, CodingKey {
        case target, reachable, usable, capabilities, problems, milliseconds
        case baseURL = "base_url"
        case filterQueryWorks = "filter_query_works"
    }

    /// Connects, authenticates, reads `/ServiceProviderConfig` and runs a harmless filter query.
    /// Writes nothing.
    public static func run(_ policy: TargetPolicy, clients: TargetClients) async -> TargetCheck {
        let started = Date()
        var check = TargetCheck(target: policy.target, baseURL: policy.connection.baseURL, reachable: false, usable: false,
                                capabilities: nil, filterQueryWorks: false, problems: [], milliseconds: 0)
        do {
            let client = try clients.client(for: policy.target)
            let capabilities = try await client.serviceProviderConfig()
            check.reachable = true
            check.capabilities = capabilities
            if !capabilities.patch { check.problems.append("PATCH is not supported: anonymization and group removal cannot work") }
            if !capabilities.filter { check.problems.append("filtering is not supported: subjects cannot be found") }
            let probe = "lethe-target-check-\(UUID().uuidString.lowercased())"
            switch try await client.resolve(.userName, probe) {
            case .absent: check.filterQueryWorks = true
            case .found, .ambiguous: check.problems.append("a filter for a userName nobody has returned users")
            }
        } catch {
            if case .http = error.kind { check.reachable = true }
            check.problems.append(error.description)
        }
        check.usable = check.reachable && check.filterQueryWorks && check.problems.isEmpty
        check.milliseconds = Int(Date().timeIntervalSince(started) * 1000)
        return check
    }
}
