import Component
import Foundation
import ParleyMetrics
import Logging
import NIOPosix
import Storage
import WebLogs
import XMPPCore

/// The one place where Parley is assembled from its parts: read this to see the whole architecture.
public struct ParleyService: Sendable {
    public let configuration: ParleyConfiguration
    private let logger: Logger
    private let stopRequests: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    public init(configuration: ParleyConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (stopRequests, stopContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Asks a running service to stop in order (SIGTERM, SIGINT): occupants are
    /// told (332), the stream closes, and `run()` returns.
    public func requestStop() {
        stopContinuation.yield()
    }

    /// Runs until cancelled, or until the server rejects the component's
    /// secret or the database cannot be opened.
    public func run() async throws {
        do {
            let directory = URL(fileURLWithPath: configuration.storage.databasePath).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ServiceError.databaseUnavailable("\(configuration.storage.databasePath): \(error)")
        }
        let lock = try DatabaseLock(database: configuration.storage.databasePath)
        defer { withExtendedLifetime(lock) {} }
        let core = try await ServiceCore.open(configuration, logger: logger)
        let (domain, store, rooms, router, metrics, exporter) =
            (core.domain, core.store, core.rooms, core.router, core.metrics, core.exporter)
        let systemd = SystemdNotifier()
        let component = ComponentClient(
            configuration: configuration.component, handler: router, metrics: metrics,
            onLinkChange: { up in
                systemd.notify(up ? "STATUS=serving \(domain) through \(configuration.component.host):\(configuration.component.port)"
                                  : "STATUS=component link down: reconnecting to \(configuration.component.host):\(configuration.component.port)")
            },
            lateOutbound: core.lateAnswers,
            lateAnswerDone: { [queue = core.queryQueue] in queue?.leave() },
            logger: logger)
        logger.info("Parley \(ParleyVersion.current) serving \(domain)")
        let sweeper = RetentionSweeper(
            store: store, defaultDays: configuration.archive.retentionDays,
            keepDestroyedDays: configuration.archive.keepDestroyedDays,
            interval: configuration.archive.sweepInterval, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Ready: the database is open and Parley attaches (and re-attaches) by itself from here.
            systemd.notify("READY=1\nSTATUS=connecting to \(configuration.component.host):\(configuration.component.port)")
            group.addTask { await sweeper.run() }
            group.addTask { try await component.run() }
            group.addTask {
                // Waits for a stop request for as long as the service runs; `run()` ending ends it.
                for await _ in stopRequests {
                    systemd.notify("STOPPING=1")
                    await component.stop()
                }
            }
            if let http = configuration.http {
                var webLogs: WebLogSite? = nil
                if configuration.webLogs.policy.isEnabled {
                    // Read connections of their own: readers of the web never queue behind MAM searches.
                    let readers: ArchiveReaders
                    do {
                        readers = try ArchiveReaders(
                            path: configuration.storage.databasePath, count: 2,
                            budget: Double(configuration.limits.queryMilliseconds) / 1000)
                    } catch {
                        throw ServiceError.databaseUnavailable("\(configuration.storage.databasePath) (web read connection): \(error)")
                    }
                    webLogs = WebLogSite(
                        settings: .init(
                            service: domain, policy: configuration.webLogs.policy, linkBase: configuration.webLogs.linkBase,
                            searchesPerMinute: configuration.webLogs.searchesPerMinute, cacheBytes: configuration.webLogs.cacheBytes),
                        published: store.published, readers: readers,
                        occupants: { jids in await rooms.occupantCounts(jids) })
                }
                let listener = HTTPListener(
                    host: http.host, port: http.port, maximumConnections: http.maxConnections,
                    health: {
                        let databaseAnswers: Bool
                        do { try await store.ping(); databaseAnswers = true } catch { databaseAnswers = false }
                        return HealthReport(
                            linkUp: await component.status.isUp, databaseAnswers: databaseAnswers,
                            twinSeen: await router.twins.twinSeen)
                    },
                    metrics: {
                        // Gauges are read when scraped; counters and histograms as things happen.
                        metrics.roomsLoaded.record(await rooms.loadedRoomCount)
                        metrics.occupants.record(await rooms.occupantTotal)
                        if let counts = try? await store.statistics() {
                            metrics.roomsPersistent.record(counts.persistentRooms)
                            metrics.followers.record(counts.followers)
                            metrics.databaseBytes.record(counts.databaseBytes)
                        }
                        return exporter.render()
                    },
                    webLogs: webLogs,
                    logger: logger)
                group.addTask { try await listener.run() }
            }
            // The component ends the service (cancelled, or a fatal error); the sweeper follows.
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// Why the service cannot start.
public enum ServiceError: Error, CustomStringConvertible {
    case databaseUnavailable(String)
    /// Another Parley runs on this database.
    case databaseLocked(String)

    public var description: String {
        switch self {
        case .databaseUnavailable(let detail): "cannot open the database \(detail)"
        case .databaseLocked(let path):
            "another Parley is already running on the database \(path) (it holds \(path).lock); one instance per database"
        }
    }
}
