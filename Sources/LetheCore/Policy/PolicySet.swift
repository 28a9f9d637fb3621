import Yams

/// All target policies of a deployment, validated together.
public struct PolicySet: Sendable {
    /// Policies sorted by target name.
    public let policies: [TargetPolicy]
    public let purposes: PurposeCatalog
    /// Warnings found while loading (pseudonymisation, unset secrets, ...).
    public let warnings: [PolicyDiagnostic]
    /// Approval and grace period, from `lethe.yaml` (the defaults without it).
    public let settings: LetheSettings

    public init(policies: [TargetPolicy], purposes: PurposeCatalog = .builtIn, warnings: [PolicyDiagnostic] = [],
                settings: LetheSettings = .defaults) {
        self.policies = policies.sorted { $0.target < $1.target }
        self.purposes = purposes
        self.warnings = warnings
        self.settings = settings
    }

    /// The same policies under other settings.
    public func with(settings: LetheSettings) -> PolicySet {
        PolicySet(policies: policies, purposes: purposes, warnings: warnings, settings: settings)
    }

    public subscript(target: String) -> TargetPolicy? { policies.first { $0.target == target } }

    public var targetNames: [String] { policies.map(\.target) }

    /// Purposes some policy shares under consent: the ones a revocation can act on.
    public var consentPurposes: Set<String> {
        Set(policies.flatMap { $0.shares.filter { $0.basis == .consent }.map(\.purpose) })
    }

    /// The name of the optional purpose vocabulary file in a policy directory.
    public static let purposesFileName = "purposes.yaml"

    /// Parses a set of policy files and the optional purpose catalog. Pure: files are given as text.
    ///
    /// - Parameters:
    ///   - files: (path for messages, text) of each target policy.
    ///   - purposesFile: (path, text) of `purposes.yaml`, if the directory has one.
    ///   - settingsFile: (path, text) of `lethe.yaml`, if the directory has one.
    public static func parse(
        files: [(path: String, text: String)], purposesFile: (path: String, text: String)? = nil,
        settingsFile: (path: String, text: String)? = nil,
        environment: [String: String], directory: String = "policies"
    ) -> Result<PolicySet, PolicyLoadError> {
        var diagnostics: [PolicyDiagnostic] = []
        var settings = LetheSettings.defaults
        if let settingsFile {
            let (parsed, found) = LetheSettings.parse(settingsFile.text, file: settingsFile.path)
            diagnostics += found
            if let parsed { settings = parsed }
        }
        var purposes = PurposeCatalog.builtIn
        if let purposesFile {
            let (catalog, found) = parsePurposes(purposesFile.text, file: purposesFile.path)
            diagnostics += found
            if let catalog { purposes = catalog }
        }
        if files.isEmpty {
            diagnostics.append(PolicyDiagnostic(
                file: directory, line: 1, column: 1, severity: .error,
                message: "no policy files (*.yaml) in \(directory)",
                hint: "add one file per connected system; see the README's policy reference"))
        }
        let parser = PolicyParser(environment: environment, purposes: purposes)
        var policies: [TargetPolicy] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            let (policy, found) = parser.parse(file.text, file: file.path)
            diagnostics += found
            guard let policy else { continue }
            if let first = policies.first(where: { $0.target == policy.target }) {
                let mark = targetMark(in: file.text)
                diagnostics.append(PolicyDiagnostic(
                    file: file.path, line: mark.line, column: mark.column, severity: .error,
                    message: "target '\(policy.target)' is already defined in \(first.sourceFile)",
                    hint: "each connected system has exactly one policy file; rename one of the targets"))
                continue
            }
            policies.append(policy)
        }
        diagnostics.sort { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
        if diagnostics.contains(where: { $0.severity == .error }) {
            return .failure(PolicyLoadError(diagnostics: diagnostics))
        }
        return .success(PolicySet(policies: policies, purposes: purposes, warnings: diagnostics, settings: settings))
    }

    private static func targetMark(in text: String) -> (line: Int, column: Int) {
        if let root = try? Yams.compose(yaml: text, .basic), case .mapping(let mapping) = root {
            for (key, value) in mapping where key.scalar?.string == "target" {
                if let mark = value.mark { return (mark.line, mark.column) }
            }
        }
        return (1, 1)
    }

    /// Parses `purposes: {name: description, ...}`.
    static func parsePurposes(_ text: String, file: String) -> (PurposeCatalog?, [PolicyDiagnostic]) {
        var reader = PolicyNodeReader(file: file, environment: [:])
        guard let root = reader.compose(text),
              let fields = reader.fields(root, in: "the purpose catalog", allowed: ["purposes"], required: ["purposes"]),
              let node = fields["purposes"]?.value else { return (nil, reader.diagnostics) }
        guard case .mapping(let mapping) = node, !mapping.isEmpty else {
            reader.error(node, "purposes must map each purpose name to a sentence describing it",
                         hint: "e.g. purposes: { marketing: Marketing campaigns and segmentation }")
            return (nil, reader.diagnostics)
        }
        var entries: [(name: String, description: String)] = []
        for (key, value) in mapping {
            guard let name = reader.string(key, "a purpose name") else { continue }
            guard PolicyParser.isTargetName(name) else {
                reader.error(key, "purpose name '\(name)' must be lowercase letters, digits, '-' or '_'")
                continue
            }
            if entries.contains(where: { $0.name == name }) {
                reader.error(key, "purpose '\(name)' is declared twice")
                continue
            }
            let description = reader.string(value, "the description of \(name)", allowEmpty: true) ?? ""
            entries.append((name, description))
        }
        return (reader.hasErrors ? nil : PurposeCatalog(entries), reader.diagnostics)
    }
}
