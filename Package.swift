// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Lethe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lethe", targets: ["lethe"]),
        .library(name: "LetheCore", targets: ["LetheCore"]),
        .library(name: "LetheHTTP", targets: ["LetheHTTP"]),
        .library(name: "LetheStorage", targets: ["LetheStorage"]),
        .library(name: "LetheDrivers", targets: ["LetheDrivers"]),
        .library(name: "LetheSCIM", targets: ["LetheSCIM"]),
        .library(name: "LetheStore", targets: ["LetheStore"]),
        .library(name: "LethePostgres", targets: ["LethePostgres"]),
        .library(name: "LetheEngine", targets: ["LetheEngine"]),
        .library(name: "LetheReports", targets: ["LetheReports"]),
        .library(name: "LetheSandbox", targets: ["LetheSandbox"]),
        .library(name: "LetheApp", targets: ["LetheApp"]),
        .library(name: "LetheDemo", targets: ["LetheDemo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in the graph through Hummingbird; named for NIOHTTPTypes (the server's
        // request-header deadline handler reads HTTP parts).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Pure heart: model, policies and their validation, planner. No network, no database.
        .target(
            name: "LetheCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // HTTP for every outgoing call (SCIM targets, webhooks): the one-method transport protocol,
        // its AsyncHTTPClient implementation and the pacing wrapper.
        .target(
            name: "LetheHTTP",
            dependencies: [
                "LetheCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What any store is: the protocols (cut by who uses them), the records, StoreError, the
        // pseudonymiser and the audit chain's hashing. No database here.
        .target(
            name: "LetheStorage",
            dependencies: ["LetheCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The target-driver seam: what the engine asks of any kind of target.
        .target(
            name: "LetheDrivers",
            dependencies: ["LetheCore", "LetheStorage"],
            swiftSettings: swiftSettings
        ),
        // SCIM 2.0: the client (filters, PatchOp, errors, verification reads) and the SCIM driver
        // (`SCIMDriver`, `ActionExecutor`).
        .target(
            name: "LetheSCIM",
            dependencies: [
                "LetheCore", "LetheHTTP", "LetheStorage", "LetheDrivers",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The SQLite store (GRDB), the embedded default: requests, actions, attempts and the
        // hash-chained audit log, behind LetheStorage's protocols.
        .target(
            name: "LetheStore",
            dependencies: [
                "LetheCore", "LetheStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the audit chain walk that reads columns as bytes.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store (PostgresNIO), for a deployment of several workers: the same
        // protocols and migrations as the SQLite store, with leases and SKIP LOCKED claims.
        .target(
            name: "LethePostgres",
            dependencies: [
                "LetheCore", "LetheStorage", "LetheHTTP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The engine: claims due actions and carries them out against the targets; a Service.
        .target(
            name: "LetheEngine",
            dependencies: [
                "LetheCore", "LetheStorage", "LetheDrivers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // In-memory SCIM 2.0 targets with fault injection, on SwiftNIO: the demo, fault tests, benchmarks.
        .target(
            name: "LetheSandbox",
            dependencies: [
                "LetheCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Signed reports and certificates: canonical JSON, Ed25519, CSV and HTML renderings.
        .target(
            name: "LetheReports",
            dependencies: ["LetheCore", "LetheStorage", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The composition root (Runtime): state directory, policies from disk, clients, engine,
        // intake, sweeps, reports. The CLI and the tests build their graph here. No sandbox.
        .target(
            name: "LetheApp",
            dependencies: [
                "LetheCore", "LetheHTTP", "LetheStorage", "LetheDrivers", "LetheSCIM", "LetheStore", "LethePostgres", "LetheEngine", "LetheReports",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Writes a text file into a Swift string at build time (the EmbedOpenAPI plugin's tool).
        .executableTarget(name: "embed-text", swiftSettings: swiftSettings),
        // Embeds docs/openapi.yaml into LetheServer: one file is both the document and what is served.
        .plugin(name: "EmbedOpenAPI", capability: .buildTool(), dependencies: ["embed-text"]),
        // `lethe serve`: the HTTP API (Hummingbird) over a Runtime, with tokens and roles.
        .target(
            name: "LetheServer",
            dependencies: [
                "LetheCore", "LetheApp", "LetheStorage", "LetheEngine", "LetheReports", "LetheHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedOpenAPI"]
        ),
        // `lethe demo`: the sandbox and the embedded reference policies wired to a Runtime.
        .target(
            name: "LetheDemo",
            dependencies: [
                "LetheCore", "LetheApp", "LetheEngine", "LetheReports", "LetheSandbox", "LetheStorage",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lethe",
            dependencies: [
                "LetheCore", "LetheHTTP", "LetheSCIM", "LetheStorage", "LethePostgres", "LetheEngine", "LetheReports", "LetheSandbox", "LetheApp", "LetheDemo", "LetheServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheCoreTests",
            dependencies: ["LetheCore", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        // Benchmarks (see Benchmarks/README.md): `swift run -c release lethe-bench ...`.
        .executableTarget(
            name: "lethe-bench",
            dependencies: [
                "LetheCore", "LetheStorage", "LetheStore", "LetheReports", "LetheApp", "LetheSandbox", "LetheTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/lethe-bench",
            swiftSettings: swiftSettings
        ),
        // Test support shared by every test target: the command runner, fakes, peers.
        .target(
            name: "LetheTesting",
            dependencies: ["LetheCore", "LetheHTTP", "LetheSCIM", "LetheStorage", "LetheStore", "LethePostgres", "LetheDrivers", "LetheEngine", "LetheApp", "LetheSandbox", "LetheDemo"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheSCIMTests",
            dependencies: ["LetheCore", "LetheHTTP", "LetheSCIM", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheStoreTests",
            dependencies: ["LetheCore", "LetheStorage", "LetheStore", "LethePostgres", "LetheTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheEngineTests",
            dependencies: ["LetheCore", "LetheEngine", "LetheStorage", "LetheStore", "LetheHTTP", "LetheSCIM", "LetheDrivers", "LetheApp", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheReportsTests",
            dependencies: ["LetheCore", "LetheReports", "LetheStorage", "LetheStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheAppTests",
            dependencies: ["LetheApp", "LetheStorage", "LetheStore", "LetheCore", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheSandboxTests",
            dependencies: ["LetheCore", "LetheSandbox", "LetheApp", "LetheDemo", "LetheEngine", "LetheReports", "LetheStorage", "LetheStore", "LetheHTTP", "LetheSCIM", "LetheDrivers", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LetheDemoTests",
            dependencies: ["LetheCore", "LetheDemo", "LetheTesting"],
            swiftSettings: swiftSettings
        ),
        // Drives the built `lethe` binary as a user would.
        .testTarget(
            name: "LetheCLITests",
            dependencies: [
                "lethe", "LetheCore", "LetheApp", "LetheReports", "LetheTesting", "LetheSandbox", "LetheStorage", "LetheStore", "LetheHTTP", "LetheSCIM", "LetheServer",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
