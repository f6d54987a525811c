// swift-tools-version: 6.1
// A libFuzzer target for Vigil's decoders, kept in its own package (like Benchmarks/)
// so the main build and its tests never pay for sanitizers. Build and run it with
//     bash scripts/fuzz.sh [SECONDS]
// from the repository root; see Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "VigilFuzz",
    dependencies: [
        .package(name: "Vigil", path: "..")
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CLibFuzzer"),
        // Built with `-sanitize=fuzzer,address -parse-as-library`; libFuzzer calls
        // `LLVMFuzzerTestOneInput` for every input.
        .executableTarget(
            name: "VigilFuzz",
            dependencies: [
                "CLibFuzzer",
                .product(name: "VigilCore", package: "Vigil"),
                .product(name: "VigilCrypto", package: "Vigil"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
