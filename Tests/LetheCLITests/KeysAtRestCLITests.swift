import Foundation
import LetheCore
import LetheHTTP
import LetheServer
import LetheStorage
import LetheStore
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

@Suite("Dashboard sessions in the store")
struct SessionStoreCLITests {
    /// Starts `lethe serve` on the state, runs `body` with its base URL, and stops it (SIGKILL:
    /// nothing may depend on a clean stop).
    func serving<T>(_ lethe: CommandRunner, log: URL, _ body: (String) async throws -> T) async throws -> T {
        try await lethe.withStarted(["serve", "--listen", "127.0.0.1:0"], errorLog: log) { process in
            try await body(try await ServeCLITests.address(of: process, log: log))
        }
    }

    @Test("a signed-in browser stays signed in when lethe serve is killed and started again; lethe.db holds no session id; sign-out ends it")
    func sessionsSurviveRestart() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-sessions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var environment = SecurityCLITests.unreachable
        environment["LETHE_STATE_DIR"] = scratch.appendingPathComponent("state").path
        environment["LETHE_POLICIES"] = Repository.path("policies").path
        let lethe = CommandRunner(environment: environment, workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        let token = try await lethe.run(["token", "create", "--name", "desk", "--role", "officer"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try await serving(lethe, log: scratch.appendingPathComponent("serve-1.log")) { base in
            try await BrowserSession.signIn(base, token: token)
        }
        let value = String(first.cookie.split(separator: "=", maxSplits: 1).last ?? "")
        let database = try Data(contentsOf: scratch.appendingPathComponent("state/lethe.db"))
            + ((try? Data(contentsOf: scratch.appendingPathComponent("state/lethe.db-wal"))) ?? Data())
        #expect(!value.isEmpty && database.range(of: Data(value.utf8)) == nil, "the session id is not stored, only its digest")
        try await serving(lethe, log: scratch.appendingPathComponent("serve-2.log")) { base in
            var browser = first
            browser.base = base
            let page = try await browser.call("GET", "/")
            #expect(page.status == 200 && page.body.contains(browser.csrf), "still signed in after the restart: \(page.status)")
            let signedOut = try await browser.form("/signout", [:])
            #expect(signedOut.status == 303)
            let after = try await browser.call("GET", "/")
            #expect(after.status == 303, "signed out: back to the sign-in page (\(after.status))")
        }
    }
}

@Suite("Once across replicas")
struct OnceAcrossReplicasTests {
    @Test("two webhook dispatchers on one database deliver each event once between them; the second takes over when the first stops")
    func webhooksOnce() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-once-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let database = try AppDatabase.open(path: scratch.appendingPathComponent("lethe.db").path)
        let receiver = RecordingTransport { _ in HTTPResponse(status: 200) }
        var settings = WebhookDispatcher.Settings(urls: ["http://127.0.0.1:1/hook"], secret: Data(repeating: 1, count: 32))
        settings.interval = .milliseconds(20)
        let first = WebhookDispatcher(database: database, settings: settings, transport: receiver)
        let second = WebhookDispatcher(database: database, settings: settings, transport: receiver)
        let pseudonymizer = Pseudonymizer(key: Data(repeating: 7, count: 32))
        /// A withdrawal of a purpose nothing is shared for: it completes as it is filed.
        func complete(_ n: Int) throws {
            let subject = SubjectIdentifiers(email: "once\(n)@example.com")
            _ = try database.file(NewRequest(id: "req-once-\(n)", kind: .revocation(purposes: ["marketing"]), ref: nil,
                                             pseudonym: pseudonymizer.pseudonym(for: subject)!, identifiers: subject,
                                             received: CalendarDate(iso: "2026-12-01")!,
                                             plan: [PlannedAction(target: "a", operation: .none, match: nil, reason: "not shared")]), now: Date())
        }
        func delivered() -> [String] { receiver.requests.compactMap { $0.header("Lethe-Webhook-Id") } }
        func waitFor(_ count: Int) async throws {
            let deadline = Date().addingTimeInterval(20)
            while delivered().count < count, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        // The URL's cursor starts at the log's head now, whichever dispatcher gets to it first: under
        // load the first may start after the first completion, and a new cursor skips history.
        _ = try database.webhookCursor(url: "http://127.0.0.1:1/hook")
        let one = Task { try await first.run() }
        try await Task.sleep(nanoseconds: 200_000_000)   // the first holds the job
        let two = Task { try await second.run() }
        try await Task.sleep(nanoseconds: 100_000_000)
        for n in 0..<5 { try complete(n) }
        try await waitFor(5)
        try await Task.sleep(nanoseconds: 300_000_000)   // time for a duplicate to show
        #expect(delivered().count == 5 && Set(delivered()).count == 5, "each completion told once: \(delivered())")
        // The holder stops cleanly and hands the job over; the other delivers what comes next.
        one.cancel()
        _ = try? await one.value
        for n in 5..<7 { try complete(n) }
        try await waitFor(7)
        #expect(Set(delivered()).count == 7 && delivered().count == 7, "the other dispatcher delivered the rest, once: \(delivered())")
        one.cancel(); two.cancel()
    }
}
