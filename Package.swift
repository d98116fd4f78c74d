// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "exchange",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ExchangeCore", targets: ["ExchangeCore"]),
        .library(name: "Matching", targets: ["Matching"]),
        .library(name: "ExchangeMatchingC", type: .dynamic, targets: ["MatchingC"]),
        .executable(name: "exchange-bench", targets: ["exchange-bench"]),
        .executable(name: "exchange-sim", targets: ["exchange-sim"]),
        .executable(name: "exchanged", targets: ["exchanged"]),
        .executable(name: "exchangectl", targets: ["exchangectl"]),
        .executable(name: "exchange-load", targets: ["exchange-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "ExchangeCore", swiftSettings: strict),
        .target(
            name: "Matching",
            dependencies: ["ExchangeCore"],
            swiftSettings: strict
        ),
        .target(name: "Raft", swiftSettings: strict),
        .target(name: "Simulation", dependencies: ["Raft", "Storage"], swiftSettings: strict),
        .target(name: "CCRC32C"),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PostTrade",
            dependencies: [
                "Kafka", "Postgres", "ExchangeCore", "Matching", "Wire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(name: "Systemd", dependencies: ["CSystemd"], swiftSettings: strict),
        .target(name: "Storage", dependencies: ["Raft", "CCRC32C"], swiftSettings: strict),
        .target(
            name: "ClusterConfig",
            dependencies: ["ExchangeCore", "Raft", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "Cluster",
            dependencies: [
                "ExchangeCore", "Matching", "Raft", "Storage", "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ExchangeClient",
            dependencies: [
                "ExchangeCore", "Matching", "Wire", "ClusterConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "LoadGenerator",
            dependencies: [
                "ExchangeClient", "ClusterConfig", "ExchangeCore", "Matching", "Wire", "Workloads",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "exchange-load",
            dependencies: [
                "LoadGenerator", "ClusterConfig", "ExchangeClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ExchangeOps",
            dependencies: [
                "Cluster", "ClusterConfig", "ExchangeClient", "ExchangeCore", "Matching", "Wire", "Raft", "PostTrade", "Postgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "exchangectl",
            dependencies: [
                "ExchangeOps", "PostTrade", "Postgres", "ClusterConfig", "Cluster", "ExchangeClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DevCluster",
            dependencies: [
                "ExchangeOps", "Cluster", "ClusterConfig", "ExchangeCore", "Raft", "PostTrade", "Postgres", "Kafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "exchanged",
            dependencies: [
                "Cluster", "ClusterConfig", "Systemd", "Storage", "Matching", "ExchangeCore", "Raft",
                "DevCluster", "LoadGenerator", "ExchangeOps", "ExchangeClient", "PostTrade", "Kafka", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(name: "Wire", dependencies: ["ExchangeCore", "Matching", "Raft"], swiftSettings: strict),
        .executableTarget(
            name: "exchange-sim",
            dependencies: ["Simulation", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "storage-crash-child",
            dependencies: ["Storage", "Raft"],
            swiftSettings: strict
        ),
        .target(name: "MatchingC", dependencies: ["Matching", "ExchangeCore"], swiftSettings: strict),
        .target(name: "Workloads", dependencies: ["Matching", "ExchangeCore"], swiftSettings: strict),
        .executableTarget(
            name: "exchange-bench",
            dependencies: [
                "Matching", "ExchangeCore", "Workloads", "Raft", "Storage",
                "DevCluster", "LoadGenerator", "ExchangeClient", "ClusterConfig", "ExchangeOps",
                "PostTrade", "Kafka", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MatchingBenchmarks",
            dependencies: [
                "Matching", "ExchangeCore", "Workloads",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/MatchingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .testTarget(name: "RaftTests", dependencies: ["Raft"], swiftSettings: strict),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Raft"], swiftSettings: strict),
        .testTarget(
            name: "StorageTests", dependencies: ["Storage", "Raft", "storage-crash-child"], swiftSettings: strict),
        .testTarget(name: "ClusterConfigTests", dependencies: ["ClusterConfig", "ExchangeCore"], swiftSettings: strict),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd"], swiftSettings: strict),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Cluster", "Matching", "Raft", "Storage", "Wire", "ExchangeCore", "exchanged", "ExchangeClient",
                "ClusterConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ExchangeClientTests",
            dependencies: [
                "ExchangeClient", "Wire", "ExchangeCore", "Matching", "ClusterConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator", "ExchangeClient", "ClusterConfig", "Wire", "ExchangeCore", "Matching", "Workloads",
                "ExchangeOps", "Cluster", "Storage", "Raft",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ExchangeOpsTests",
            dependencies: [
                "ExchangeOps", "Cluster", "ClusterConfig", "ExchangeClient", "ExchangeCore", "Matching", "Wire", "Raft",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "DevClusterTests",
            dependencies: [
                "DevCluster", "ExchangeOps", "LoadGenerator", "ExchangeClient", "Cluster", "ClusterConfig",
                "ExchangeCore", "Matching", "Wire", "Raft", "exchanged", "exchangectl", "exchange-load",
                "PostTrade", "Postgres", "Kafka",
            ],
            swiftSettings: strict),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"], swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres"], swiftSettings: strict),
        .testTarget(
            name: "PostTradeTests",
            dependencies: ["PostTrade", "Kafka", "Postgres", "Matching", "ExchangeCore", "Wire"],
            swiftSettings: strict),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Matching", "Raft", "ExchangeCore"], swiftSettings: strict),
        .testTarget(name: "ExchangeCoreTests", dependencies: ["ExchangeCore"], swiftSettings: strict),
        .testTarget(
            name: "MatchingTests", dependencies: ["Matching", "ExchangeCore", "Workloads"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
