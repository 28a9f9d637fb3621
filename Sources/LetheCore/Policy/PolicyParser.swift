import Foundation
import Yams

/// Turns the text of one policy file into a `TargetPolicy`, or into diagnostics that
/// say where and what is wrong. Pure: the environment is passed in.
public struct PolicyParser: Sendable {
    public var environment: [String: String]
    public var purposes: PurposeCatalog
    public var catalog: AttributeCatalog

    public init(environment: [String: String], purposes: PurposeCatalog = .builtIn, catalog: AttributeCatalog = .standard) {
        self.environment = environment
        self.purposes = purposes
        self.catalog = catalog
    }

    /// The policy (nil when there are errors) and every finding, warnings included.
    public func parse(_ text: String, file: String) -> (policy: TargetPolicy?, diagnostics: [PolicyDiagnostic]) {
        var reader = PolicyNodeReader(file: file, environment: environment)
        guard let root = reader.compose(text) else { return (nil, reader.diagnostics) }
        let policy = parseRoot(root, file: file, reader: &reader)
        return (reader.hasErrors ? nil : policy, reader.diagnostics)
    }

    func parseRoot(_ root: Node, file: String, reader: inout PolicyNodeReader) -> TargetPolicy? {
        guard let fields = reader.fields(
            root, in: "the policy",
            allowed: ["target", "description", "kind", "connection", "identity", "shares", "erasure"],
            required: ["target", "connection", "identity", "shares", "erasure"]
        ) else { return nil }

        var target: String?
        if let node = fields["target"]?.value, let name = reader.string(node, "target") {
            if Self.isTargetName(name) {
                target = name
            } else {
                reader.error(node, "target name '\(name)' must start with a lowercase letter and use only a-z, 0-9, '-' and '_'",
                             hint: "it names the system in commands, reports and environment variables, e.g. 'crm'")
            }
        }
        let description = fields["description"].flatMap { reader.string($0.value, "description", allowEmpty: true) } ?? ""
        var kind: TargetKind? = .scim
        if let node = fields["kind"]?.value, let text = reader.string(node, "kind") {
            kind = TargetKind(rawValue: text)
            if kind == nil {
                let names = TargetKind.allCases.map(\.rawValue)
                reader.error(node, "kind '\(text)' is not a kind of target Lethe can reach",
                             hint: Suggest.closest(to: text, in: names).map { "did you mean '\($0)'?" } ?? "write \(names.joined(separator: ", ")) (scim when absent)")
            }
        }
        let connection = fields["connection"].flatMap { parseConnection($0.value, reader: &reader) }
        let identity = fields["identity"].flatMap { parseIdentity($0.value, reader: &reader) }
        let shares = fields["shares"].flatMap { parseShares($0.value, reader: &reader) }
        let erasure = fields["erasure"].flatMap { parseErasure($0.value, shares: shares, reader: &reader) }

        guard let target, let kind, let connection, let identity, let shares, let erasure else { return nil }
        return TargetPolicy(
            target: target, description: description, kind: kind, connection: connection, match: identity.match,
            shares: shares, erasure: erasure, sourceFile: file, userNameIsEmail: identity.userNameIsEmail)
    }

    // MARK: identity

    private func parseIdentity(_ node: Node, reader: inout PolicyNodeReader) -> (match: [MatchAttribute], userNameIsEmail: Bool)? {
        guard let fields = reader.fields(node, in: "identity", allowed: ["match", "user_name_is_email"], required: ["match"]),
              let matchNode = fields["match"]?.value, let items = reader.strings(matchNode, "identity.match") else { return nil }
        var userNameIsEmail = false
        if let flagNode = fields["user_name_is_email"]?.value {
            guard let flag = reader.bool(flagNode, "identity.user_name_is_email") else { return nil }
            userNameIsEmail = flag
        }
        var result: [MatchAttribute] = []
        var valid = true
        for (text, itemNode) in items {
            guard let attribute = MatchAttribute(rawValue: text) else {
                let names = MatchAttribute.allCases.map(\.rawValue)
                reader.error(itemNode, "identity.match cannot use '\(text)'",
                             hint: Suggest.closest(to: text, in: names).map { "did you mean '\($0)'?" } ?? "use \(names.joined(separator: ", "))")
                valid = false
                continue
            }
            if result.contains(attribute) {
                reader.error(itemNode, "'\(text)' is listed twice in identity.match")
                valid = false
            }
            result.append(attribute)
        }
        if result.isEmpty && valid {
            reader.error(matchNode, "identity.match is empty", hint: "list at least one of userName, emails.value, externalId")
            valid = false
        }
        if userNameIsEmail, !result.contains(.userName) {
            reader.error(fields["user_name_is_email"]?.key, "identity.user_name_is_email needs userName in identity.match")
            valid = false
        }
        return valid ? (result, userNameIsEmail) : nil
    }

}
