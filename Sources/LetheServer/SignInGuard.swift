import Foundation
import Synchronization

/// Failed sign-ins per client address: after `limit` failures within `window`, that address is
/// refused (429) until the oldest of them leaves the window. Kept in memory: a restart forgets.
/// Behind a proxy every browser shares the proxy's address, so the limit is then the site's.
final class SignInGuard: Sendable {
    static let limit = 5
    static let window: TimeInterval = 300

    private let failures = Mutex<[String: [Date]]>([:])

    /// How long `address` must wait before it may try again; nil when it may now.
    func wait(for address: String, now: Date) -> TimeInterval? {
        failures.withLock { all in
            let recent = (all[address] ?? []).filter { now.timeIntervalSince($0) < Self.window }
            all[address] = recent.isEmpty ? nil : recent
            guard recent.count >= Self.limit, let oldest = recent.first else { return nil }
            return max(1, Self.window - now.timeIntervalSince(oldest))
        }
    }

    /// Counts a failure; returns how many `address` has in the window now.
    @discardableResult
    func fail(_ address: String, now: Date) -> Int {
        failures.withLock { all in
            var recent = (all[address] ?? []).filter { now.timeIntervalSince($0) < Self.window }
            recent.append(now)
            // Bounded per address (and addresses leave once their window passes).
            all[address] = Array(recent.suffix(Self.limit * 2))
            if all.count > 10_000 { all = all.filter { $0.value.last.map { now.timeIntervalSince($0) < Self.window } ?? false } }
            return recent.count
        }
    }

    /// A success clears the address's failures.
    func succeed(_ address: String) {
        _ = failures.withLock { $0.removeValue(forKey: address) }
    }
}
