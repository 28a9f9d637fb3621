import Foundation
import LetheCore
import LetheEngine
import LetheSCIM

/// The result of `lethe target check` for one target: what the target advertises, and what
/// harmless probes showed it really does. Real servers misreport their capabilities, so a
/// target is NOT USABLE only when what Lethe needs does not work, never for what it says.
public struct TargetCheck: Sendable, Codable, Hashable {
    public var target: String
    public var baseURL: String
    public var reachable: Bool
    public var usable: Bool
    /// What `/ServiceProviderConfig` says (nil when the target does not publish it).
    public var capabilities: ServiceProviderCapabilities?
    /// True when a filter for a userName nobody has returned a well-formed empty list.
    public var filterQueryWorks: Bool
    /// True when a filter for an externalId nobody has returned a well-formed empty list.
    public var externalIdFilterWorks: Bool
    /// How Lethe will change attributes here: `patch`, or `put` (by policy, or because the target
    /// advertises no PATCH; with `auto`, a 501 or 405 to PATCH also switches to PUT during a run).
    public var updates: String
    /// What keeps the target from being used.
    public var problems: [String]
    /// Where the configuration and the probes disagree, and other things worth knowing.
    public var warnings: [String]
    public var milliseconds: Int

    enum CodingKeys: String, CodingKey {
        case target, reachable, usable, capabilities, problems, warnings, milliseconds, updates
        case baseURL = "base_url"
        case filterQueryWorks = "filter_query_works"
        case externalIdFilterWorks = "external_id_filter_works"
    }

    /// Connects, authenticates, reads `/ServiceProviderConfig`, and probes filtering with values
    /// nobody can have (the answers must be well-formed empty lists). Writes nothing.
    public static func run(_ policy: TargetPolicy, clients: TargetClients) async -> TargetCheck {
        let started = Date()
        var check = await probe(policy, clients: clients)
        check.milliseconds = Int(Date().timeIntervalSince(started) * 1000)
        return check
    }

    private static func probe(_ policy: TargetPolicy, clients: TargetClients) async -> TargetCheck {
        var check = TargetCheck(target: policy.target, baseURL: policy.scim.baseURL, reachable: false, usable: false,
                                capabilities: nil, filterQueryWorks: false, externalIdFilterWorks: false,
                                updates: policy.scim.update == .put ? "put" : "patch", problems: [], warnings: [], milliseconds: 0)
        if policy.kind == .manual, let task = policy.manual {
            // Nothing to connect to: what there is to check is who can carry it out and confirm.
            check.baseURL = ""
            check.reachable = true
            check.usable = true
            check.updates = "by hand"
            check.warnings.append("kind manual: nothing to connect to; a person carries each action out (\(task.instructions)) and confirms it "
                + "within \(task.within) with `lethe confirm`, or through the API with a token of role \(task.confirmRole.rawValue)"
                + (task.confirmRole == .officer ? " or admin" : ""))
            return check
        }
        if policy.kind == .webhook, let endpoint = policy.webhook {
            check.baseURL = WebhookSignature.redacted(endpoint.url)
            check.updates = "by the system"
            if case .failure(let why)? = clients.webhooks[policy.target] {
                check.problems.append(why.description)
            } else {
                check.usable = true
                check.warnings.append("kind webhook: not probed (no test job is sent yet); jobs go to \(check.baseURL), signed with \(endpoint.secretEnv), "
                    + "answered within \(endpoint.within)")
            }
            return check
        }
        let client: SCIMClient
        do {
            client = try clients.client(for: policy.target)
        } catch {
            check.problems.append(error.description)
            return check
        }
        do {
            check.capabilities = try await client.serviceProviderConfig()
            check.reachable = true
        } catch where error.kind == .http && [404, 501].contains(error.status) {
            check.reachable = true
            check.warnings.append("no /ServiceProviderConfig (\(error.status ?? 0)): capabilities are known only from the probes")
        } catch {
            if case .http = error.kind { check.reachable = true }
            check.problems.append(error.description)
            return check
        }
        let probe = "lethe-target-check-\(UUID().uuidString.lowercased())"
        check.filterQueryWorks = await probeFilter(client, .userName, probe, into: &check)
        check.externalIdFilterWorks = await probeFilter(client, .externalId, probe, into: &check)
        if let caps = check.capabilities {
            if !caps.filter && check.filterQueryWorks {
                check.warnings.append("advertises filter unsupported, but filtering works (probed): Lethe relies on the probe")
            }
            if caps.filter && !check.filterQueryWorks {
                check.warnings.append("advertises filter supported, but the probe failed")
            }
            if !caps.patch {
                switch policy.scim.update {
                case .patch:
                    check.problems.append("advertises PATCH unsupported, and connection.update is patch: "
                        + "anonymization and group removal cannot work; set connection.update to auto or put")
                case .put, .auto:
                    check.updates = "put"
                    check.warnings.append("advertises PATCH unsupported: changes will be made with PUT (read, change, replace)")
                }
            } else if policy.scim.update == .auto {
                check.updates = "patch"
            }
        }
        check.usable = check.reachable && check.filterQueryWorks && check.problems.isEmpty
        return check
    }

    /// One filter probe for a value nobody has: true when the answer is a well-formed empty list.
    private static func probeFilter(_ client: SCIMClient, _ attribute: MatchAttribute, _ value: String,
                                    into check: inout TargetCheck) async -> Bool {
        do {
            switch try await client.resolve(attribute, value) {
            case .absent: return true
            case .found, .ambiguous:
                check.problems.append("a filter for an \(attribute.rawValue) nobody has returned users: the target ignores filters")
            }
        } catch {
            check.problems.append("filter on \(attribute.rawValue): \(error.description)")
        }
        return false
    }
}
