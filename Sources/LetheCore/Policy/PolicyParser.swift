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
            allowed: ["target", "description", "kind", "connection", "manual", "webhook", "identity", "shares", "erasure"],
            required: ["target", "identity", "shares", "erasure"]
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
        // Each kind has its own block: a SCIM target its connection, a manual one its task.
        var connection: Connection?
        var manual: ManualTask?
        var webhook: WebhookEndpoint?
        switch kind {
        case .scim?:
            if let entry = fields["webhook"] {
                reader.error(entry.key, "webhook: is for a target of kind webhook; this one is a SCIM target",
                             hint: "write kind: webhook to send the system signed jobs, or remove webhook:")
            }
            if let entry = fields["manual"] {
                reader.error(entry.key, "manual: is for a target of kind manual; this one is a SCIM target",
                             hint: "write kind: manual to have a person carry the erasure out, or remove manual:")
            }
            if let entry = fields["connection"] {
                connection = parseConnection(entry.value, reader: &reader)
            } else {
                reader.error(root, "the policy is missing the required key 'connection'", hint: "a SCIM target needs connection: { base_url: ..., auth: ... }")
            }
        case .webhook?:
            for other in ["connection", "manual"] {
                guard let entry = fields[other] else { continue }
                reader.error(entry.key, "a webhook target has no \(other): block; its endpoint is under webhook:",
                             hint: "webhook: { url: https://..., secret_env: NAME, within: 7d }")
            }
            if let entry = fields["webhook"], let parsed = parseWebhook(entry.value, reader: &reader) {
                webhook = parsed.endpoint
                connection = parsed.engine
            } else if fields["webhook"] == nil {
                reader.error(root, "the policy is missing the required key 'webhook'",
                             hint: "a webhook target says where its jobs go: webhook: { url: https://..., secret_env: NAME, within: 7d }")
            }
        case .manual?:
            if let entry = fields["webhook"] {
                reader.error(entry.key, "webhook: is for a target of kind webhook; this one is manual", hint: "remove webhook:")
            }
            if let entry = fields["connection"] {
                reader.error(entry.key, "a manual target has no connection: Lethe does not call it, a person carries the action out",
                             hint: "remove connection: and describe the work under manual: { instructions: ..., confirm_role: ..., within: ... }")
            }
            if let entry = fields["manual"] {
                manual = parseManual(entry.value, reader: &reader)
                connection = Connection(baseURL: "", auth: .none)
            } else {
                reader.error(root, "the policy is missing the required key 'manual'",
                             hint: "a manual target says what the person does: manual: { instructions: ..., confirm_role: officer, within: 7d }")
            }
        case nil:
            break
        }
        let identity = fields["identity"].flatMap { parseIdentity($0.value, reader: &reader) }
        let shares = fields["shares"].flatMap { parseShares($0.value, reader: &reader) }
        let erasure = fields["erasure"].flatMap { parseErasure($0.value, shares: shares, reader: &reader) }

        guard let target, let kind, let connection, let identity, let shares, let erasure else { return nil }
        return TargetPolicy(
            target: target, description: description, kind: kind, connection: connection, match: identity.match,
            shares: shares, erasure: erasure, sourceFile: file, userNameIsEmail: identity.userNameIsEmail, manual: manual, webhook: webhook)
    }

    // MARK: webhook

    /// `webhook:`: where jobs go, the secret's variable, how long the system has to answer.
    /// The engine's settings for this target (`timeout`, `max_concurrency`, `rate_limit`, `retry`) are
    /// in the same block, meaning what they mean under a SCIM target's `connection:`.
    private func parseWebhook(_ node: Node, reader: inout PolicyNodeReader) -> (endpoint: WebhookEndpoint, engine: Connection)? {
        guard let fields = reader.fields(node, in: "webhook",
                                         allowed: ["url", "secret_env", "within", "allow_http", "timeout", "max_concurrency", "rate_limit", "retry"],
                                         required: ["url", "secret_env"],
                                         hints: ["secret": Self.secretHint, "deadline": "write within: 7d"])
        else { return nil }
        var valid = true
        var engine = Connection(baseURL: "", auth: .none)
        if !parseEngineSettings(fields, in: "webhook", into: &engine, reader: &reader) { valid = false }
        var allowHTTP = false
        if let node = fields["allow_http"]?.value {
            if let flag = reader.bool(node, "webhook.allow_http") { allowHTTP = flag } else { valid = false }
        }
        var url: String?
        if let node = fields["url"]?.value, let text = reader.string(node, "webhook.url") {
            if let problem = Self.baseURLProblem(text), !(allowHTTP && text.lowercased().hasPrefix("http://") && Self.baseURLProblem("https://" + text.dropFirst(7)) == nil) {
                reader.error(node, problem.message.replacingOccurrences(of: "SCIM needs", with: "a webhook needs"),
                             hint: problem.hint + " (or, for a system on a private network you trust, allow_http: true)")
                valid = false
            } else {
                url = text
            }
        } else { valid = false }
        let secret = fields["secret_env"].flatMap { envName($0.value, "webhook.secret_env", reader: &reader) }
        var within = TimeSpan.seconds(7 * 86_400)
        if let node = fields["within"]?.value, let text = reader.string(node, "webhook.within") {
            if let span = TimeSpan(parsing: text), span.milliseconds >= 1000 {
                within = span
            } else {
                reader.error(node, "webhook.within '\(text)' is not a duration of a second or more", hint: "write e.g. 7d, 48h, 30s")
                valid = false
            }
        }
        guard valid, let url, let secret else { return nil }
        return (WebhookEndpoint(url: url, secretEnv: secret, within: within), engine)
    }

    // MARK: manual

    /// `manual:`: the instructions a person follows, who may confirm, how long they have.
    private func parseManual(_ node: Node, reader: inout PolicyNodeReader) -> ManualTask? {
        guard let fields = reader.fields(node, in: "manual", allowed: ["instructions", "confirm_role", "within"], required: ["instructions"],
                                         hints: ["role": "write confirm_role: officer or confirm_role: admin", "deadline": "write within: 7d"])
        else { return nil }
        var valid = true
        var task = ManualTask(instructions: "")
        if let node = fields["instructions"]?.value, let text = reader.string(node, "manual.instructions") {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                reader.error(node, "manual.instructions is empty", hint: "say what the person does, e.g. 'Delete the customer's rows (runbook DW-7)'")
                valid = false
            } else {
                task.instructions = trimmed
            }
        } else { valid = false }
        if let node = fields["confirm_role"]?.value, let text = reader.string(node, "manual.confirm_role") {
            if let role = ConfirmRole(rawValue: text) {
                task.confirmRole = role
            } else {
                reader.error(node, "manual.confirm_role '\(text)' is not a role that may confirm",
                             hint: "write officer (officers and admins confirm) or admin (admins only)")
                valid = false
            }
        }
        if let node = fields["within"]?.value, let text = reader.string(node, "manual.within") {
            if let span = TimeSpan(parsing: text), span.milliseconds >= 60_000 {
                task.within = span
            } else {
                reader.error(node, "manual.within '\(text)' is not a duration of a minute or more", hint: "write e.g. 7d, 48h")
                valid = false
            }
        }
        return valid ? task : nil
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
