import Foundation

/// The repository the tests run from: found once, by walking up to `Package.swift`.
public enum Repository {
    /// The repository root.
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// A path inside the repository.
    public static func path(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}
