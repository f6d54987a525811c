// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Vigil",
    products: [
        .executable(name: "vigil", targets: ["VigilCLI"]),
        // Floods one agent with valid sealed packets (scripts/bench-absorb.sh).
        .executable(name: "vigil-loadgen", targets: ["VigilLoadGen"]),
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilCrypto", targets: ["VigilCrypto"]),
        .library(name: "VigilSim", targets: ["VigilSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // libsodium, found through pkg-config (Debian: libsodium-dev).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(name: "VigilCrypto", dependencies: ["CSodium"]),
        // Pure protocol logic: no I/O, no clock, randomness injected.
        .target(name: "VigilCore", dependencies: ["VigilCrypto"]),
        // Virtual clock + simulated lossy network running real VigilCore instances.
        .target(
            name: "VigilSim",
            dependencies: [
                "VigilCore",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The I/O shell: sealed UDP/TCP transport, timers, data directory, config
        // files, control API, metrics endpoint. Protocol logic stays in VigilCore.
        // Metrics are made through an injected swift-metrics factory; only the
        // executable makes the Prometheus registry and bootstraps.
        .target(
            name: "VigilAgent",
            dependencies: [
                "VigilCore",
                "VigilCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Fencing: the native Redfish client, and fence agents / ipmitool /
                // scripts as child processes (own process group, killed on timeout).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                // The HA journal: SQLite (the system's libsqlite3, Debian: libsqlite3-dev).
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "VigilCLI",
            dependencies: [
                "VigilCore",
                "VigilSim",
                "VigilAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "VigilLoadGen",
            dependencies: [
                "VigilCore",
                "VigilCrypto",
                "VigilAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VigilCryptoTests", dependencies: ["VigilCrypto"]),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilCrypto"]),
        .testTarget(name: "VigilSimTests", dependencies: ["VigilSim", "VigilCore"]),
        .testTarget(
            name: "VigilAgentTests",
            dependencies: [
                "VigilAgent", "VigilCore", "VigilCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Fencing tests read the Redfish emulator's state directly.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
