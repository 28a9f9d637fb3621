import Foundation
import LetheCore
import LetheTesting

/// Files the tests share with the repository: the shipped policies and the broken-policy corpus.
enum Fixtures {
    static let repositoryRoot = Repository.root

    static let brokenPolicies = repositoryRoot.appendingPathComponent("Tests/Fixtures/broken-policies")

    /// The `*.yaml` files of a directory as (path relative to the repository, text), purposes split off.
    static func policyFiles(in directory: URL) throws -> (files: [(path: String, text: String)], purposes: (path: String, text: String)?) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        var files: [(path: String, text: String)] = []
        var purposes: (path: String, text: String)?
        for name in names {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let path = directory.lastPathComponent + "/" + name
            if name == PolicySet.purposesFileName { purposes = (path, text) } else { files.append((path, text)) }
        }
        return (files, purposes)
    }

    /// The four example policies, with the given environment.
    static func examplePolicies(environment: [String: String] = [:]) throws -> PolicySet {
        let (files, purposes) = try policyFiles(in: repositoryRoot.appendingPathComponent("policies"))
        return try PolicySet.parse(files: files, purposesFile: purposes, environment: environment).get()
    }

    /// A single policy from text, failing the test on errors.
    static func policy(_ yaml: String, environment: [String: String] = [:]) throws -> PolicySet {
        try PolicySet.parse(files: [("test.yaml", yaml)], environment: environment).get()
    }

    static let received = CalendarDate(year: 2026, month: 11, day: 29)!
}
