import Foundation
import Synchronization

/// Runs the built `lethe` binary as a user would, for end-to-end tests.
public struct CommandRunner: Sendable {
    /// What a finished command left behind.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public let executable: URL
    public var environment: [String: String]
    public var workingDirectory: URL?

    /// Finds `lethe` next to the test bundle (the build directory), or at `LETHE_BINARY`.
    public init(environment: [String: String] = [:], workingDirectory: URL? = nil, filePath: String = #filePath) {
        self.executable = Self.locate(filePath: filePath)
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("LETHE_") { env[key] = nil }
        env.merge(environment) { _, new in new }
        self.environment = env
        self.workingDirectory = workingDirectory
    }

    /// Runs another program (a peer's tool, openssl) the same way.
    public init(executable: URL, environment: [String: String] = ProcessInfo.processInfo.environment, workingDirectory: URL? = nil) {
        self.executable = executable
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    static func locate(filePath: String) -> URL {
        if let explicit = ProcessInfo.processInfo.environment["LETHE_BINARY"] { return URL(fileURLWithPath: explicit) }
        var candidates: [URL] = []
        if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundle.appendingPathComponent("lethe")) }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("lethe"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("lethe"))
        var root = URL(fileURLWithPath: filePath)
        while root.pathComponents.count > 1, !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
        }
        candidates.append(root.appendingPathComponent(".build/debug/lethe"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    /// Starts `lethe ARGS...` without waiting, its output discarded (or its standard error
    /// written to `errorLog`): for tests that kill it.
    public func start(_ arguments: [String], extraEnvironment: [String: String] = [:], errorLog: URL? = nil, outputLog: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment.merging(extraEnvironment) { _, new in new }
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        if let outputLog {
            _ = FileManager.default.createFile(atPath: outputLog.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: outputLog)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        if let errorLog {
            _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errorLog)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `lethe ARGS...` to completion, feeding `input` to its standard input.
    ///
    /// The waiting happens on a thread of its own, never on Swift's cooperative pool: a test
    /// blocked on a child process must not starve the other tests' tasks (two cores, two
    /// cooperative threads).
    public func run(_ arguments: [String], input: String? = nil, extraEnvironment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try runBlocking(arguments, input: input, extraEnvironment: extraEnvironment))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    private func runBlocking(_ arguments: [String], input: String?, extraEnvironment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment.merging(extraEnvironment) { _, new in new }
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        // Read both pipes while the process runs, so a full pipe never blocks it.
        let group = DispatchGroup()
        let collected = Collected()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            Thread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, stdout: isOut)
                group.leave()
            }.start()
        }
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus, stdout: collected.stdout, stderr: collected.stderr)
    }

    /// Starts `lethe ARGS...` (output discarded) and runs `body` with the process. Whatever
    /// `body` does, returns or throws, the process is killed if it still runs and waited for:
    /// no test leaves a `lethe` behind to hold a lock or a port for the rest of the suite.
    public func withStarted<T>(_ arguments: [String], extraEnvironment: [String: String] = [:], errorLog: URL? = nil, outputLog: URL? = nil,
                               _ body: (Process) async throws -> T) async throws -> T {
        let process = try start(arguments, extraEnvironment: extraEnvironment, errorLog: errorLog, outputLog: outputLog)
        do {
            let value = try await body(process)
            await Self.stop(process)
            return value
        } catch {
            await Self.stop(process)
            throw error
        }
    }

    /// Sends `signal` (SIGKILL unless told) to a process that still runs, and waits for it to end.
    public static func stop(_ process: Process, signal: Int32 = SIGKILL) async {
        if process.isRunning { kill(process.processIdentifier, signal) }
        await waitForExit(process)
    }

    /// Waits for a started process without blocking the cooperative pool.
    public static func waitForExit(_ process: Process) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }
}

/// Output gathered from two reader threads.
private final class Collected: Sendable {
    private let data = Mutex<(out: Data, err: Data)>((Data(), Data()))

    func set(_ bytes: Data, stdout: Bool) {
        data.withLock { if stdout { $0.out = bytes } else { $0.err = bytes } }
    }

    var stdout: String { data.withLock { String(decoding: $0.out, as: UTF8.self) } }
    var stderr: String { data.withLock { String(decoding: $0.err, as: UTF8.self) } }
}
