import Foundation
import LetheCore
import LetheDemo
import LetheTesting
import Testing

@Suite("Embedded reference policies")
struct DefaultPoliciesTests {
    @Test("the embedded default policies are the files in policies/, byte for byte")
    func defaultPoliciesMatchFiles() throws {
        let directory = Repository.path("policies")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(DefaultPolicies.files.map(\.name) == names)
        for (name, text) in DefaultPolicies.files {
            let file = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            #expect(file.trimmingCharacters(in: .newlines) == text.trimmingCharacters(in: .newlines), "\(name) differs; regenerate DefaultPolicies.swift")
        }
        #expect(try DefaultPolicies.load(environment: [:]).get().targetNames == ["app", "crm", "newsletter", "shop"])
    }
}
