import Foundation
import Yams

/// `erasure:`: what erasure means in the target, attribute by attribute.
extension PolicyParser {
    /// `shares` is nil when they could not be read; cross-checks against them are then skipped.
    func parseErasure(_ node: Node, shares: [Share]?, reader: inout PolicyNodeReader) -> ErasureRule? {
        guard let fields = reader.fields(node, in: "erasure", allowed: ["action", "anonymize"], required: ["action"]) else { return nil }
        var action: ErasureAction?
        if let n = fields["action"]?.value, let text = reader.string(n, "erasure.action") {
            action = ErasureAction(rawValue: text)
            if action == nil {
                let names = ErasureAction.allCases.map(\.rawValue)
                reader.error(n, "unknown erasure action '\(text)'",
                             hint: (Suggest.closest(to: text, in: names).map { "did you mean '\($0)'? " } ?? "") + "use \(names.joined(separator: ", "))")
            }
        }
        var anonymize: [AttributePath: AnonymizeStrategy] = [:]
        var valid = true
        if let n = fields["anonymize"]?.value {
            guard case .mapping(let mapping) = n else {
                reader.error(n, "erasure.anonymize must map attributes to remove, redact, random or pseudonym")
                return nil
            }
            let shared = Set((shares ?? []).flatMap(\.attributes))
            for (keyNode, valueNode) in mapping {
                guard let key = reader.string(keyNode, "an attribute in erasure.anonymize") else { valid = false; continue }
                guard case .success(let resolved) = catalog.resolve(key) else {
                    if case .failure(let problem) = catalog.resolve(key) { reader.error(keyNode, problem.message, hint: problem.hint) }
                    valid = false
                    continue
                }
                guard let text = reader.string(valueNode, "the strategy for \(key)") else { valid = false; continue }
                guard let strategy = AnonymizeStrategy(rawValue: text) else {
                    let names = AnonymizeStrategy.allCases.map(\.rawValue)
                    reader.error(valueNode, "unknown anonymize strategy '\(text)' for \(resolved.path)",
                                 hint: (Suggest.closest(to: text, in: names).map { "did you mean '\($0)'? " } ?? "") + "use \(names.joined(separator: ", "))")
                    valid = false
                    continue
                }
                if anonymize[resolved.path] != nil {
                    reader.error(keyNode, "'\(resolved.path)' appears twice in erasure.anonymize")
                    valid = false
                }
                if let problem = Self.strategyProblem(strategy, for: resolved) {
                    reader.error(valueNode, problem.message, hint: problem.hint)
                    valid = false
                }
                if strategy == .pseudonym {
                    reader.warning(valueNode, "'pseudonym' on \(resolved.path) is pseudonymisation, not anonymisation (GDPR Recital 26): the data stays personal data",
                                   hint: "use remove, redact or random for a real erasure; reports will list this attribute as pseudonymised")
                }
                if shares != nil, !shared.contains(resolved.path) && !shared.contains(resolved.path.parent) {
                    reader.warning(keyNode, "'\(resolved.path)' is anonymized but no share lists it",
                                   hint: "add it to the share it is held under, so plans and reports say why it was there")
                }
                anonymize[resolved.path] = strategy
            }
        }
        if action == .deactivate, anonymize.isEmpty, valid {
            reader.error(fields["action"]?.value, "erasure.action: deactivate alone is not erasure: deactivation keeps every attribute",
                         hint: "add erasure.anonymize (the account is then anonymized and set active=false), or use anonymize or delete")
            return nil
        }
        guard valid, let action else { return nil }
        return ErasureRule(action: action, anonymize: anonymize)
    }

    /// Why a strategy cannot apply to an attribute, or nil.
    static func strategyProblem(_ strategy: AnonymizeStrategy, for resolved: AttributeCatalog.Resolved) -> (message: String, hint: String)? {
        switch strategy {
        case .remove:
            if resolved.shape.required {
                return ("'remove' cannot apply to \(resolved.path): it is required by the SCIM schema and the server would refuse",
                        "use random (a unique throw-away value) or redact")
            }
            return nil
        case .redact, .random, .pseudonym:
            if resolved.shape.kind == .string && !resolved.shape.multiValued { return nil }
            // A multi-valued attribute becomes one placeholder item (a server that will not
            // drop an e-mail by PATCH or PUT still takes a replacement).
            if resolved.takesPlaceholder && strategy != .pseudonym { return nil }
            if resolved.shape.kind == .other && resolved.path.schema != nil { return nil }
            return ("'\(strategy.rawValue)' needs a single text value, and \(resolved.path) is not one",
                    resolved.takesPlaceholder ? "use remove, random or redact (one placeholder value replaces them all)"
                        : resolved.shape.kind == .complex || resolved.shape.multiValued
                        ? "use remove, or name a single-valued sub-attribute (e.g. name.givenName)" : "use remove")
        }
    }
}
