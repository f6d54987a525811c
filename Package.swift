// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Vigil",
    products: [
        .executable(name: "vigil", targets: ["VigilCLI"]),
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilCrypto", targets: ["VigilCrypto"]),
        .library(name: "VigilSim", targets: ["VigilSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
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
        .executableTarget(
            name: "VigilCLI",
            dependencies: [
                "VigilCore",
                "VigilSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VigilCryptoTests", dependencies: ["VigilCrypto"]),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilCrypto"]),
        .testTarget(name: "VigilSimTests", dependencies: ["VigilSim", "VigilCore"]),
    ],
    swiftLanguageModes: [.v6]
)
