import Foundation
import Yams

/// `shares:`: what is shared with the target, for which purpose, on which lawful basis.
extension PolicyParser {
    func parseShares(_ node: Node, reader: inout PolicyNodeReader) -> [Share]? {
        guard case .sequence(let items) = node else {
            reader.error(node, "shares must be a list of {purpose, basis, attributes, groups, retention}")
            return nil
        }
        if items.isEmpty {
            reader.error(node, "shares is empty", hint: "say what the target holds, under which purpose and basis")
            return nil
        }
        var shares: [Share] = []
        var valid = true
        var seen: [String: Node] = [:]
        for item in items {
            guard let share = parseShare(item, reader: &reader) else { valid = false; continue }
            let key = "\(share.purpose)/\(share.basis.rawValue)"
            if seen[key] != nil {
                reader.error(item, "purpose '\(share.purpose)' with basis \(share.basis.rawValue) is listed twice",
                             hint: "merge the two entries into one")
                valid = false
            }
            seen[key] = item
            shares.append(share)
        }
        return valid ? shares : nil
    }

    func parseShare(_ node: Node, reader: inout PolicyNodeReader) -> Share? {
        let errorsBefore = reader.errorCount
        guard let fields = reader.fields(
            node, in: "a share", allowed: ["purpose", "basis", "attributes", "groups", "retention"],
            required: ["purpose", "basis"]
        ) else { return nil }
        var valid = true
        var purpose: String?
        if let n = fields["purpose"]?.value, let text = reader.string(n, "purpose") {
            if purposes.contains(text) {
                purpose = text
            } else {
                let hint = Suggest.closest(to: text, in: purposes.names).map { "did you mean '\($0)'? " } ?? ""
                reader.error(n, "unknown purpose '\(text)'",
                             hint: hint + "known purposes: \(purposes.names.joined(separator: ", ")) (declare more in purposes.yaml)")
            }
        }
        var basis: LawfulBasis?
        if let n = fields["basis"]?.value, let text = reader.string(n, "basis") {
            if let b = LawfulBasis(rawValue: text) {
                basis = b
            } else {
                let names = LawfulBasis.allCases.map(\.rawValue)
                reader.error(n, "unknown lawful basis '\(text)'",
                             hint: (Suggest.closest(to: text, in: names).map { "did you mean '\($0)'? " } ?? "") + "GDPR Art. 6(1): \(names.joined(separator: ", "))")
            }
        }
        var attributes: [AttributePath] = []
        if let n = fields["attributes"]?.value, let items = reader.strings(n, "attributes") {
            for (text, itemNode) in items {
                switch catalog.resolve(text) {
                case .success(let resolved):
                    if attributes.contains(resolved.path) {
                        reader.error(itemNode, "attribute '\(resolved.path)' is listed twice in this share")
                        valid = false
                    }
                    attributes.append(resolved.path)
                case .failure(let problem):
                    reader.error(itemNode, problem.message, hint: problem.hint)
                    valid = false
                }
            }
        } else if fields["attributes"] != nil { valid = false }
        var groups: [String] = []
        if let n = fields["groups"]?.value, let items = reader.strings(n, "groups") {
            for (name, itemNode) in items {
                if groups.contains(name) {
                    reader.error(itemNode, "group '\(name)' is listed twice in this share")
                    valid = false
                }
                groups.append(name)
            }
        } else if fields["groups"] != nil { valid = false }
        var retention: RetentionPeriod?
        if let n = fields["retention"]?.value, let text = reader.string(n, "retention") {
            if let period = RetentionPeriod(parsing: text) {
                retention = period
                if let basis, basis != .legalObligation {
                    reader.error(n, "retention applies only to basis legal_obligation (GDPR Art. 17(3)(b)), not \(basis.rawValue)",
                                 hint: "data held under \(basis.rawValue) is erased with the rest; remove retention or change the basis")
                    valid = false
                }
            } else {
                reader.error(n, "retention '\(text)' is not a period", hint: "write days, months or years: 90d, 6m, 10y")
                valid = false
            }
        }
        if basis == .legalObligation, fields["retention"] == nil {
            reader.error(node, "a legal_obligation share needs a retention period",
                         hint: "say how long the law requires the data to be kept, e.g. retention: 10y")
            valid = false
        }
        if attributes.isEmpty, groups.isEmpty {
            // Only when the share is otherwise sound: a misspelt key already explains an empty share.
            if valid, reader.errorCount == errorsBefore {
                let what = purpose.map { "purpose '\($0)'" } ?? "this share"
                let consent = basis == .consent ? " under consent: there is nothing to withdraw" : ""
                reader.error(node, "\(what) shares no attributes and no groups\(consent)",
                             hint: "list what the target holds for it under attributes: [...] or groups: [...], or remove the share")
                valid = false
            }
        }
        guard valid, reader.errorCount == errorsBefore, let purpose, let basis else { return nil }
        return Share(purpose: purpose, basis: basis, attributes: attributes, groups: groups, retention: retention)
    }
}
