// swift-tools-version:6.1
import Foundation
import PackageDescription

/// Numeric targets are compiled for the build machine's vector units when it has AVX2 and FMA
/// (SwiftPM builds from source, so the binary runs where it was built). Without them, x86-64's
/// baseline has no FMA and SIMD code runs at a fraction of the speed; see docs/architecture.md.
/// `RECKIT_PORTABLE=1` turns this off.
let vectorSettings: [SwiftSetting] = {
    #if arch(x86_64) && os(Linux)
    let environment = ProcessInfo.processInfo.environment
    guard environment["RECKIT_PORTABLE"] == nil,
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })?.split(separator: " "),
        flags.contains("avx2"), flags.contains("fma")
    else { return [] }
    return [.unsafeFlags(["-target-cpu", "haswell"])]
    #else
    return []
    #endif
}()

/// hnswlib's distance kernels pick AVX/AVX-512 code when the compiler targets it; the shim is
/// compiled optimized even in debug builds, where an unoptimized graph search is 20× slower.
let hnswSettings: [CXXSetting] = {
    var flags = ["-O3"]
    #if arch(x86_64) && os(Linux)
    if ProcessInfo.processInfo.environment["RECKIT_PORTABLE"] == nil,
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    {
        let available = Set(line.split(separator: " "))
        if available.contains("avx2") && available.contains("fma") { flags += ["-mavx2", "-mfma"] }
    }
    #endif
    return [.unsafeFlags(flags)]
}()

let package = Package(
    name: "RecKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "reckit", targets: ["reckit"]),
        .library(name: "RecModels", targets: ["RecModels"]),
        .library(name: "RecEval", targets: ["RecEval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // OpenBLAS (Debian's libopenblas-dev) on Linux; see Sources/CBLAS/README.md.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(
            name: "Tensors",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: vectorSettings
        ),
        .target(name: "NeuralNet", dependencies: ["Tensors"], swiftSettings: vectorSettings),
        .target(name: "RecData"),
        .target(
            name: "RecModels",
            dependencies: [
                "RecData", "Tensors", "NeuralNet",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: vectorSettings
        ),
        // hnswlib (Debian's libhnswlib-dev, header-only) behind an extern "C" shim.
        .target(name: "CHNSW", cxxSettings: hnswSettings),
        .target(name: "RecRetrieval", dependencies: ["RecData", "RecModels", "Tensors", "CHNSW"]),
        .target(name: "RecEval", dependencies: ["RecData", "RecModels", "RecRetrieval", "Tensors"]),
        // Two backends of one store: SQLite (GRDB) and PostgreSQL (postgres-nio).
        .target(
            name: "RecStore",
            dependencies: [
                "RecData",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the bulk import's binding (GRDB's own system library).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The continuous trainer's round: train from the store, gate, publish, delete old models.
        .target(name: "RecTrainer", dependencies: ["RecData", "RecModels", "RecEval", "RecStore"]),
        // The recommendation flow: its configuration (TOML, through TOMLKit over toml++), and the
        // sources, merge and rules that turn a user's request into a ranked list.
        .target(
            name: "RecFlow",
            dependencies: [
                "RecData", "RecModels", "RecRetrieval", "RecStore", .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .target(
            name: "RecServer",
            dependencies: [
                "RecData", "RecModels", "RecRetrieval", "RecStore", "RecFlow", "RecEval",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("openapi.json"), .copy("index.html"), .copy("dashboard.html")]
        ),
        .target(
            name: "RecKitCLI",
            dependencies: [
                "RecData", "RecModels", "RecEval", "RecRetrieval", "Tensors", "NeuralNet", "RecStore", "RecServer",
                "RecTrainer", "RecFlow",
                // `reckit bench gemm` calls cblas_sgemm directly, as the baseline for BLAS.gemm.
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "reckit",
            dependencies: ["RecKitCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "_RecTestSupport", dependencies: ["RecData"]),
        // Both event-store backends for the tests (a PostgreSQL database per test).
        .target(
            name: "_RecStoreTestSupport",
            dependencies: [
                "RecStore", "_RecTestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "RecData", "_RecTestSupport"]),
        .testTarget(
            name: "NeuralNetTests", dependencies: ["NeuralNet", "Tensors", "_RecTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "RecDataTests", dependencies: ["RecData", "_RecTestSupport"]),
        .testTarget(
            name: "RecFlowTests",
            dependencies: ["RecFlow", "RecModels", "RecData", "RecStore", "_RecTestSupport", "_RecStoreTestSupport"]),
        .testTarget(
            name: "RecStoreTests",
            dependencies: [
                "RecStore", "RecData", "_RecTestSupport", "_RecStoreTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "RecServerTests",
            dependencies: [
                "RecServer", "RecStore", "RecModels", "RecData", "RecFlow", "_RecTestSupport", "_RecStoreTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "RecModelsTests", dependencies: ["RecModels", "RecData", "Tensors", "NeuralNet", "_RecTestSupport"]),
        .testTarget(
            name: "RecRetrievalTests",
            dependencies: ["RecRetrieval", "RecModels", "RecData", "Tensors", "_RecTestSupport"]),
        .testTarget(name: "RecEvalTests", dependencies: ["RecEval", "RecModels", "RecData", "Tensors", "_RecTestSupport"]),
        .testTarget(
            name: "RecKitCLITests",
            dependencies: [
                "RecKitCLI", "RecData", "RecModels", "RecEval", "RecStore", "RecTrainer", "Tensors", "_RecTestSupport",
                "_RecStoreTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["Snapshots"]
        ),
    ],
    cxxLanguageStandard: .cxx17
)

/// `RECKIT_NUMERIC_ONLY=1` keeps only the numeric core and its tests: `scripts/test.sh` runs those
/// again in release (where Swift drops preconditions), and this way that build compiles none of
/// the server's dependencies (postgres-nio's TLS stack alone is minutes of C++).
if ProcessInfo.processInfo.environment["RECKIT_NUMERIC_ONLY"] != nil {
    let numeric: Set<String> = ["CBLAS", "Tensors", "NeuralNet", "RecData", "_RecTestSupport", "TensorsTests", "NeuralNetTests"]
    package.targets = package.targets.filter { numeric.contains($0.name) }
    package.products = []
    package.dependencies = [.package(url: "https://github.com/apple/swift-numerics", from: "1.1.1")]
}
