/// What one connected system holds about customers, why, and what erasure means there.
///
/// Loaded from one YAML file in `policies/`; see the README's policy reference.
public struct TargetPolicy: Sendable, Hashable {
    /// Unique name of the target (`shop`, `crm`).
    public var target: String
    public var description: String
    /// What kind of system the target is, which decides its driver (`kind:`; `scim` when absent).
    public var kind: TargetKind
    /// The SCIM driver's settings: where the target is, how to authenticate, how to change a
    /// resource (`connection.base_url`, `auth`, `update`).
    public var scim: SCIMConnection
    /// A manual target's task (`manual:`): what the person is asked to do, who may confirm it,
    /// and how long they have. Nil for every other kind.
    public var manual: ManualTask?
    /// A webhook target's endpoint (`webhook:`). Nil for every other kind.
    public var webhook: WebhookEndpoint?
    /// The engine's settings for this target, whatever its kind: pace, concurrency, retries,
    /// the time one call may take (`connection.timeout`, `max_concurrency`, `rate_limit`, `retry`).
    public var engine: EngineSettings
    /// Ordered: the first attribute the request has an identifier for is used.
    public var match: [MatchAttribute]
    /// The target's userName is the subject's e-mail address, so a request that gives only
    /// an e-mail can still be matched on userName (`identity.user_name_is_email`).
    public var userNameIsEmail: Bool
    public var shares: [Share]
    public var erasure: ErasureRule
    /// The file the policy came from, for messages.
    public var sourceFile: String

    public init(
        target: String, description: String, kind: TargetKind = .scim, connection: Connection, match: [MatchAttribute],
        shares: [Share], erasure: ErasureRule, sourceFile: String, userNameIsEmail: Bool = false, manual: ManualTask? = nil,
        webhook: WebhookEndpoint? = nil
    ) {
        self.manual = manual
        self.webhook = webhook
        self.userNameIsEmail = userNameIsEmail
        self.target = target
        self.description = description
        self.kind = kind
        self.scim = connection.scim
        self.engine = connection.engine
        self.match = match
        self.shares = shares
        self.erasure = erasure
        self.sourceFile = sourceFile
    }

    /// The attribute and value to find the subject by: the first `match` entry the request
    /// has a value for. Nil when the request has none of them.
    public func lookup(for subject: SubjectIdentifiers) -> (attribute: MatchAttribute, value: String)? {
        for attribute in match {
            if let value = subject.value(for: attribute) { return (attribute, value) }
            if attribute == .userName, userNameIsEmail, let email = subject.value(for: .email) { return (attribute, email) }
        }
        return nil
    }

    /// Every group named by any share, in first-seen order.
    public var allGroups: [String] { shares.flatMap(\.groups).uniqued() }
}

/// The kinds of target Lethe has a driver for (`kind:` in a policy).
public enum TargetKind: String, Sendable, Hashable, CaseIterable {
    /// A SCIM 2.0 service provider (RFC 7643/7644): the default.
    case scim
    /// A person carries the action out and confirms it (`lethe confirm`, the API, the dashboard).
    case manual
    /// The system is sent a signed job and answers with what it did, at once or by a callback.
    case webhook

    /// How an action's outcome on this kind of target is known.
    public var evidence: Evidence {
        switch self {
        case .scim: .readBack
        case .manual: .person
        case .webhook: .system
        }
    }
}

/// How an action's outcome is known, said as such in status, reports and certificates: only a
/// read-back is "verified".
public enum Evidence: String, Sendable, Hashable, Codable, CaseIterable {
    /// Lethe read the account back and saw the change (SCIM).
    case readBack = "read_back"
    /// The system said what it did (a webhook target's answer).
    case system
    /// A person said what they did (a manual target's confirmation, with who).
    case person

    /// The words every output uses.
    public var statement: String {
        switch self {
        case .readBack: "verified by read-back"
        case .system: "confirmed by the system"
        case .person: "confirmed by a person"
        }
    }
}

/// What a person is asked to do for a `kind: manual` target.
public struct ManualTask: Sendable, Hashable {
    /// Shown to the person with the planned operation and attributes (a runbook, a table to clear).
    public var instructions: String
    /// Who may confirm it: officer (officers and admins) or admin (admins only).
    public var confirmRole: ConfirmRole
    /// How long the person has from the task's creation; past it the task is overdue (announced once).
    public var within: TimeSpan

    public init(instructions: String, confirmRole: ConfirmRole = .officer, within: TimeSpan = .seconds(7 * 86_400)) {
        self.instructions = instructions
        self.confirmRole = confirmRole
        self.within = within
    }
}

/// Where a webhook target takes its jobs (`webhook:` in its policy).
public struct WebhookEndpoint: Sendable, Hashable {
    /// The job is POSTed here: https, or plain http on loopback or with `allow_http: true`.
    public var url: String
    /// The environment variable holding the shared secret (HMAC-SHA256 of jobs and callbacks).
    public var secretEnv: String
    /// How long the system has to answer (at once, or by a callback after a 202).
    public var within: TimeSpan

    public init(url: String, secretEnv: String, within: TimeSpan = .seconds(7 * 86_400)) {
        self.url = url
        self.secretEnv = secretEnv
        self.within = within
    }
}

/// The least role that may confirm a manual task.
public enum ConfirmRole: String, Sendable, Hashable, CaseIterable {
    case officer
    case admin
}

/// The SCIM driver's part of `connection:`.
public struct SCIMConnection: Sendable, Hashable {
    /// SCIM base URL, e.g. `https://crm.example.com/scim/v2`.
    public var baseURL: String
    public var auth: AuthSettings
    /// How attributes are changed: PATCH, PUT of the whole resource, or PATCH until the target
    /// shows it has none (`auto`, the default).
    public var update: UpdateMethod = .auto

    public init(baseURL: String, auth: AuthSettings, update: UpdateMethod = .auto) {
        self.baseURL = baseURL
        self.auth = auth
        self.update = update
    }
}

/// The engine's part of `connection:`: the same for every kind of target.
public struct EngineSettings: Sendable, Hashable {
    /// How long one call to the target may take, its body included.
    public var timeout: TimeSpan
    /// At most this many actions in flight to this target.
    public var maxConcurrency: Int
    /// At most this many requests per period to this target.
    public var rateLimit: RateLimit?
    public var retry: RetrySettings

    public init(timeout: TimeSpan = .seconds(30), maxConcurrency: Int = 4, rateLimit: RateLimit? = nil, retry: RetrySettings = RetrySettings()) {
        self.timeout = timeout
        self.maxConcurrency = maxConcurrency
        self.rateLimit = rateLimit
        self.retry = retry
    }
}

/// A policy's `connection:` block as written: the driver's settings and the engine's together.
/// `TargetPolicy` keeps them apart (`scim`, `engine`).
public struct Connection: Sendable, Hashable {
    /// SCIM base URL, e.g. `https://crm.example.com/scim/v2`.
    public var baseURL: String
    public var auth: AuthSettings
    /// Per-request timeout.
    public var timeout: TimeSpan
    /// At most this many requests in flight to this target.
    public var maxConcurrency: Int
    /// At most this many requests per period to this target.
    public var rateLimit: RateLimit?
    public var retry: RetrySettings
    /// How attributes are changed: PATCH, PUT of the whole resource, or PATCH until the target
    /// shows it has none (`auto`, the default).
    public var update: UpdateMethod = .auto

    public init(
        baseURL: String, auth: AuthSettings, timeout: TimeSpan = .seconds(30), maxConcurrency: Int = 4,
        rateLimit: RateLimit? = nil, retry: RetrySettings = RetrySettings()
    ) {
        self.baseURL = baseURL
        self.auth = auth
        self.timeout = timeout
        self.maxConcurrency = maxConcurrency
        self.rateLimit = rateLimit
        self.retry = retry
    }

    /// The SCIM driver's settings.
    public var scim: SCIMConnection { SCIMConnection(baseURL: baseURL, auth: auth, update: update) }
    /// The engine's settings.
    public var engine: EngineSettings { EngineSettings(timeout: timeout, maxConcurrency: maxConcurrency, rateLimit: rateLimit, retry: retry) }
}

/// `connection.update`: how Lethe changes a resource (RFC 7644 makes PATCH optional, PUT mandatory).
public enum UpdateMethod: String, Sendable, Hashable, CaseIterable {
    /// Always PATCH; a target without it fails the action.
    case patch
    /// Always read the resource and replace it whole with PUT.
    case put
    /// PATCH, and PUT for the rest of the run once the target answers PATCH with 501 or 405.
    case auto
}

/// How to authenticate to a target. Only the *names* of environment variables are
/// kept here; the secrets themselves are read when a client is built.
public enum AuthSettings: Sendable, Hashable {
    case none
    case bearer(tokenEnv: String)
    case basic(usernameEnv: String, passwordEnv: String)
    case oauth2ClientCredentials(tokenURL: String, clientIdEnv: String, clientSecretEnv: String, scope: String?)
}

/// Backoff settings for transient failures.
public struct RetrySettings: Sendable, Hashable {
    /// First delay.
    public var base: TimeSpan
    /// Cap on any single delay.
    public var max: TimeSpan
    /// Attempts in all, the first one included.
    public var maxAttempts: Int

    public init(base: TimeSpan = .seconds(1), max: TimeSpan = .seconds(300), maxAttempts: Int = 8) {
        self.base = base
        self.max = max
        self.maxAttempts = maxAttempts
    }
}

/// Lawful basis of a share (GDPR Art. 6(1)).
public enum LawfulBasis: String, Sendable, Hashable, Codable, CaseIterable {
    case consent
    case contract
    case legalObligation = "legal_obligation"
    case legitimateInterest = "legitimate_interest"
    case vitalInterest = "vital_interest"
    case publicTask = "public_task"
}

/// What a target holds under one purpose and basis.
public struct Share: Sendable, Hashable {
    public var purpose: String
    public var basis: LawfulBasis
    public var attributes: [AttributePath]
    public var groups: [String]
    /// How long the data must be kept (legal obligation), counted from the request's receipt.
    public var retention: RetentionPeriod?

    public init(purpose: String, basis: LawfulBasis, attributes: [AttributePath], groups: [String] = [], retention: RetentionPeriod? = nil) {
        self.purpose = purpose
        self.basis = basis
        self.attributes = attributes
        self.groups = groups
        self.retention = retention
    }
}

/// What erasure means in a target.
public struct ErasureRule: Sendable, Hashable {
    public var action: ErasureAction
    /// Per attribute, how to anonymize; attributes not listed get the default (`remove`,
    /// or `random` for the required `userName`).
    public var anonymize: [AttributePath: AnonymizeStrategy]

    public init(action: ErasureAction, anonymize: [AttributePath: AnonymizeStrategy] = [:]) {
        self.action = action
        self.anonymize = anonymize
    }
}

/// The target's answer to "forget this person".
public enum ErasureAction: String, Sendable, Hashable, Codable, CaseIterable {
    case delete
    case anonymize
    case deactivate
}

/// How one attribute is made to stop identifying the subject.
public enum AnonymizeStrategy: String, Sendable, Hashable, Codable, CaseIterable {
    /// The attribute is removed.
    case remove
    /// The value is replaced by a fixed marker.
    case redact
    /// The value is replaced by a random one (for required, unique attributes like userName).
    case random
    /// The value is replaced by a keyed hash: pseudonymisation, not anonymisation (Recital 26).
    case pseudonym
}

extension Array where Element: Hashable {
    /// The elements in order, without repeats.
    public func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
