import Foundation
import LetheCore
import LetheTesting
import Testing

/// Issue #32, point 7 and the keys of point 1, as a user meets them: identifiers sealed in the
/// database while a request is open, and a state directory whose keys are not the database's.
@Suite("Keys and identifiers at rest")
struct KeysAtRestCLITests {
    func state() throws -> (URL, CommandRunner) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-keys-\(UUID().uuidString)")
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": scratch.appendingPathComponent("state").path,
                                                "LETHE_POLICIES": Repository.path("policies").path],
                                  workingDirectory: Repository.root)
        return (scratch, lethe)
    }

    @Test("an open request's e-mail address is nowhere in lethe.db; lethe status and the engine still have it")
    func sealedOnDisk() async throws {
        let (scratch, lethe) = try state()
        defer { try? FileManager.default.removeItem(at: scratch) }
        #expect(try await lethe.run(["init"]).status == 0)
        let key = scratch.appendingPathComponent("state/identifiers.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: key.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600 && (attributes[.size] as? Int) == 32, "lethe init makes the key, private")
        let filed = try await lethe.run(["erase", "--email", "sealed.subject@example.com", "--ref", "SEAL-1"])
        #expect(filed.status == 0, "\(filed.stderr)")
        for name in ["lethe.db", "lethe.db-wal"] {
            let bytes = (try? Data(contentsOf: scratch.appendingPathComponent("state/\(name)"))) ?? Data()
            #expect(bytes.range(of: Data("sealed.subject".utf8)) == nil, "\(name) holds the address")
        }
        // The identifiers are read back where they are needed: a retry compares what is given with them.
        let status = try await lethe.run(["status", "SEAL-1"])
        #expect(status.status == 0 && !status.stdout.contains("sealed.subject"), "status shows the pseudonym, not the address")
    }

    @Test("another pseudonym key is refused with exit 65 and what to do; a lost identifiers key is refused with exit 66; nothing changes")
    func keysMustMatch() async throws {
        let (scratch, lethe) = try state()
        defer { try? FileManager.default.removeItem(at: scratch) }
        #expect(try await lethe.run(["init"]).status == 0)
        #expect(try await lethe.run(["erase", "--email", "k@example.com"]).status == 0)
        let pseudonymKey = scratch.appendingPathComponent("state/pseudonym.key")
        let original = try Data(contentsOf: pseudonymKey)
        try Data(repeating: 1, count: 32).write(to: pseudonymKey)
        let other = try await lethe.run(["status"])
        #expect(other.status == 65, "\(other.stderr)")
        #expect(other.stderr.contains("pseudonym.key") && other.stderr.contains("same key files"), "\(other.stderr)")
        try original.write(to: pseudonymKey)
        #expect(try await lethe.run(["status"]).status == 0, "the right key works again")

        let identifiersKey = scratch.appendingPathComponent("state/identifiers.key")
        try FileManager.default.removeItem(at: identifiersKey)
        let lost = try await lethe.run(["status"])
        #expect(lost.status == 66 && lost.stderr.contains("identifiers.key"), "\(lost.stderr)")
        #expect(!FileManager.default.fileExists(atPath: identifiersKey.path), "no new key is made for a database sealed with another")
    }
}
