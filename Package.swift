// swift-tools-version:6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Linux only: the event loop waits on libzmq's descriptors with epoll and is woken through an
// eventfd (Sources/CZeroMQ/shim.h), both Linux system calls. So no `platforms:` entry claims
// macOS or any other system. Built and tested with Swift 6.3.1 against libzmq 4.3 (Debian's
// libzmq3-dev).
let package = Package(
    name: "ZMesh",
    products: [
        .library(name: "ZMesh", targets: ["ZMesh"]),
        .library(name: "ZMeshPrometheus", targets: ["ZMeshPrometheus"]),
        .library(name: "ZMeshNodeProgram", targets: ["ZMeshNodeProgram"]),
        .executable(name: "zmesh", targets: ["zmesh"]),
        .executable(name: "GreeterService", targets: ["GreeterService"]),
        .executable(name: "GreeterClient", targets: ["GreeterClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Only ZMeshPrometheus, ZMeshEtcd (and the zmesh command) build these: users of the core never build NIO.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // `swift package generate-documentation --target ZMesh` (scripts/docs.sh): a command
        // plugin only, linked into no product.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // libzmq from the system (Debian: libzmq3-dev), plus a tiny C shim for eventfd and
        // epoll: the reason the package builds on Linux only.
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // The monotonic clock every layer shares: the loop's timers, and the time the mesh's
        // pure state machines are given (no libzmq here).
        .target(
            name: "MeshClock",
            swiftSettings: strictSettings
        ),
        // A thin, safe Swift binding over libzmq and the event loop that owns its sockets.
        .target(
            name: "ZeroMQ",
            dependencies: [
                "CZeroMQ",
                "MeshClock",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),
        // The mesh: envelope protocol, client, service node, registry, broker, topology files.
        .target(
            name: "ZMesh",
            dependencies: [
                "ZeroMQ",
                "MeshClock",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        // What programs built on ZMesh use and the library leaves out: the demo services
        // (echo, kv, sleep) and the ready file scripts/mesh-up.sh waits for (the library reads
        // no environment variable).
        .target(
            name: "ZMeshBuiltins",
            dependencies: ["ZMesh"],
            swiftSettings: strictSettings
        ),
        // A node program of one's own with the flags, environment, signals and drain of
        // `zmesh node`: NodeOptions (swift-argument-parser), NodeProgram.run. A target of its
        // own, so the core never depends on swift-argument-parser.
        .target(
            name: "ZMeshNodeProgram",
            dependencies: [
                "ZMesh",
                "ZMeshBuiltins",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Prometheus scraping of a node: the mesh's swift-metrics through swift-prometheus,
        // served at GET /metrics by a small SwiftNIO HTTP/1 server. A target of its own, so
        // programs that do not scrape never build NIO.
        .target(
            name: "ZMeshPrometheus",
            dependencies: [
                "ZMesh",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // etcd's v3 API through its JSON gateway, on async-http-client: a target of its own,
        // so users of the built-in registry never build it.
        .target(
            name: "ZMeshEtcd",
            dependencies: [
                "ZMesh",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The `zmesh` command line.
        .executableTarget(
            name: "zmesh",
            dependencies: [
                "ZMesh",
                "ZMeshBuiltins",
                "ZMeshPrometheus",
                "ZMeshEtcd",
                "ZMeshNodeProgram",
                "ZeroMQ",
                "MeshClock",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // Examples a user copies from: a typed service of one's own, and its client.
        .target(
            name: "GreeterAPI",
            dependencies: ["ZMesh"],
            path: "Examples/GreeterAPI",
            swiftSettings: strictSettings
        ),
        // The floor of the transport layer (loop, socket actors, coalescing; no mesh logic),
        // run beside the raw C echo and the mesh by scripts/bench.sh --floor.
        .executableTarget(
            name: "zmesh-loop-floor",
            dependencies: ["ZeroMQ", "MeshClock"],
            path: "Benchmarks/LoopFloor",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GreeterService",
            dependencies: [
                "ZMesh", "ZMeshBuiltins", "ZMeshNodeProgram", "GreeterAPI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/GreeterService",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GreeterClient",
            dependencies: ["ZMesh", "GreeterAPI", .product(name: "Logging", package: "swift-log")],
            path: "Examples/GreeterClient",
            swiftSettings: strictSettings
        ),
        // What the test targets share: waiting for a condition, a manual clock, and an
        // in-process transport (the mesh's logic across roles, with no sockets or sleeps).
        .target(
            name: "ZMeshTestSupport",
            dependencies: [
                "ZMesh", "MeshClock",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/ZMeshTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZMeshEtcdTests",
            dependencies: ["ZMeshEtcd", "ZMesh", "ZMeshTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZeroMQTests",
            dependencies: ["ZeroMQ", "MeshClock", "ZMeshTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZMeshNodeProgramTests",
            dependencies: ["ZMeshNodeProgram", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZMeshPrometheusTests",
            dependencies: [
                "ZMeshPrometheus",
                "ZMesh",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZMeshTests",
            dependencies: [
                "ZMesh",
                "ZMeshBuiltins",
                "ZMeshEtcd",
                "ZeroMQ",
                "MeshClock",
                "ZMeshTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
