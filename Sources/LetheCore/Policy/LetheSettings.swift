/// How a deployment handles requests before anything is destroyed: from the optional
/// `lethe.yaml` in the policy directory. The defaults keep Lethe's behaviour without the file:
/// every filed request runs at once.
///
/// ```yaml
/// approval: erasures   # none | erasures | all
/// grace: 24h           # no destructive call before filing time + grace
/// ```
public struct LetheSettings: Sendable, Hashable {
    /// Which requests wait for a second person (`lethe approve`) before any system is touched.
    public enum Approval: String, Sendable, Hashable, CaseIterable {
        case none
        case erasures
        /// Erasures and withdrawals of consent (consent sweeps included).
        case all

        public func applies(to kind: RequestKind) -> Bool {
            switch (self, kind) {
            case (.none, _): false
            case (.erasures, .erasure): true
            case (.erasures, .revocation): false
            case (.all, _): true
            }
        }
    }

    public var approval: Approval
    /// No action of a request is claimed before its filing time plus this: a mistaken request
    /// can still be cancelled with every target untouched.
    public var grace: TimeSpan
    /// The file they came from (nil: the defaults).
    public var sourceFile: String?

    public init(approval: Approval = .none, grace: TimeSpan = TimeSpan(milliseconds: 0), sourceFile: String? = nil) {
        self.approval = approval
        self.grace = grace
        self.sourceFile = sourceFile
    }

    public static let defaults = LetheSettings()

    /// The name of the settings file in a policy directory.
    public static let fileName = "lethe.yaml"

    /// The longest grace period: beyond it the one-month deadline is at risk.
    public static let maximumGrace = TimeSpan(milliseconds: 14 * 86_400_000)

    /// Parses the settings file. Pure: the file is given as text.
    public static func parse(_ text: String, file: String) -> (LetheSettings?, [PolicyDiagnostic]) {
        // A file with only comments (or nothing) keeps the defaults.
        let meaningful = text.split(separator: "\n").contains { line in
            let trimmed = line.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
            return !trimmed.isEmpty && !trimmed.hasPrefix("#") && trimmed != "---"
        }
        guard meaningful else { return (LetheSettings(sourceFile: file), []) }
        var reader = PolicyNodeReader(file: file, environment: [:])
        guard let root = reader.compose(text),
              let fields = reader.fields(root, in: "the Lethe settings", allowed: ["approval", "grace"]) else {
            return (nil, reader.diagnostics)
        }
        var settings = LetheSettings(sourceFile: file)
        if let node = fields["approval"]?.value, let text = reader.string(node, "approval") {
            if let approval = Approval(rawValue: text) {
                settings.approval = approval
            } else {
                let hint = Suggest.closest(to: text, in: Approval.allCases.map(\.rawValue)).map { "did you mean '\($0)'? " } ?? ""
                reader.error(node, "approval '\(text)' is not one of none, erasures, all",
                             hint: hint + "none: every request runs at once; erasures: erasures wait for `lethe approve`; all: withdrawals too")
            }
        }
        if let node = fields["grace"]?.value, let text = reader.string(node, "grace") {
            if let span = TimeSpan(parsing: text), span <= maximumGrace {
                settings.grace = span
            } else if TimeSpan(parsing: text) != nil {
                reader.error(node, "grace '\(text)' is longer than 14 days",
                             hint: "the grace period counts against the one-month deadline (GDPR Art. 12(3)); write e.g. 24h")
            } else {
                reader.error(node, "grace '\(text)' is not a duration", hint: "write e.g. 0s, 30m, 24h or 2d")
            }
        }
        return (reader.hasErrors ? nil : settings, reader.diagnostics)
    }
}
