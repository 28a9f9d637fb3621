import LetheCore
import Testing

@Suite("lethe.yaml: approval and grace settings")
struct LetheSettingsTests {
    @Test("without the file, or with only comments, every request runs at once (today's behaviour)")
    func defaults() throws {
        #expect(LetheSettings.defaults.approval == .none && LetheSettings.defaults.grace.milliseconds == 0)
        let (settings, diagnostics) = LetheSettings.parse("# nothing set yet\n\n", file: "policies/lethe.yaml")
        #expect(diagnostics.isEmpty)
        #expect(settings?.approval == LetheSettings.Approval.none && settings?.grace.milliseconds == 0)
    }

    @Test("approval and grace are read; which kinds need approval follows the rule")
    func values() throws {
        let (settings, diagnostics) = LetheSettings.parse("approval: erasures\ngrace: 24h\n", file: "policies/lethe.yaml")
        #expect(diagnostics.isEmpty)
        let read = try #require(settings)
        #expect(read.approval == .erasures && read.grace.seconds == 86_400)
        #expect(read.approval.applies(to: .erasure) && !read.approval.applies(to: .revocation(purposes: ["marketing"])))
        #expect(LetheSettings.Approval.all.applies(to: .revocation(purposes: ["marketing"])))
        #expect(!LetheSettings.Approval.none.applies(to: .erasure))
        #expect(LetheSettings.parse("grace: 2d", file: "f").0?.grace.seconds == 172_800)
        #expect(LetheSettings.parse("grace: 0s", file: "f").0?.grace.milliseconds == 0)
    }

    @Test("each mistake is an error at its FILE:LINE:COL, and the policy set is refused", arguments: [
        ("approval: erasure\n", "2:11", "approval 'erasure' is not one of none, erasures, all"),
        ("approval: all\ngrace: one day\n", "3:8", "grace 'one day' is not a duration"),
        ("grace: 30d\n", "2:8", "grace '30d' is longer than 14 days"),
        ("approval: all\naproval: none\n", "3:1", "unknown key 'aproval'"),
        ("approval: [all]\n", "2:11", "approval must be a single value"),
        ("approval: all\n  grace: 1h\n", "3:8", "YAML syntax"),
    ])
    func mistakes(text: String, position: String, message: String) throws {
        let file = "policies/lethe.yaml"
        let body = "# Lethe settings\n" + text
        let (settings, diagnostics) = LetheSettings.parse(body, file: file)
        #expect(settings == nil)
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(errors.contains { "\($0.line):\($0.column)" == position && $0.message.contains(message) && $0.file == file },
                "expected \(position) \(message), got \(errors.map { "\($0.line):\($0.column) \($0.message)" })")
        // The shipped policies are valid: only the settings file makes the set fail.
        let (files, purposes) = try Fixtures.policyFiles(in: Fixtures.repositoryRoot.appendingPathComponent("policies"))
        let parsed = PolicySet.parse(files: files, purposesFile: purposes, settingsFile: (file, body), environment: [:])
        if case .success = parsed { Issue.record("a policy set with a broken lethe.yaml was accepted") }
        let valid = PolicySet.parse(files: files, purposesFile: purposes, settingsFile: (file, "approval: all\ngrace: 1h\n"), environment: [:])
        #expect(try valid.get().settings == LetheSettings(approval: .all, grace: TimeSpan(milliseconds: 3_600_000), sourceFile: file))
    }
}
