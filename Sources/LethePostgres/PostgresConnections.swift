import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import LetheHTTP
import LetheStorage
import PostgresNIO

/// Where a deployment's PostgreSQL database is: `postgres://user[:password]@host[:port]/database[?sslmode=...]`.
///
/// `sslmode` is PostgreSQL's own: `disable`, `prefer` (the default, as libpq's), `require` or
/// `verify-full` (TLS with the server's certificate checked against the system's roots and the
/// host name). A password may come from `PGPASSWORD` instead of the URL, so that it stays out of
/// process listings and unit files.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: String

    /// Why a URL is not one.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static let sslModes = ["disable", "prefer", "require", "verify-full"]

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw Invalid(description: "the database URL must look like postgres://user@host:5432/lethe (got something else)")
        }
        guard let host = url.host, !host.isEmpty else { throw Invalid(description: "the database URL names no host: postgres://user@HOST:5432/lethe") }
        guard let user = url.user, !user.isEmpty else { throw Invalid(description: "the database URL names no user: postgres://USER@\(host)/lethe") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw Invalid(description: "the database URL names no database: postgres://\(user)@\(host)/DATABASE") }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user
        self.password = url.password ?? environment["PGPASSWORD"]
        self.database = database
        var mode = "prefer"
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, Self.sslModes.contains(value) else {
                    throw Invalid(description: "sslmode must be one of \(Self.sslModes.joined(separator: ", ")) (got \(item.value ?? "nothing"))")
                }
                mode = value
            default:
                throw Invalid(description: "the database URL has a setting Lethe does not know: \(item.name) (it knows sslmode)")
            }
        }
        sslMode = mode
    }

    /// The URL without its password, for messages and logs.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode)" }

    func configuration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable":
            tls = .disable
        case "verify-full":
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default:
            var config = TLSConfiguration.makeClientConfiguration()
            // `require` and `prefer`, as libpq means them: encrypted, the certificate not checked.
            config.certificateVerification = .none
            let context = try NIOSSLContext(configuration: config)
            tls = sslMode == "require" ? .require(context) : .prefer(context)
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// A few connections to one database, kept open and handed to one caller at a time.
///
/// Every store call is synchronous to its caller (the store protocols are), so a call takes a
/// connection, runs its statements one after another, blocking its own thread on each answer,
/// and gives it back. The answers arrive on the pool's own event loop, which no caller's code
/// ever runs on, so a blocked caller never stands in the way of what it waits for.
final class PostgresConnections: Sendable {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let group: MultiThreadedEventLoopGroup
    private let idle = NIOLockedValueBox<[PostgresConnection]>([])
    private let nextId = NIOLockedValueBox(0)
    let logger: Logger
    /// Runs the engine's writes off the Swift concurrency pool: they block while they wait.
    let threads: NIOThreadPool

    init(_ location: PostgresLocation, logger: Logger) throws {
        self.location = location
        configuration = try location.configuration()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        threads = NIOThreadPool(numberOfThreads: 8)
        threads.start()
        self.logger = logger
    }

    deinit {
        for connection in idle.withLockedValue({ $0 }) { Self.discard(connection) }
        threads.shutdownGracefully { _ in }
        group.shutdownGracefully { _ in }
    }

    /// Runs `body` with a connection of its own. A connection that failed is closed, not given back.
    func with<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try take()
        do {
            let result = try body(connection)
            give(connection)
            return result
        } catch {
            if connection.isClosed || Self.isConnectionFailure(error) {
                Self.discard(connection)
            } else {
                give(connection)
            }
            throw Self.storeError(error, location: location)
        }
    }

    private func take() throws -> PostgresConnection {
        while let connection = idle.withLockedValue({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        let id = nextId.withLockedValue { $0 += 1; return $0 }
        let loop = group.next()
        let configuration = configuration, logger = logger
        let promise = loop.makePromise(of: PostgresConnection.self)
        // On the pool's own loop, not the Swift concurrency pool: the caller blocks below, and
        // may itself hold one of that pool's few threads.
        Task(executorPreference: EventLoopTaskExecutor(loop)) {
            do {
                promise.succeed(try await PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: logger))
            } catch {
                promise.fail(error)
            }
        }
        do {
            return try promise.futureResult.wait()
        } catch {
            throw StoreError.unavailable("cannot reach the database at \(location): \(Self.describe(error)); "
                + "check that PostgreSQL runs and the URL is right")
        }
    }

    private func give(_ connection: PostgresConnection) {
        let extra = idle.withLockedValue { idle -> Bool in
            guard idle.count < 16 else { return true }
            idle.append(connection)
            return false
        }
        if extra { Self.discard(connection) }
    }

    /// Closes every idle connection (a worker that stops).
    func close() {
        for connection in idle.withLockedValue({ idle in defer { idle = [] }; return idle }) {
            let closing: EventLoopFuture<Void> = connection.close()
            try? closing.wait()
        }
    }

    /// Closes a connection and keeps it until it is closed (PostgresNIO requires a connection
    /// to be closed before it goes away).
    static func discard(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return !(error is StoreError) && !(error is IdentifierSealer.Failure) }
        switch error.code {
        case .server: return isTransient(error)
        case .queryCancelled, .tooManyParameters, .invalidCommandTag: return false
        default: return true
        }
    }

    /// A server error that says the server is going away or starting, or that the connection
    /// broke (SQLSTATE classes 57 and 08), or that the transaction lost a race (40001, 40P01):
    /// nothing was changed, and the same call may succeed later.
    static func isTransient(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("57") || state.hasPrefix("08") || state == "40001" || state == "40P01"
    }

    /// A store error for what PostgreSQL said: constraint violations and the like keep the
    /// server's words; a lost connection says so.
    static func storeError(_ error: any Error, location: PostgresLocation) -> any Error {
        guard let error = error as? PSQLError else { return error }
        if error.code == .server, !isTransient(error) { return StoreError.invalid("PostgreSQL refused: \(describe(error))") }
        return StoreError.unavailable("lost the database at \(location): \(describe(error))")
    }

    /// The server's message (and its SQLSTATE), or the client's error code.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        if let underlying = error.underlying { return "\(error.code.description): \(underlying)" }
        return error.code.description
    }
}

/// One connection, for one caller: statements run one after another, each waited for.
struct PGSession {
    let connection: PostgresConnection
    let logger: Logger
    /// The audit chain's head as this transaction last read or wrote it. Only meaningful while
    /// the transaction holds the chain lock (nobody else can append then), and only for it.
    let chainHead = ChainHead()

    /// Every row of a query.
    @discardableResult
    func rows(_ query: PostgresQuery) throws -> [PGRow] {
        try connection.query(query, logger: logger).wait().rows.map(PGRow.init)
    }

    func row(_ query: PostgresQuery) throws -> PGRow? { try rows(query).first }

    /// Runs a statement; returns the rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> Int {
        try connection.query(query, logger: logger).wait().metadata.rows ?? 0
    }

    /// A single value (the first column of the first row), or nil.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) throws -> T? where T._DecodableType == T {
        guard let row = try row(query) else { return nil }
        return try row.at(0, as: T?.self)
    }
}

/// The chain's last (seq, hash), remembered within one transaction so that a transaction
/// appending several events reads the head once (see `PostgresStore.appendAudit`).
final class ChainHead {
    var last: (seq: Int64, hash: String)?
}

/// A row, read by column name or position.
struct PGRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    subscript<T: PostgresDecodable>(name: String) -> T {
        get throws { try row[name].decode(T.self, context: .default) }
    }

    func at<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        try row[index].decode(T.self, context: .default)
    }
}

extension PostgresConnections {
    /// A transaction. With `chain`, it first takes the audit chain's lock, so its events follow
    /// every other writer's in one line: every writer that appends events takes it before
    /// anything else, so none waits for a row while holding it.
    @discardableResult
    func write<T>(chain: Bool = true, _ body: (PGSession) throws -> T) throws -> T {
        try transaction("BEGIN") { session in
            if chain { try session.execute("SELECT pg_advisory_xact_lock(\(PostgresStore.chainLock))") }
            return try body(session)
        }
    }

    /// Statements outside a transaction (each sees what is committed when it starts).
    func read<T>(_ body: (PGSession) throws -> T) throws -> T {
        try with { connection in try body(PGSession(connection: connection, logger: logger)) }
    }

    /// One consistent view for a long read (a report): a read-only, repeatable-read transaction.
    func snapshot<T>(_ body: (PGSession) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// `body` between `begin` and COMMIT, rolled back when it throws.
    private func transaction<T>(_ begin: PostgresQuery, _ body: (PGSession) throws -> T) throws -> T {
        try with { connection in
            let session = PGSession(connection: connection, logger: logger)
            try session.execute(begin)
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                if !connection.isClosed { _ = try? session.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// `write` on one of the pool's threads, for async callers (the engine): its waiting blocks
    /// no thread of the Swift concurrency pool.
    func writeAsync<T: Sendable>(chain: Bool, _ body: @escaping @Sendable (PGSession) throws -> T) async throws -> T {
        try await threads.runIfActive { try self.write(chain: chain, body) }
    }
}
