import Alerts
import Foundation
import Inbox
import Logging
import ParleyMetrics
import Storage
import XMPPCore

/// Everything between the component link and the database, wired from a configuration:
/// what `ParleyService.run` attaches to the server, and what the router fuzz target
/// (Fuzz/Router) drives with bytes and no socket, so both exercise the same graph.
public struct ServiceCore: Sendable {
    public let domain: JID
    public let store: SQLiteRoomStore
    public let rooms: RoomHost
    public let router: Router
    public let exporter: PrometheusExporter
    public let metrics: ServiceMetrics
    /// Answers of the reads that run off the rooms' path (full-text MAM, inbox, alert `items`);
    /// nil when the core was opened to answer them in line.
    public let lateAnswers: AsyncStream<[Outbound]>?
    /// The places the late answers hold; the link frees one per answer it writes or drops.
    public let queryQueue: QueryQueue?

    /// Opens the database and assembles the service. `answersLate: false` answers every read
    /// before the next stanza (deterministic, for fuzzing); the running service answers late.
    public static func open(
        _ configuration: ParleyConfiguration, answersLate: Bool = true, logger: Logger
    ) async throws -> ServiceCore {
        let storage = try await ServiceStorage.open(configuration, logger: logger)
        let exporter = PrometheusExporter()
        let metrics = ServiceMetrics(
            factory: exporter, version: ParleyVersion.current, startTime: Date().timeIntervalSince1970)
        return try await assemble(
            configuration, storage: storage, exporter: exporter, metrics: metrics,
            answersLate: answersLate, logger: logger)
    }

    /// Builds everything in memory (rooms, router, protocols) over connections already open.
    /// The router fuzz target keeps one storage and one set of metrics for all its inputs,
    /// empties the database between them and assembles a fresh service per input: opening
    /// connections, reader threads and metrics per input cost nine tenths of its time.
    public static func assemble(
        _ configuration: ParleyConfiguration, storage: ServiceStorage, exporter: PrometheusExporter,
        metrics: ServiceMetrics, answersLate: Bool = true, logger: Logger
    ) async throws -> ServiceCore {
        let domain: JID
        do {
            domain = try JID(configuration.component.domain)
        } catch {
            preconditionFailure("the configuration loader validated the domain: \(error)")
        }
        let (path, store, readers) = (storage.path, storage.store, storage.readers)
        let alerts = AlertService(store: store, maxKeywordsPerUser: configuration.alerts.maxKeywordsPerUser)
        do {
            try await alerts.load()
        } catch {
            throw ServiceError.databaseUnavailable("\(path): \(error)")
        }
        let rooms = RoomHost(
            domain: domain, store: store, alerts: alerts, limits: configuration.limits,
            serviceAdmins: configuration.service.admins, creation: configuration.rooms, webLogs: configuration.webLogs.policy,
            metrics: metrics, logger: logger)
        await rooms.recoverOccupants()
        var lateAnswers: AsyncStream<[Outbound]>? = nil
        var queryQueue: QueryQueue? = nil
        if answersLate {
            let (stream, continuation) = AsyncStream.makeStream(of: [Outbound].self)
            let queue = QueryQueue(limits: configuration.limits)
            (lateAnswers, queryQueue) = (stream, queue)
            await rooms.searchOffPath(readers, answers: continuation, queue: queue)
        }
        let alertsProtocol = KeywordAlertsProtocol(
            service: domain, alerts: alerts, archive: readers,
            mayRead: { room, user in await rooms.mayRead(room, user: user) })
        let inbox = InboxProtocol(store: readers, occupantCount: { room in await rooms.occupantCount(room) })
        let commands = AdminCommands(
            domain: domain, admins: configuration.service.admins, rooms: rooms,
            sources: .init(
                storeStatistics: { try? await store.statistics() },
                roomSummaries: {
                    // A read connection of its own (WAL): counting every room's archive never holds up the writer.
                    await Task.detached { try? AdminDatabase(path: path).rooms() }.value
                }))
        let router = Router(
            domain: domain, serviceName: configuration.service.name, rooms: rooms, alerts: alertsProtocol,
            inbox: inbox, follows: store, commands: commands,
            multicast: configuration.multicast.mode == .off
                ? nil : MulticastRelay(domain: domain, configuration: configuration.multicast, logger: logger),
            maxStanzaBytes: configuration.component.limits.maxStanzaBytes,
            metrics: metrics, logger: logger)
        return ServiceCore(
            domain: domain, store: store, rooms: rooms, router: router, exporter: exporter, metrics: metrics,
            lateAnswers: lateAnswers, queryQueue: queryQueue)
    }
}

/// The service's connections to its database: the writer, and the read connections that
/// answer full-text searches, the inbox and alert `items` off the rooms' path.
public struct ServiceStorage: Sendable {
    public let path: String
    public let store: SQLiteRoomStore
    public let readers: ArchiveReaders

    /// Opens (and migrates) the database, and ends the rooms a stop left without an end.
    public static func open(_ configuration: ParleyConfiguration, logger: Logger) async throws -> ServiceStorage {
        let path = configuration.storage.databasePath
        let store: SQLiteRoomStore
        do {
            store = try SQLiteRoomStore(path: path, durability: configuration.storage.durability)
            let ended = try await store.endOrphanedRooms(at: Date().timeIntervalSince1970)
            if ended > 0 { logger.notice("\(ended) rooms that had ended without being told so (a temporary room when Parley stopped) are ended now") }
        } catch {
            throw ServiceError.databaseUnavailable("\(path): \(error)")
        }
        let readers: ArchiveReaders
        do {
            readers = try ArchiveReaders(path: path, count: 2, budget: Double(configuration.limits.queryMilliseconds) / 1000)
        } catch {
            throw ServiceError.databaseUnavailable("\(path) (read connection): \(error)")
        }
        return ServiceStorage(path: path, store: store, readers: readers)
    }
}
