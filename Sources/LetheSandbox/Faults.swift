import Foundation
import LetheCore

/// Misbehaviour on purpose, per target: `crm:429=0.2,crm:retry-after=1,shop:503=0.1,
/// app:latency=50ms,newsletter:drop=0.05,app:soft-delete,crm:ignore-extension-patch,shop:no-patch`.
public struct FaultSpec: Sendable, Hashable {
    public var rate429 = 0.0
    /// The ordinal of the one SCIM call (after authentication, counted per target from 1) that
    /// is answered 429: a rate limit met for certain, once, whatever the timing.
    public var call429: Int?
    public var retryAfter = 1
    public var rate503 = 0.0
    public var latencyMs = 0
    public var dropRate = 0.0
    public var softDelete = false
    public var ignoreExtensionPatch = false
    /// PATCH answers 501 (while `/ServiceProviderConfig` still says it is supported, as real
    /// servers do): updates must use PUT.
    public var noPatch = false

    public init() {}

    /// Parses the whole `--faults` value into per-target specs.
    public static func parse(_ text: String, targets: [String]) throws(SandboxConfigurationError) -> [String: FaultSpec] {
        var specs: [String: FaultSpec] = [:]
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let colon = item.firstIndex(of: ":") else {
                throw SandboxConfigurationError("fault '\(item)' must be TARGET:FAULT, e.g. crm:429=0.2")
            }
            let target = String(item[..<colon])
            guard targets.contains(target) else {
                throw SandboxConfigurationError("fault '\(item)' names target '\(target)', which the sandbox does not serve (\(targets.joined(separator: ", ")))")
            }
            let fault = item[item.index(after: colon)...]
            let parts = fault.split(separator: "=", maxSplits: 1).map(String.init)
            var spec = specs[target] ?? FaultSpec()
            func rate(_ value: String?) throws(SandboxConfigurationError) -> Double {
                guard let value, let rate = Double(value), (0...1).contains(rate) else {
                    throw SandboxConfigurationError("fault '\(item)' needs a rate from 0 to 1, e.g. \(parts[0])=0.2")
                }
                return rate
            }
            switch parts[0] {
            case "429": spec.rate429 = try rate(parts.count == 2 ? parts[1] : nil)
            case "429-at":
                guard parts.count == 2, let ordinal = Int(parts[1]), ordinal >= 1 else {
                    throw SandboxConfigurationError("fault '\(item)' needs the call's ordinal, e.g. 429-at=2")
                }
                spec.call429 = ordinal
            case "503": spec.rate503 = try rate(parts.count == 2 ? parts[1] : nil)
            case "drop": spec.dropRate = try rate(parts.count == 2 ? parts[1] : nil)
            case "retry-after":
                guard parts.count == 2, let seconds = Int(parts[1]), seconds >= 0 else {
                    throw SandboxConfigurationError("fault '\(item)' needs whole seconds, e.g. retry-after=1")
                }
                spec.retryAfter = seconds
            case "latency":
                guard parts.count == 2, let span = TimeSpan(parsing: parts[1]) else {
                    throw SandboxConfigurationError("fault '\(item)' needs a duration, e.g. latency=50ms")
                }
                spec.latencyMs = Int(span.milliseconds)
            case "soft-delete": spec.softDelete = true
            case "ignore-extension-patch": spec.ignoreExtensionPatch = true
            case "no-patch": spec.noPatch = true
            default:
                throw SandboxConfigurationError(
                    "unknown fault '\(parts[0])' in '\(item)'; use 429, 429-at, retry-after, 503, latency, drop, soft-delete, ignore-extension-patch or no-patch")
            }
            specs[target] = spec
        }
        return specs
    }
}

/// The sandbox cannot start as asked.
public struct SandboxConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
