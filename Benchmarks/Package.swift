// swift-tools-version: 6.1
// Micro-benchmarks for Vigil, kept in their own package so the library and its
// CI never fetch or build the benchmark tooling. Run from this folder:
//     swift package benchmark
import PackageDescription

let package = Package(
    name: "VigilBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Vigil", path: ".."),
        // Only MallocInterposer: the default traits also pull in a runtime interposer
        // package that is not available offline here. MallocInterposer is what gives
        // the malloc metrics on Swift 6.3+.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VigilBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VigilCore", package: "Vigil"),
                .product(name: "VigilCrypto", package: "Vigil"),
            ],
            path: "Benchmarks/VigilBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
