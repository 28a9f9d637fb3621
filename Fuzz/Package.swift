// swift-tools-version: 6.1
// libFuzzer targets for Lethe's parsers, in a package of their own so the main build and CI
// never compile them (they need `-sanitize=fuzzer`, which provides `main`). Run them with
// `scripts/fuzz` from the repository root; see Fuzz/README.md.
import PackageDescription

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "LetheFuzz",
    dependencies: [.package(name: "Lethe", path: "..")],
    targets: [
        .executableTarget(name: "FuzzPolicy", dependencies: [.product(name: "LetheCore", package: "Lethe")], swiftSettings: settings),
        .executableTarget(name: "FuzzLedger", dependencies: [.product(name: "LetheCore", package: "Lethe")], swiftSettings: settings),
        .executableTarget(name: "FuzzJSON", dependencies: [.product(name: "LetheCore", package: "Lethe")], swiftSettings: settings),
        .executableTarget(name: "FuzzFilter", dependencies: [.product(name: "LetheCore", package: "Lethe"), .product(name: "LetheSandbox", package: "Lethe")],
                          swiftSettings: settings),
        .executableTarget(name: "FuzzPatch", dependencies: [.product(name: "LetheCore", package: "Lethe"), .product(name: "LetheSandbox", package: "Lethe")],
                          swiftSettings: settings),
    ]
)
