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
        var reader = YAMLReader(file: file, environment: environment)
        guard let root = reader.compose(text) else { return (nil, reader.diagnostics) }
        let policy = parseRoot(root, file: file, reader: &reader)
        return (reader.hasErrors ? nil : policy, reader.diagnostics)
    }

    private func parseRoot(_ root: Node, file: String, reader: inout YAMLReader) -> TargetPolicy? {
        guard let fields = reader.fields(
            root, in: "the policy",
            allowed: ["target", "description", "connection", "identity", "shares", "erasure"],
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
        let connection = fields["connection"].flatMap { parseConnection($0.value, reader: &reader) }
        let identity = fields["identity"].flatMap { parseIdentity($0.value, reader: &reader) }
        let shares = fields["shares"].flatMap { parseShares($0.value, reader: &reader) }
        let erasure = fields["erasure"].flatMap { parseErasure($0.value, shares: shares, reader: &reader) }

        guard let target, let connection, let identity, let shares, let erasure else { return nil }
        return TargetPolicy(
            target: target, description: description, connection: connection, match: identity.match,
            shares: shares, erasure: erasure, sourceFile: file, userNameIsEmail: identity.userNameIsEmail)
    }

    // MARK: connection

    private func parseConnection(_ node: Node, reader: inout YAMLReader) -> Connection? {
        guard let fields = reader.fields(
            node, in: "connection",
            allowed: ["base_url", "auth", "timeout", "max_concurrency", "rate_limit", "retry"],
            required: ["base_url", "auth"],
            hints: ["url": "write base_url", "token": Self.secretHint, "bearer_token": Self.secretHint, "password": Self.secretHint]
        ) else { return nil }
        var valid = true
        var baseURL: String?
        if let node = fields["base_url"]?.value, let url = reader.string(node, "connection.base_url") {
            if let problem = Self.baseURLProblem(url) {
                reader.error(node, problem.message, hint: problem.hint)
                valid = false
            } else {
                baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            }
        }
        let auth = fields["auth"].flatMap { parseAuth($0.value, reader: &reader) }
        var connection = Connection(baseURL: baseURL ?? "", auth: auth ?? .none)
        if let node = fields["timeout"]?.value, let text = reader.string(node, "connection.timeout") {
            if let span = TimeSpan(parsing: text), span.milliseconds > 0 {
                connection.timeout = span
            } else {
                reader.error(node, "connection.timeout '\(text)' is not a duration", hint: "write e.g. 500ms, 30s, 2m")
                valid = false
            }
        }
        if let node = fields["max_concurrency"]?.value {
            if let value = reader.integer(node, "connection.max_concurrency", range: 1...256) {
                connection.maxConcurrency = value
            } else { valid = false }
        }
        if let node = fields["rate_limit"]?.value, let text = reader.string(node, "connection.rate_limit") {
            if let limit = RateLimit(parsing: text) {
                connection.rateLimit = limit
            } else {
                reader.error(node, "connection.rate_limit '\(text)' is not a rate", hint: "write requests per second, minute or hour: 50/s, 600/m, 10000/h")
                valid = false
            }
        }
        if let node = fields["retry"]?.value {
            if let retry = parseRetry(node, reader: &reader) { connection.retry = retry } else { valid = false }
        }
        guard valid, baseURL != nil, auth != nil else { return nil }
        return connection
    }

    private func parseRetry(_ node: Node, reader: inout YAMLReader) -> RetrySettings? {
        guard let fields = reader.fields(node, in: "connection.retry", allowed: ["base", "max", "max_attempts"]) else { return nil }
        var retry = RetrySettings()
        var valid = true
        for key in ["base", "max"] {
            guard let node = fields[key]?.value, let text = reader.string(node, "retry.\(key)") else { continue }
            guard let span = TimeSpan(parsing: text), span.milliseconds > 0 else {
                reader.error(node, "retry.\(key) '\(text)' is not a duration", hint: "write e.g. 500ms, 1s, 5m")
                valid = false
                continue
            }
            if key == "base" { retry.base = span } else { retry.max = span }
        }
        if let node = fields["max_attempts"]?.value {
            if let value = reader.integer(node, "retry.max_attempts", range: 1...100) { retry.maxAttempts = value } else { valid = false }
        }
        if valid, retry.base > retry.max {
            reader.error(fields["base"]?.value ?? node, "retry.base (\(retry.base)) is longer than retry.max (\(retry.max))",
                         hint: "base is the first delay, max caps every delay")
            valid = false
        }
        return valid ? retry : nil
    }

    static let secretHint = "secrets never go in policy text: name the environment variable that holds them, e.g. bearer_token_env: LETHE_CRM_TOKEN"

    private func parseAuth(_ node: Node, reader: inout YAMLReader) -> AuthSettings? {
        if case .scalar = node {
            guard let text = reader.string(node, "connection.auth") else { return nil }
            if text == "none" { return AuthSettings.none }
            reader.error(node, "connection.auth must be 'none' or a mapping",
                         hint: "write auth: { bearer_token_env: VAR }, auth: { basic: {...} } or auth: { oauth2_client_credentials: {...} }")
            return nil
        }
        guard let fields = reader.fields(
            node, in: "connection.auth", allowed: ["bearer_token_env", "basic", "oauth2_client_credentials"],
            hints: ["bearer_token": Self.secretHint, "token": Self.secretHint, "password": Self.secretHint, "client_secret": Self.secretHint]
        ) else { return nil }
        guard fields.count == 1, let (kind, entry) = fields.first else {
            if fields.isEmpty, !reader.hasErrors {
                reader.error(node, "connection.auth names no method", hint: "use bearer_token_env, basic or oauth2_client_credentials, or write auth: none")
            } else if fields.count > 1 {
                reader.error(node, "connection.auth names more than one method", hint: "keep exactly one")
            }
            return nil
        }
        switch kind {
        case "bearer_token_env":
            guard let name = envName(entry.value, "auth.bearer_token_env", reader: &reader) else { return nil }
            return .bearer(tokenEnv: name)
        case "basic":
            guard let sub = reader.fields(entry.value, in: "auth.basic", allowed: ["username_env", "password_env"],
                                          required: ["username_env", "password_env"], hints: ["password": Self.secretHint, "username": "write username_env: VAR"]),
                  let user = sub["username_env"].flatMap({ envName($0.value, "auth.basic.username_env", reader: &reader) }),
                  let password = sub["password_env"].flatMap({ envName($0.value, "auth.basic.password_env", reader: &reader) })
            else { return nil }
            return .basic(usernameEnv: user, passwordEnv: password)
        default:
            guard let sub = reader.fields(entry.value, in: "auth.oauth2_client_credentials",
                                          allowed: ["token_url", "client_id_env", "client_secret_env", "scope"],
                                          required: ["token_url", "client_id_env", "client_secret_env"],
                                          hints: ["client_secret": Self.secretHint, "client_id": "write client_id_env: VAR"])
            else { return nil }
            var tokenURL: String?
            if let urlNode = sub["token_url"]?.value, let url = reader.string(urlNode, "oauth2_client_credentials.token_url") {
                if let problem = Self.baseURLProblem(url) { reader.error(urlNode, problem.message, hint: problem.hint) } else { tokenURL = url }
            }
            let id = sub["client_id_env"].flatMap { envName($0.value, "oauth2_client_credentials.client_id_env", reader: &reader) }
            let secret = sub["client_secret_env"].flatMap { envName($0.value, "oauth2_client_credentials.client_secret_env", reader: &reader) }
            let scope = sub["scope"].flatMap { reader.string($0.value, "oauth2_client_credentials.scope") }
            guard let tokenURL, let id, let secret else { return nil }
            return .oauth2ClientCredentials(tokenURL: tokenURL, clientIdEnv: id, clientSecretEnv: secret, scope: scope)
        }
    }

    /// An environment variable name; warns when it is not set, since the target cannot be reached without it.
    private func envName(_ node: Node, _ what: String, reader: inout YAMLReader) -> String? {
        guard let name = reader.string(node, what) else { return nil }
        guard EnvironmentExpansion.isVariableName(name) else {
            reader.error(node, "\(what) must name an environment variable, not hold the secret itself",
                         hint: Self.secretHint)
            return nil
        }
        if (environment[name] ?? "").isEmpty {
            reader.warning(node, "\(name) is not set: this target cannot be reached until it is",
                           hint: "export \(name)=... before lethe run or lethe target check; planning works without it")
        }
        return name
    }

    /// Why a base URL cannot be used, or nil when it can.
    public static func baseURLProblem(_ text: String) -> (message: String, hint: String)? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            return ("'\(text)' is not an absolute URL", "write e.g. https://crm.example.com/scim/v2")
        }
        guard scheme == "https" || scheme == "http" else {
            return ("'\(text)' uses \(scheme)://; SCIM needs https://", "write https://...")
        }
        if scheme == "http" && !isLoopback(host: host) {
            return ("'\(text)' uses plain http to a non-loopback host; personal data must travel over HTTPS",
                    "use https://, or a loopback address (127.0.0.1, localhost, [::1]) for local tests")
        }
        if components.user != nil || components.password != nil {
            return ("'\(text)' carries credentials in the URL", secretHint)
        }
        return nil
    }

    /// True for localhost, 127.0.0.0/8 and ::1.
    public static func isLoopback(host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" || h.hasSuffix(".localhost") { return true }
        let octets = h.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func isTargetName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    // MARK: identity

    private func parseIdentity(_ node: Node, reader: inout YAMLReader) -> (match: [MatchAttribute], userNameIsEmail: Bool)? {
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

    // MARK: shares

    private func parseShares(_ node: Node, reader: inout YAMLReader) -> [Share]? {
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

    private func parseShare(_ node: Node, reader: inout YAMLReader) -> Share? {
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

    // MARK: erasure

    /// `shares` is nil when they could not be read; cross-checks against them are then skipped.
    private func parseErasure(_ node: Node, shares: [Share]?, reader: inout YAMLReader) -> ErasureRule? {
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
        if action == .deactivate, !anonymize.isEmpty {
            reader.warning(fields["anonymize"]?.key, "erasure.anonymize is ignored when the action is deactivate",
                           hint: "use action: anonymize to change attributes")
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
            if resolved.shape.kind == .other && resolved.path.schema != nil { return nil }
            return ("'\(strategy.rawValue)' needs a single text value, and \(resolved.path) is not one",
                    resolved.shape.kind == .complex || resolved.shape.multiValued
                        ? "use remove, or name a single-valued sub-attribute (e.g. name.givenName)" : "use remove")
        }
    }
}
