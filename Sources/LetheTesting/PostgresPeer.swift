import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server the tests run against (Debian's postgresql), a fresh cluster started
/// by `scripts/test` (`scripts/peers start`), which exports its address. Each test takes a
/// database of its own (`newDatabase`), so tests never see each other's rows.
public struct PostgresPeer: Sendable {
    /// The server's maintenance database (`postgres://postgres@127.0.0.1:PORT/postgres`).
    public let url: String
    /// Where `psql` and `pg_dump` are.
    public let bin: String

    /// True when the server's address is known, or in CI, where a missing server must fail.
    public static var shouldRun: Bool {
        ProcessInfo.processInfo.environment["LETHE_TEST_POSTGRES_URL"] != nil || SCIM2ServerPeer.isCI
    }

    public static func running() throws -> PostgresPeer {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["LETHE_TEST_POSTGRES_URL"], !url.isEmpty else { throw PeerMissing() }
        return PostgresPeer(url: url, bin: env["LETHE_TEST_PG_BIN"] ?? "/usr/bin")
    }

    struct PeerMissing: Error, CustomStringConvertible {
        var description: String {
            "PostgreSQL is not running: run the tests with scripts/test, or `eval \"$(scripts/peers start)\"` first"
        }
    }

    /// Stops the server (fast: sessions are ended, as in a restart), waits `downFor` seconds and
    /// starts it again on the same port, as the postgres user.
    /// On a thread of its own, like `CommandRunner`: the test's tasks keep the cooperative pool.
    public func restart(downFor seconds: Double) async throws {
        let env = ProcessInfo.processInfo.environment
        guard let data = env["LETHE_TEST_PG_DATA"], let options = env["LETHE_TEST_PG_OPTIONS"] else { throw PeerMissing() }
        let bin = bin
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try Self.asPostgres([bin + "/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"])
                    Thread.sleep(forTimeInterval: seconds)
                    try Self.asPostgres([bin + "/pg_ctl", "-D", data, "-l", (data as NSString).deletingLastPathComponent + "/server.log",
                                         "-w", "-o", options, "start"])
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    /// Runs a command as the postgres user, its output discarded, and waits for it with
    /// waitpid: the server pg_ctl starts outlives it, and Foundation's `Process` was seen to
    /// leave its runuser unreaped here.
    private static func asPostgres(_ command: [String]) throws {
        let full = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let quoted = full.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let words: [String] = ["/bin/sh", "-c", quoted + " </dev/null >/dev/null 2>&1"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { throw Failed(description: "cannot start \(full[0])") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw Failed(description: "\(full.joined(separator: " ")) failed (status \(status))") }
    }

    /// A new empty database; returns its URL.
    public func newDatabase(_ label: String = "t") throws -> String {
        let name = "lethe_\(label)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        try psql("CREATE DATABASE \(name)")
        return url(of: name)
    }

    /// The URL of a database on this server.
    public func url(of database: String) -> String {
        url.replacingOccurrences(of: "/postgres?", with: "/\(database)?")
    }

    /// Drops a database made by `newDatabase` (its connections are ended first).
    public func dropDatabase(_ databaseURL: String) {
        guard let name = URLComponents(string: databaseURL)?.path.dropFirst() else { return }
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs SQL with psql on the maintenance database (or `database`); returns its output.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        try run(bin + "/psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", database ?? url, "-c", sql])
    }

    /// `pg_dump` of a database: everything a backup of it would hold, as text.
    public func dump(_ databaseURL: String) throws -> Data {
        Data(try run(bin + "/pg_dump", ["--no-owner", databaseURL]).utf8)
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        let fallback = ["/usr/bin/", "/usr/sbin/", "/sbin/"].map { $0 + (tool as NSString).lastPathComponent }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? tool
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: tool) ? tool : fallback)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\((tool as NSString).lastPathComponent) failed: \(String(decoding: error, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }
}
