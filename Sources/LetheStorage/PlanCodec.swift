import Foundation
import Synchronization
import LetheCore

/// A plan's stored JSON (sorted keys), encoded and decoded with Foundation's coders once per
/// distinct plan. Plans come from the policies, not from the subject, so a sweep that files
/// 100,000 withdrawals stores a handful of distinct texts, and the engine reads the same few
/// back: both ask the cache, not `JSONEncoder`/`JSONDecoder`, for every row.
public enum PlanCodec {
    /// More distinct plans than this (a policy set with very many targets) empties the cache.
    private static let capacity = 4096
    private static let encoded = Mutex<[PlannedAction: String]>([:])
    private static let decoded = Mutex<[String: PlannedAction]>([:])

    public static func encode(_ plan: PlannedAction) throws -> String {
        if let text = encoded.withLock({ $0[plan] }) { return text }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(plan), as: UTF8.self)
        encoded.withLock { cache in
            if cache.count >= capacity { cache.removeAll() }
            cache[plan] = text
        }
        return text
    }

    public static func decode(_ text: String) throws -> PlannedAction {
        if let plan = decoded.withLock({ $0[text] }) { return plan }
        let plan = try JSONDecoder().decode(PlannedAction.self, from: Data(text.utf8))
        decoded.withLock { cache in
            if cache.count >= capacity { cache.removeAll() }
            cache[text] = plan
        }
        return plan
    }
}
