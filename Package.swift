// swift-tools-version:6.1
// Parley: a persistent multi-user-chat service attached to an XMPP server as an
// external component (XEP-0114). The module layout follows DESIGN.md §2: each
// module depends only on those above it in this list.
import PackageDescription

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // The HTTP listener (health, metrics, web logs) and the web logs' page templates.
        // Hummingbird's default traits pull swift-configuration in, which Parley does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        // HTTP parts as Hummingbird's pipeline carries them, for answering cached pages on the event loop.
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0", traits: []),
    ],
    targets: [
        // System libraries: modulemaps and tiny shims, nothing else.
        .systemLibrary(name: "CExpat", pkgConfig: "expat", providers: [.apt(["libexpat1-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        .target(name: "XMLStream", dependencies: ["CExpat"]),
        .target(name: "XMPPCore", dependencies: ["XMLStream"]),
        // The figures Parley reports (swift-metrics handles); the exporter lives in Service.
        .target(name: "ParleyMetrics", dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")]),
        .target(name: "MUC", dependencies: ["XMLStream", "XMPPCore"]),
        .target(name: "Storage", dependencies: ["CSQLite", "XMLStream", "XMPPCore", "MUC"]),
        .target(name: "Alerts", dependencies: ["XMLStream", "XMPPCore", "MUC", "Storage"]),
        .target(name: "Inbox", dependencies: ["XMLStream", "XMPPCore", "MUC", "Storage"]),
        // Rooms' archives as web pages: paths, rendering, caching; the HTTP server is in Service.
        .target(
            name: "WebLogs",
            dependencies: [
                "XMPPCore", "MUC", "Storage",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Component",
            dependencies: [
                "XMLStream", "XMPPCore", "COpenSSL", "ParleyMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Service",
            dependencies: [
                "XMLStream", "XMPPCore", "Component", "MUC", "Storage", "Alerts", "Inbox", "ParleyMetrics", "WebLogs",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "parley",
            dependencies: [
                "Service", "Storage", "XMLStream", "XMPPCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Benchmarks print figures; they are never part of `swift test`.
        .executableTarget(name: "parser-bench", dependencies: ["XMLStream"], path: "Benchmarks/ParserBenchmark"),
        .executableTarget(
            name: "alerts-bench", dependencies: ["Alerts", "Service", "Storage", "MUC", "XMPPCore", "XMLStream",
                                                 .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/AlertsBenchmark"),
        .executableTarget(
            name: "rooms-bench", dependencies: ["Service", "Storage", "MUC", "XMPPCore", "XMLStream",
                                                .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/RoomsBenchmark"),
        .executableTarget(
            name: "inbox-bench", dependencies: ["Storage", "MUC", "XMPPCore", "XMLStream"],
            path: "Benchmarks/InboxBenchmark"),
        .executableTarget(
            name: "archive-bench", dependencies: ["Storage", "MUC", "XMPPCore", "XMLStream"],
            path: "Benchmarks/ArchiveBenchmark"),
        .executableTarget(
            name: "weblogs-bench",
            dependencies: ["WebLogs", "Storage", "MUC", "XMPPCore", "XMLStream", .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/WebLogsBenchmark"),
        .executableTarget(
            name: "durability-bench", dependencies: ["Storage", "MUC", "XMPPCore", "XMLStream"],
            path: "Benchmarks/DurabilityBenchmark"),

        // The router fuzz target (Fuzz/run-router-fuzzer.sh builds it with libFuzzer; a plain build replays seeds).
        .executableTarget(
            name: "parley-fuzz-router",
            dependencies: ["Service", "Component", "Storage", "ParleyMetrics", "XMPPCore", "XMLStream",
                           .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Router"),

        .testTarget(name: "XMLStreamTests", dependencies: ["XMLStream"]),
        .testTarget(name: "XMPPCoreTests", dependencies: ["XMPPCore"]),
        .testTarget(name: "MUCTests", dependencies: ["MUC", "XMPPCore", "XMLStream"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "MUC", "XMPPCore", "XMLStream"]),
        .testTarget(name: "AlertsTests", dependencies: ["Alerts", "XMPPCore"]),
        .testTarget(name: "WebLogsTests", dependencies: ["WebLogs", "Storage", "MUC", "XMPPCore", "XMLStream"]),
        .testTarget(
            name: "ComponentTests",
            dependencies: [
                "Component", "XMPPCore", "XMLStream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: ["Service", "Component", "XMPPCore", "XMLStream", "MUC", "Storage", "ParleyMetrics", "Inbox"]),
    ],
    swiftLanguageModes: [.v6]
)
