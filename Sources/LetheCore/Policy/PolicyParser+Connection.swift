import Foundation
import Yams

/// `connection:`: where the target is, how Lethe authenticates, its pace and retries.
extension PolicyParser {
    func parseConnection(_ node: Node, reader: inout PolicyNodeReader) -> Connection? {
        guard let fields = reader.fields(
            node, in: "connection",
            allowed: ["base_url", "auth", "timeout", "max_concurrency", "rate_limit", "retry", "update"],
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
        if !parseEngineSettings(fields, in: "connection", into: &connection, reader: &reader) { valid = false }
        if let node = fields["update"]?.value, let text = reader.string(node, "connection.update") {
            if let method = UpdateMethod(rawValue: text) {
                connection.update = method
            } else {
                reader.error(node, "connection.update '\(text)' is not an update method",
                             hint: "write patch, put or auto (auto: PATCH, and PUT once the target answers PATCH with 501 or 405)")
                valid = false
            }
        }
        guard valid, baseURL != nil, auth != nil else { return nil }
        return connection
    }

    /// The engine's settings of a target, whatever its kind (`timeout`, `max_concurrency`,
    /// `rate_limit`, `retry`), from the block they are in (`connection`, `webhook`). False when one is wrong.
    func parseEngineSettings(_ fields: [String: (key: Node, value: Node)], in block: String, into connection: inout Connection,
                             reader: inout PolicyNodeReader) -> Bool {
        var valid = true
        if let node = fields["timeout"]?.value, let text = reader.string(node, "\(block).timeout") {
            if let span = TimeSpan(parsing: text), span.milliseconds > 0 {
                connection.timeout = span
            } else {
                reader.error(node, "\(block).timeout '\(text)' is not a duration", hint: "write e.g. 500ms, 30s, 2m")
                valid = false
            }
        }
        if let node = fields["max_concurrency"]?.value {
            if let value = reader.integer(node, "\(block).max_concurrency", range: 1...256) {
                connection.maxConcurrency = value
            } else { valid = false }
        }
        if let node = fields["rate_limit"]?.value, let text = reader.string(node, "\(block).rate_limit") {
            if let limit = RateLimit(parsing: text) {
                connection.rateLimit = limit
            } else {
                reader.error(node, "\(block).rate_limit '\(text)' is not a rate", hint: "write requests per second, minute or hour: 50/s, 600/m, 10000/h")
                valid = false
            }
        }
        if let node = fields["retry"]?.value {
            if let retry = parseRetry(node, reader: &reader) { connection.retry = retry } else { valid = false }
        }
        return valid
    }

    func parseRetry(_ node: Node, reader: inout PolicyNodeReader) -> RetrySettings? {
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

    func parseAuth(_ node: Node, reader: inout PolicyNodeReader) -> AuthSettings? {
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
    func envName(_ node: Node, _ what: String, reader: inout PolicyNodeReader) -> String? {
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
}
