import Foundation
import LetheTesting
import Testing

/// The state directory holds identifiers and keys: private, and never silently replaced.
@Suite("The state directory is private and never starts over")
struct StateDirectoryCLITests {
    func mode(_ path: String) throws -> Int {
        try #require((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue)
    }

    @Test("init makes it 0700 with the database and keys 0600; a directory others can read is refused with a hint")
    func privateDirectory() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-private-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        // An existing empty directory, world-readable, is tightened by init.
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": scratch.path, "LETHE_POLICIES": Repository.path("policies").path],
                                  workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        #expect(try mode(scratch.path) == 0o700)
        for file in ["lethe.db", "pseudonym.key", "signing.key"] {
            #expect(try mode(scratch.appendingPathComponent(file).path) == 0o600, "\(file)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)
        let refused = try await lethe.run(["status"])
        #expect(refused.status == 77 && refused.stderr.contains("can be read by others") && refused.stderr.contains("chmod 700"), "\(refused.stderr)")
    }

    @Test("a lost database or key is not a new one: every command refuses, init does not recreate it")
    func lostDatabase() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-lost-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": scratch.path, "LETHE_POLICIES": Repository.path("policies").path],
                                  workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        #expect(try await lethe.run(["erase", "--email", "ana@example.com"]).status == 0)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(at: scratch.appendingPathComponent("lethe.db" + suffix)) }
        for command in [["status"], ["erase", "--email", "bo@example.com"], ["run", "--until-idle"], ["audit", "verify"], ["init"]] {
            let result = try await lethe.run(command)
            #expect(result.status == 66, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("lethe.db is missing or empty; restore it from your backup"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("lethe.db").path), "nothing recreated it")
        // An empty file in its place is refused the same way.
        #expect(FileManager.default.createFile(atPath: scratch.appendingPathComponent("lethe.db").path, contents: Data()))
        let empty = try await lethe.run(["status"])
        #expect(empty.status == 66 && empty.stderr.contains("lethe.db is missing or empty"), "\(empty.stderr)")

        // The same for a key.
        let other = scratch.deletingLastPathComponent().appendingPathComponent("lethe-lostkey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: other) }
        let second = CommandRunner(environment: ["LETHE_STATE_DIR": other.path], workingDirectory: Repository.root)
        #expect(try await second.run(["init"]).status == 0)
        try FileManager.default.removeItem(at: other.appendingPathComponent("signing.key"))
        let again = try await second.run(["init"])
        #expect(again.status == 66 && again.stderr.contains("signing.key is missing"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: other.appendingPathComponent("signing.key").path))
    }
}

@Suite("lethe retry with identifiers")
struct RetryIdentifiersCLITests {
    @Test("identifiers given to retry must be the subject's and agree with the stored ones; otherwise exit 65 and nothing changes")
    func conflicting() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-retry-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": scratch.path, "LETHE_POLICIES": Repository.path("policies").path],
                                  workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let id = try await lethe.run(["erase", "--email", "ana@example.com", "--external-id", "C-1"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try await lethe.run(["status", id, "--json"]).stdout

        let wrongExternal = try await lethe.run(["retry", id, "--email", "ana@example.com", "--external-id", "C-2"])
        #expect(wrongExternal.status == 65 && wrongExternal.stderr.contains("the external id given differs"), "\(wrongExternal.stderr)")
        let somebodyElse = try await lethe.run(["retry", id, "--email", "bo@example.com"])
        #expect(somebodyElse.status == 65 && somebodyElse.stderr.contains("do not belong to the subject"), "\(somebodyElse.stderr)")
        #expect(try await lethe.run(["status", id, "--json"]).stdout == before, "nothing changed")
    }
}

@Suite("Command-line input")
struct CommandLineInputTests {
    @Test("an argument that is not valid UTF-8 is refused, naming it, before anything runs")
    func invalidUTF8Argument() async throws {
        let lethe = CommandRunner(workingDirectory: Repository.root)
        var environment = ProcessInfo.processInfo.environment
        environment["LETHE"] = lethe.executable.path
        let shell = CommandRunner(executable: URL(fileURLWithPath: "/bin/sh"), environment: environment, workingDirectory: Repository.root)
        let result = try await shell.run(["-c", #""$LETHE" plan --erase --email "$(printf 'ana\377@example.com')""#])
        #expect(result.status == 64 && result.stderr.contains("argument 4 is not valid UTF-8"), "\(result.status) \(result.stderr)")
    }
}
