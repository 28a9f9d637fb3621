import Crypto
import Foundation
import LetheCore
import LetheReports
import LetheStorage
import LetheStore
import LethePostgres
#if canImport(Glibc)
import Glibc
#endif

/// Lethe's state directory (default `.lethe/`): the database, the pseudonym key
/// and the report signing key. Keys are created by `lethe init` with mode 0600.
public struct StateDirectory: Sendable {
    public let path: String
    /// A PostgreSQL database shared by every worker of a deployment (`postgres://...`); nil for
    /// the embedded default, SQLite in the directory. With one, the directory holds only the keys.
    public let databaseURL: String?

    public init(path: String, databaseURL: String? = nil) {
        self.path = path
        self.databaseURL = databaseURL
    }

    static let markerName = "lethe-state.json"
    public var databasePath: String { file("lethe.db") }
    public var pseudonymKeyPath: String { file("pseudonym.key") }
    public var signingKeyPath: String { file("signing.key") }
    /// The key that seals open requests' identifiers in the database (`IdentifierSealer`).
    public var identifiersKeyPath: String { file("identifiers.key") }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Why the directory cannot be used.
    public enum Problem: Error, Sendable, CustomStringConvertible {
        case notInitialized(String)
        case notLethes(String)
        case io(String)
        /// Others can read or enter the directory (its mode, in octal).
        case notPrivate(String, mode: Int)
        /// The directory has history, but its database (or a key) is gone: never silently a new one.
        case lost(file: String, directory: String)
        /// A worker joining a shared database has no copy of the deployment's key.
        case missingSharedKey(file: String, directory: String, expected: String)
        /// A key file is not the one the database has seen (ids: the first 16 hex digits of its SHA-256).
        case keyMismatch(file: String, directory: String, expected: String, found: String)

        public var description: String {
            switch self {
            case .notInitialized(let path): "no Lethe state in '\(path)'"
            case .notLethes(let path): "'\(path)' exists and is not a Lethe state directory"
            case .io(let detail): detail
            case .notPrivate(let path, let mode):
                "the state directory '\(path)' can be read by others (mode \(String(mode, radix: 8))): it holds identifiers and keys"
            case .lost(let file, let directory):
                "'\(directory)' has history but \(file) is missing or empty; restore it from your backup (with lethe.db-wal if there is one). "
                    + "Lethe will not start over: a new database or key would break the audit chain, the pseudonyms or the report keys"
            case .missingSharedKey(let file, let directory, let expected):
                "'\(directory)' has no \(file), and the shared database was written with key \(expected): copy the deployment's key files "
                    + "(pseudonym.key, signing.key, identifiers.key; read-only, mode 0600) from another worker; nothing was changed"
            case .keyMismatch(let file, let directory, let expected, let found):
                "'\(directory)/\(file)' is key \(found), but its database was written with key \(expected): every worker of one deployment "
                    + "needs the same key files (copy them, read-only, mode 0600); nothing was changed"
            }
        }
    }

    /// Refuses a directory that others can read or enter.
    func requirePrivate() throws(Problem) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let mode = Int(info.st_mode & 0o777)
        if mode & 0o077 != 0 { throw .notPrivate(path, mode: mode) }
    }

    /// Refuses a directory with history whose database is missing or empty (SQLite only: a
    /// PostgreSQL database is checked by what it records, the key ids).
    func requireDatabase() throws(Problem) {
        guard databaseURL == nil else { return }
        // stat, not FileManager's attributes, which also look up the owner's name in /etc/passwd
        // and /etc/group on every command.
        var info = stat()
        if stat(databasePath, &info) != 0 || info.st_size == 0 { throw .lost(file: "lethe.db", directory: path) }
    }

    /// True when the directory holds Lethe's marker.
    public var isInitialized: Bool { FileManager.default.fileExists(atPath: file(Self.markerName)) }

    /// Creates the directory, the database and the keys; does nothing to what already exists.
    /// Refuses a non-empty directory that is not Lethe's.
    /// - Returns: true when something was created.
    @discardableResult
    public func initialize(now: Date = Date()) throws -> Bool {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Problem.notLethes(path) }
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            // A new worker of a deployment starts from a directory holding only the deployment's
            // key files, copied there: that is Lethe's too.
            let keyFiles: Set<String> = ["pseudonym.key", "signing.key", "identifiers.key"]
            if !contents.isEmpty && !isInitialized && !Set(contents).isSubset(of: keyFiles) { throw Problem.notLethes(path) }
            // An empty directory made by hand (or an older Lethe) is made private before anything goes in.
            if contents.isEmpty { _ = chmod(path, 0o700) }
            if isInitialized {
                // A directory with history never gets a new database or key behind its back.
                try requireDatabase()
                for key in [pseudonymKeyPath, signingKeyPath] where !fm.fileExists(atPath: key) {
                    throw Problem.lost(file: (key as NSString).lastPathComponent, directory: path)
                }
            }
        } else {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Problem.io("cannot create '\(path)': \(error.localizedDescription)")
            }
        }
        var created = false
        if !isInitialized {
            let marker = "{\"lethe\":\"state\",\"version\":1,\"created\":\"\(Timestamp.iso8601(now))\"}\n"
            try write(Data(marker.utf8), to: file(Self.markerName), mode: 0o644)
            created = true
        }
        if !fm.fileExists(atPath: pseudonymKeyPath) {
            try write(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }, to: pseudonymKeyPath, mode: 0o600)
            created = true
        }
        if !fm.fileExists(atPath: signingKeyPath) {
            try write(ReportSignerFactory.newRawKey(), to: signingKeyPath, mode: 0o600)
            created = true
        }
        if databaseURL == nil, !fm.fileExists(atPath: databasePath) { created = true }
        let database = try openStore()
        try database.setMeta("lethe.state.version", "1")
        try archivePublicKey()
        return created
    }

    /// A line on stderr before slow work starts (a migration going through a large database).
    static func notice(_ text: String) {
        FileHandle.standardError.write(Data("lethe: \(text)\n".utf8))
    }

    /// Opens the database of an initialized directory: private, and not lost.
    public func openDatabase() throws -> any Store {
        guard isInitialized else { throw Problem.notInitialized(path) }
        try requirePrivate()
        try requireDatabase()
        return try openStore()
    }

    /// The SQLite database of an initialized directory (benchmarks and tests that measure or
    /// inspect the embedded store itself).
    public func openSQLite() throws -> AppDatabase {
        guard databaseURL == nil, let database = try openDatabase() as? AppDatabase else {
            throw Problem.io("'\(path)' works on a PostgreSQL database, not on SQLite")
        }
        return database
    }

    /// The meta key naming the pseudonym key a database's pseudonyms were made with.
    static let pseudonymKeyMeta = "pseudonym.key_id"
    /// The meta key naming the signing key a deployment's reports and checkpoints are signed with.
    static let signingKeyMeta = "signing.key_id"

    /// Opens the database with the identifiers key (made here, once, for a database that never
    /// had one: it is then sealed in place), and refuses a pseudonym key that is not the one the
    /// database has seen, so no worker files pseudonyms that match nobody.
    func openStore() throws -> any Store {
        let fm = FileManager.default
        if !fm.fileExists(atPath: identifiersKeyPath) {
            if let databaseURL {
                // A new worker of a deployment whose database has sealed identifiers needs the
                // deployment's key, never one of its own.
                let known = try PostgresStore(url: databaseURL, sealer: nil).meta("identifiers.key_id")
                if let known { throw Problem.missingSharedKey(file: "identifiers.key", directory: path, expected: known) }
            } else if fm.fileExists(atPath: databasePath) {
                let known = try AppDatabase.open(path: databasePath, notice: Self.notice).meta("identifiers.key_id")
                if known != nil { throw Problem.lost(file: "identifiers.key", directory: path) }
            }
            try write(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }, to: identifiersKeyPath, mode: 0o600)
        }
        guard let key = fm.contents(atPath: identifiersKeyPath), key.count >= 32 else {
            throw Problem.lost(file: "identifiers.key", directory: path)
        }
        let database: any Store
        if let databaseURL {
            database = try PostgresStore(url: databaseURL, sealer: IdentifierSealer(key: key))
        } else {
            database = try AppDatabase.open(path: databasePath, sealer: IdentifierSealer(key: key), notice: Self.notice)
            _ = chmod(databasePath, 0o600)
        }
        // Every worker of a deployment pseudonymises and signs with the same keys: a key the
        // database has not seen is refused before anything is filed or signed with it.
        for (file, keyPath, meta) in [("pseudonym.key", pseudonymKeyPath, Self.pseudonymKeyMeta), ("signing.key", signingKeyPath, Self.signingKeyMeta)] {
            guard let key = fm.contents(atPath: keyPath), key.count >= 32 else { continue }
            let id = String(Hex.encode(SHA256.hash(data: key)).prefix(16))
            if let known = try database.meta(meta) {
                guard known == id else { throw Problem.keyMismatch(file: file, directory: path, expected: known, found: id) }
            } else {
                try database.setMeta(meta, id)
            }
        }
        return database
    }

    /// The pseudonym key.
    public func pseudonymizer() throws -> Pseudonymizer {
        guard isInitialized else { throw Problem.notInitialized(path) }
        guard let key = FileManager.default.contents(atPath: pseudonymKeyPath), key.count >= 32 else {
            throw Problem.lost(file: "pseudonym.key", directory: path)
        }
        return Pseudonymizer(key: key)
    }

    private func write(_ data: Data, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: mode]) else {
            throw Problem.io("cannot write \(path)")
        }
        // createFile keeps an existing file's mode; make sure the key is private.
        _ = chmod(path, mode_t(mode))
    }

    /// An exclusive, non-blocking lock on `name` in the directory, held until the returned
    /// lock is released or the process ends (the kernel drops it even on kill -9).
    public func lock(_ name: String) throws -> FileLock? {
        try FileLock.acquire(file(name))
    }
}

/// A `flock(2)` lock.
public final class FileLock: Sendable {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// The lock, or nil when another process holds it.
    static func acquire(_ path: String) throws -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw StateDirectory.Problem.io("cannot open lock file \(path)") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return FileLock(descriptor: fd)
    }

    /// The pid written by the holder, for messages.
    public static func holder(of path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Closing the descriptor releases the lock.
    deinit {
        close(descriptor)
    }
}
