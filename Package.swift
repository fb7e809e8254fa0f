// swift-tools-version: 6.1
import Foundation
import PackageDescription

// The numerics kernels are built for x86-64-v3 (AVX2, FMA: Haswell, Zen and later), where the
// softmax's vectorised exp runs twice as fast and the quantized matrix kernels use AVX2's integer dot products
// (ROTARY_AVX2); ROTARY_PORTABLE=1 builds for baseline x86-64.
// RotaryKernelsAVX512 holds only the AVX-512 VNNI row-dot kernels and the four-input F32 row dots (on raw pointers),
// compiled for x86-64-v4 + VNNI;
// RotaryNumerics calls them only after a run-time check of the processor (TensorKernels.chosen), so one binary runs
// on any x86-64-v3 machine. Portable builds and other architectures compile it to nothing.
#if arch(x86_64)
let optimized = ProcessInfo.processInfo.environment["ROTARY_PORTABLE"] != "1"
let numericsSettings: [SwiftSetting] = optimized
    ? [.unsafeFlags(["-Xcc", "-march=x86-64-v3"]), .define("ROTARY_AVX2")] : []
let avx512Settings: [SwiftSetting] = optimized
    ? [.unsafeFlags(["-Xcc", "-march=x86-64-v4", "-Xcc", "-mavx512vnni"]), .define("ROTARY_AVX512")] : []
#else
let numericsSettings: [SwiftSetting] = []
let avx512Settings: [SwiftSetting] = []
#endif

// Modules depend one way: CMicroHTTPD ← RotaryHTTP; RotaryJSON; COpenBLAS, RotaryKernelsAVX512 ← RotaryNumerics;
// RotaryService joins them; the `rotary` executable sits on top.
let package = Package(
    name: "Rotary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rotary", targets: ["rotary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Wrappers for libmicrohttpd's variadic getters, which Swift cannot call, and for Linux's tcp_info; nothing else.
        .target(name: "CRotaryShims", dependencies: ["CMicroHTTPD"]),
        .target(
            name: "RotaryHTTP",
            dependencies: [
                "CMicroHTTPD", "CRotaryShims", "RotaryLocking",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "RotaryJSON"),
        // One pthread-backed lock for the modules that share state across threads (visible to ThreadSanitizer).
        .target(name: "RotaryLocking"),
        .target(name: "RotaryKernelsAVX512", swiftSettings: avx512Settings),
        .target(name: "RotaryNumerics", dependencies: ["COpenBLAS", "RotaryKernelsAVX512", "RotaryLocking"], swiftSettings: numericsSettings),
        .target(name: "RotaryModel", dependencies: ["RotaryNumerics", "COpenBLAS", "RotaryLocking"]),
        // Chat templates: a Jinja interpreter for what `tokenizer.chat_template` programs use.
        .target(name: "RotaryTemplates", dependencies: ["RotaryJSON"]),
        .target(name: "RotaryTraining", dependencies: ["RotaryModel", "RotaryNumerics"]),
        .target(
            name: "RotaryService",
            dependencies: [
                "RotaryHTTP", "RotaryJSON", "RotaryNumerics", "RotaryModel", "RotaryTemplates", "RotaryLocking",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/default-model.gguf"), .copy("Resources/playground")]
        ),
        .executableTarget(
            name: "rotary",
            dependencies: [
                "RotaryService", "RotaryHTTP", "RotaryNumerics", "RotaryModel", "RotaryTraining", "RotaryTemplates", "RotaryJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "RotaryTestSupport", dependencies: ["RotaryHTTP"], path: "Tests/RotaryTestSupport"),
        .testTarget(name: "RotaryHTTPTests", dependencies: [
            "RotaryHTTP", "RotaryTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "RotaryJSONTests", dependencies: ["RotaryJSON"]),
        .testTarget(name: "RotaryTemplatesTests", dependencies: ["RotaryTemplates", "RotaryJSON"]),
        .testTarget(name: "RotaryModelTests", dependencies: ["RotaryModel", "RotaryNumerics", "RotaryTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "RotaryTrainingTests", dependencies: ["RotaryTraining", "RotaryModel", "RotaryNumerics", "RotaryTestSupport"]),
        .testTarget(name: "RotaryNumericsTests", dependencies: ["RotaryNumerics", "RotaryTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "RotaryServiceTests", dependencies: [
            "RotaryService", "RotaryHTTP", "RotaryJSON", "RotaryNumerics", "RotaryModel", "RotaryTestSupport",
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
