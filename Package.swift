// swift-tools-version:6.1
import PackageDescription

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
    ],
    targets: [
        // OpenBLAS (Debian's libopenblas-dev) on Linux; see Sources/CBLAS/README.md.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(
            name: "Tensors",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .target(name: "NeuralNet", dependencies: ["Tensors"]),
        .target(name: "RecData"),
        .target(
            name: "RecModels",
            dependencies: [
                "RecData", "Tensors",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "RecEval",
            dependencies: [
                "RecData", "RecModels", "Tensors",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "RecKitCLI",
            dependencies: [
                "RecData", "RecModels", "RecEval", "Tensors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "reckit", dependencies: ["RecKitCLI"]),
        .target(name: "_RecTestSupport", dependencies: ["RecData", "RecModels", "Tensors"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "_RecTestSupport"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Tensors", "_RecTestSupport"]),
        .testTarget(name: "RecDataTests", dependencies: ["RecData", "_RecTestSupport"]),
        .testTarget(name: "RecModelsTests", dependencies: ["RecModels", "RecData", "Tensors", "_RecTestSupport"]),
        .testTarget(name: "RecEvalTests", dependencies: ["RecEval", "RecModels", "RecData", "_RecTestSupport"]),
        .testTarget(
            name: "RecKitCLITests",
            dependencies: [
                "RecKitCLI", "RecData", "RecModels", "RecEval", "_RecTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["Snapshots"]
        ),
    ]
)
