import Foundation
import LetheCore

/// Loads the policy set from a directory of YAML files: one `*.yaml` per target, plus the
/// optional `purposes.yaml` vocabulary and `lethe.yaml` settings (approval, grace period).
public enum PolicyDirectory {
    /// Reads and validates every policy in `directory`. Never changes anything on disk.
    public static func load(_ directory: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> Result<PolicySet, PolicyLoadError>
    {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return .failure(PolicyLoadError(diagnostics: [PolicyDiagnostic(
                file: directory, line: 1, column: 1, severity: .error,
                message: "policy directory '\(directory)' does not exist",
                hint: "point Lethe at the directory of policies (LETHE_POLICIES); the repository ships examples in policies/")]))
        }
        let names: [String]
        do {
            names = try fm.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            return .failure(PolicyLoadError(diagnostics: [PolicyDiagnostic(
                file: directory, line: 1, column: 1, severity: .error,
                message: "cannot list policy directory: \(error.localizedDescription)")]))
        }
        var files: [(path: String, text: String)] = []
        var purposes: (path: String, text: String)?
        var settings: (path: String, text: String)?
        var unreadable: [PolicyDiagnostic] = []
        for name in names where (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = fm.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                unreadable.append(PolicyDiagnostic(
                    file: path, line: 1, column: 1, severity: .error,
                    message: "cannot read the file as UTF-8 text", hint: "check its permissions and encoding"))
                continue
            }
            if name == PolicySet.purposesFileName || name == "purposes.yml" {
                purposes = (path, text)
            } else if name == LetheSettings.fileName || name == "lethe.yml" {
                settings = (path, text)
            } else {
                files.append((path, text))
            }
        }
        let result = PolicySet.parse(files: files, purposesFile: purposes, settingsFile: settings, environment: environment, directory: directory)
        guard !unreadable.isEmpty else { return result }
        switch result {
        case .success(let set): return .failure(PolicyLoadError(diagnostics: unreadable + set.warnings))
        case .failure(let error): return .failure(PolicyLoadError(diagnostics: unreadable + error.diagnostics))
        }
    }
}
