import Alerts
import Component
import Foundation
import ParleyMetrics
import Logging
import MUC
import Storage
import XMLStream
import XMPPCore

/// The one owner of every loaded room: loads a room from the store when a
/// stanza arrives for it, lets the room handle the stanza, commits archived
/// messages before anything is sent, saves what changed, and lets empty rooms
/// hibernate (their state lives in the store until the next stanza).
public actor RoomHost {
    public let domain: JID
    let store: any RoomStore
    private let alerts: AlertService?
    let logger: Logger
    private let limits: RoomLimits
    /// Owners of every room (`[service] admins`), and who may create rooms (`[rooms]`).
    private let serviceAdmins: Set<JID>
    private let creation: RoomsConfiguration
    /// Whether rooms may publish web logs, and where (`[weblogs]`).
    private let webLogs: WebLogsPolicy
    private let metrics: ServiceMetrics
    /// Expensive reads per user, across the service (Router uses it too).
    public nonisolated let queries: QueryRateLimiter
    /// Where full-text searches run, off the path of the messages, and where their
    /// answers go when done (nil: on the store's own connection, in line).
    private var searches: (readers: ArchiveReaders, answers: AsyncStream<[Outbound]>.Continuation, queue: QueryQueue)?
    var rooms: [JID: Room] = [:]
    var createdAt: [JID: Double] = [:]
    /// Occupants of all rooms in memory (rooms without occupants are not kept).
    private var totalOccupants = 0
    /// Sessions the rooms held when the last process ended uncleanly (`recoverOccupants`).
    var leftBehind: [RememberedOccupant] = []
    /// How often the component link came up.
    var attachments = 0
    /// Room creations per user (`room_creations_per_hour`), forgotten when idle.
    private var creationBuckets: [JID: TokenBucket] = [:]

    public init(
        domain: JID, store: any RoomStore, alerts: AlertService? = nil, limits: RoomLimits = RoomLimits(),
        serviceAdmins: Set<JID> = [], creation: RoomsConfiguration? = nil, webLogs: WebLogsPolicy = WebLogsPolicy(),
        metrics: ServiceMetrics = .none, logger: Logger
    ) {
        self.webLogs = webLogs
        self.metrics = metrics
        self.queries = QueryRateLimiter(limits: limits)
        self.domain = domain
        self.store = store
        self.alerts = alerts
        self.limits = limits
        self.serviceAdmins = serviceAdmins
        self.creation = creation ?? RoomsConfiguration(localDomain: RoomsConfiguration.parentDomain(of: domain.domainpart))
        self.logger = logger
    }

    /// Full-text searches from now on run on `readers` and answer through `answers`, each
    /// holding a place in `queue` until its answer is written.
    public func searchOffPath(
        _ readers: ArchiveReaders, answers: AsyncStream<[Outbound]>.Continuation, queue: QueryQueue
    ) {
        searches = (readers, answers, queue)
    }

    /// How an expensive read (full-text MAM, alert `items`, the inbox) goes ahead.
    enum ExpensiveRead: Sendable {
        case refused(StanzaError)
        /// Answered before the next stanza (no read connections).
        case inLine
        /// Read on `readers` and answered through `answer` when done; its place in the queue
        /// is held until the link writes the answer, the asker's until it is sent.
        case offPath(readers: ArchiveReaders, answer: LateAnswer)
    }

    /// Whether `user` may start an expensive read now: its own rate, then, when reads run
    /// off the rooms' path, a place in the service-wide queue.
    func admitExpensiveRead(from user: JID) async -> ExpensiveRead {
        guard await queries.allow(user) else {
            metrics.refused(.queryRate)
            return .refused(QueryRateLimiter.refusal)
        }
        guard let searches else { return .inLine }
        if let refusal = searches.queue.enter(user) {
            metrics.refused(refusal == .full ? .queryQueue : .queryQueuePerUser)
            return .refused(QueryQueue.error(refusal))
        }
        return .offPath(readers: searches.readers, answer: LateAnswer(answers: searches.answers, queue: searches.queue, asker: user))
    }

    /// How many rooms are in memory now (the others hibernate in the store).
    public var loadedRoomCount: Int { rooms.count }

    /// Occupants of all rooms now.
    public var occupantTotal: Int { totalOccupants }

    /// What handling one stanza produced: what to send, and — when the stanza
    /// archived messages — the ticket of those rows, which must be committed
    /// before any of it is sent.
    public struct Processed: Sendable {
        public var outbound: [Outbound]
        public var ticket: Int?
    }

    // Group commit: archive rows wait here until the batch they came in is
    // committed in one transaction (or until something reads the store).
    private var pending: [(ticket: Int, messages: [ArchivedMessage])] = []
    /// Who entered and left since the last commit; written with the next batch.
    private var pendingOccupancy: [OccupancyChange] = [] {
        didSet { if oldValue.isEmpty && !pendingOccupancy.isEmpty { occupancySince = ContinuousClock.now } }
    }
    private var occupancySince = ContinuousClock.now
    private var nextTicket = 0
    private var failedTickets: Set<Int> = []

    /// Handles one stanza and commits at once (for callers without batches).
    public func handle(_ stanza: Stanza) async -> [Outbound] {
        let processed = await process(stanza)
        let failed = await commit()
        if let ticket = processed.ticket, failed.contains(ticket) {
            return [.stanza(Self.storageFailure.reply(to: stanza.element))]
        }
        return processed.outbound
    }

    static let storageFailure = StanzaError(.internalServerError, type: .wait, text: "the message could not be stored")

    /// Room creation within `rooms_per_user` and `room_creations_per_hour`, or the error that refuses it.
    private func creationRefusal(by user: JID, now: Double) async throws(StorageError) -> StanzaError? {
        guard creation.allows(user, admins: serviceAdmins) else {
            // XEP-0045 §10.1.1: not-allowed when the service restricts room creation.
            return StanzaError(.notAllowed, text: creation.creation == .admins
                ? "only the service's admins create rooms here" : "only users of \(creation.localDomain) create rooms here")
        }
        if serviceAdmins.contains(user) { return nil }
        // Saved rooms are counted by the store; rooms only in memory (still locked, or
        // temporary) are not there yet, and count too.
        if limits.roomsPerUser > 0,
           try await store.roomsOwned(by: user) + unsavedRoomsOwned(by: user) >= limits.roomsPerUser {
            metrics.refused(.roomsPerUser)
            return StanzaError(.notAllowed, text: "you own as many rooms as the service allows (\(limits.roomsPerUser))")
        }
        if creationBuckets.count >= 4096 { creationBuckets = creationBuckets.filter { now - $0.value.updated < 3600 } }
        var bucket = creationBuckets[user] ?? TokenBucket(tokens: Double(limits.roomCreationBurst), updated: now)
        let allowed = bucket.take(now: now, burst: limits.roomCreationBurst, perSecond: Double(limits.roomCreationsPerHour) / 3600)
        creationBuckets[user] = bucket
        if allowed { return nil }
        metrics.refused(.roomCreation)
        return StanzaError(.resourceConstraint, type: .wait, text: "too many new rooms: try again later")
    }

    /// Rooms in memory that `user` owns and the store does not hold: locked ones not yet
    /// configured, and temporary ones.
    private func unsavedRoomsOwned(by user: JID) -> Int {
        rooms.values.reduce(0) { count, room in
            count + ((room.isLocked || !room.configuration.isPersistent) && room.affiliations[user] == .owner ? 1 : 0)
        }
    }

    /// The limits only the service can see: occupants of all rooms, follows of one user in all rooms.
    private func serviceLimitRefusal(_ stanza: Stanza, room: Room) async -> StanzaError? {
        switch stanza {
        case .presence(let presence):
            guard presence.type == .available, presence.to.resourcepart != nil, room.occupant(session: presence.from) == nil,
                  RoomLimits.exceeds(totalOccupants + 1, limits.occupantsPerService) else { return nil }
            metrics.refused(.serviceOccupants)
            return StanzaError(.serviceUnavailable, type: .wait, text: "the service is full; try again later")
        case .iq(let iq):
            guard limits.followsPerUser > 0, iq.type == .set, let payload = iq.payload,
                  payload.name == "subscribe", payload.namespace == MucSubNode.namespace else { return nil }
            let user = payload[attribute: "jid"].flatMap { try? JID($0) }?.bare ?? iq.from.bare
            guard room.subscribers[user] == nil else { return nil }
            let follows = (try? await store.follows(of: user)) ?? 0
            guard follows >= limits.followsPerUser else { return nil }
            metrics.refused(.followsPerUser)
            return StanzaError(.notAllowed, text: "\(user) follows as many rooms as the service allows (\(limits.followsPerUser))")
        case .message:
            return nil
        }
    }

    /// An orderly stop: everything pending is committed, then every occupant of
    /// every room in memory is told the service is shutting down (status 332).
    public func farewell() async -> [Outbound] {
        await flushPending()
        let context = makeContext(now: DateTime.milliseconds(Date().timeIntervalSince1970))
        let presences = rooms.values.flatMap { $0.shutdownPresences(context: context) }.map(Outbound.stanza)
        // Everyone is told now: nobody is left for the next start to tell.
        do {
            _ = try await store.takeRememberedOccupants()
        } catch {
            logger.error("cannot forget the occupants told of the stop: \(error)")
        }
        return presences
    }

    /// Commits every pending archive row in one transaction; returns the
    /// tickets whose rows could not be stored (their stanzas must not be sent).
    public func commit() async -> Set<Int> {
        await flushPending()
        let failed = failedTickets
        failedTickets = []
        return failed
    }

    /// Commits what is pending now, before a read elsewhere (a read connection) that must
    /// see it; a failure is still reported by the next `commit()`.
    public func flush() async {
        await flushPending()
    }

    /// Entries and exits alone wait for a commit up to a second, so that a join wave
    /// costs a sync a second rather than one per read; after a crash, changes of the last
    /// second are what may be missed (Docs/operations.md).
    public func commitOccupancyIfDue() async {
        guard !pendingOccupancy.isEmpty, occupancySince.duration(to: .now) >= .seconds(1) else { return }
        await flushPending()
    }

    private func flushPending() async {
        guard !pending.isEmpty || !pendingOccupancy.isEmpty else { return }
        let batch = pending
        let occupancy = pendingOccupancy
        pending = []
        pendingOccupancy = []
        let messages = batch.flatMap(\.messages)
        let started = ContinuousClock.now
        do {
            try await store.append(messages, occupancy: occupancy)
            guard !messages.isEmpty else { return }
            metrics.archiveCommit.recordInterval(since: started)
            metrics.archiveBatch.record(messages.count)
            metrics.messagesArchived.increment(by: Int64(messages.count))
        } catch {
            logger.error("cannot archive \(batch.count) messages: \(error)")
            metrics.archiveCommitFailures.increment()
            failedTickets.formUnion(batch.map(\.ticket))
        }
    }

    /// Handles one stanza; its archive rows wait for `commit()`.
    public func process(_ stanza: Stanza) async -> Processed {
        let roomJID = stanza.to.bare
        let now = DateTime.milliseconds(Date().timeIntervalSince1970)
        var room: Room
        if let loaded = rooms[roomJID], loaded.isEmpty, !loaded.configuration.isPersistent || loaded.isLocked {
            // A room that could not end when it emptied (the store failed then) ends now, so
            // that whoever comes next finds it as if it had.
            await flushPending()
            do {
                try await store.endRoom(roomJID, at: now)
                rooms[roomJID] = nil
                createdAt[roomJID] = nil
            } catch {
                logger.error("room \(roomJID) still cannot end: \(error)")
            }
        }
        do {
            if let loaded = rooms[roomJID] {
                room = loaded
            } else if let record = try await loadRoom(roomJID) {
                room = record.room
                createdAt[roomJID] = record.created
            } else if case .presence(let presence) = stanza, presence.type == .available, stanza.to.resourcepart != nil {
                // XEP-0045 §10.1.1: entering a room that does not exist creates it, locked, with the creator as owner.
                if let refused = try await creationRefusal(by: presence.from.bare, now: now) {
                    return Processed(outbound: refusal(stanza, refused).map(Outbound.stanza))
                }
                var configuration = RoomConfiguration()
                configuration.webLogs = webLogs.allows(roomJID) && webLogs.defaultForNewRooms
                room = Room(
                    jid: roomJID, configuration: configuration, affiliations: [presence.from.bare: .owner], isLocked: true,
                    occupantIDSalt: randomToken(bytes: 16))
                createdAt[roomJID] = now
                logger.info("room \(roomJID) created by \(presence.from.bare)")
            } else {
                return Processed(outbound: refusal(stanza, StanzaError(.itemNotFound, text: "no such room")).map(Outbound.stanza))
            }
        } catch {
            logger.error("cannot load room \(roomJID): \(error)")
            return Processed(
                outbound: refusal(stanza, StanzaError(.internalServerError, text: "the room cannot be loaded")).map(Outbound.stanza))
        }

        if let refused = await serviceLimitRefusal(stanza, room: room) {
            return Processed(outbound: refusal(stanza, refused).map(Outbound.stanza))
        }
        let context = makeContext(now: now)
        let before = rooms[roomJID]
        let occupantsBefore = before?.occupants.count ?? 0
        defer { totalOccupants += (rooms[roomJID]?.occupants.count ?? 0) - occupantsBefore }
        let effects = room.handle(stanza, context: context)
        if let refusal = effects.refusedBy { metrics.refused(ServiceMetrics.Limit(refusal)) }

        // Nobody hears of a message before it is in the archive: the rows join
        // the pending batch, and the caller sends nothing of this before `commit()`.
        var ticket: Int? = nil
        if !effects.archive.isEmpty {
            nextTicket += 1
            ticket = nextTicket
            pending.append((nextTicket, effects.archive))
        }
        let failure = await keep(room, effects: effects, now: now)
        if let failure, case .presence(let presence) = stanza, presence.type == .unavailable {
            // Someone who leaves has left, whatever the store says: refusing would leave a
            // ghost occupant whose client is gone. The emptied room stays in memory and
            // ends with its next departure (or, if temporary, at the next start).
            logger.warning("room \(roomJID) could not end (\(failure)); kept in memory, empty")
            rooms[roomJID] = room
        } else if let failure {
            // Acknowledged means durable: a change the store refused is undone and
            // refused, so that nobody is told of a ban or a configuration that a
            // restart would forget. What this stanza archived is withdrawn with it.
            rooms[roomJID] = before
            if let ticket { pending.removeAll { $0.ticket == ticket } }
            let error = failure.isFull
                ? StanzaError(.resourceConstraint, type: .wait, text: "the service's storage is full")
                : StanzaError(.internalServerError, type: .wait, text: "the change could not be stored")
            return Processed(outbound: refusal(stanza, error).map(Outbound.stanza))
        }
        pendingOccupancy += occupancyChanges(stanza, before: before, after: room)
        var outbound = await expand(effects.outputs, room: room)
        if !effects.archive.isEmpty {
            outbound += await keywordAlerts(for: effects.archive, in: room, context: context)
        }
        return Processed(outbound: outbound, ticket: ticket)
    }

    /// Every read of the store first commits what is pending, so that what is
    /// read includes every message already handled (history for a joiner who
    /// came in right after a message, a MAM page, a read position).
    func loadRoom(_ jid: JID) async throws(StorageError) -> RoomRecord? {
        await flushPending()
        return try await store.loadRoom(jid)
    }

    private func makeContext(now: Double) -> RoomContext {
        RoomContext(
            now: now, makeStanzaID: { [self] in self.randomTokenNonisolated() },
            makeOccupantID: { salt, jid in String(Digest.sha256Hex(salt + jid.description).prefix(32)) },
            serviceAdmins: serviceAdmins, limits: limits, webLogs: webLogs)
    }

    /// Alerts for newly archived messages, to the subscribers the room lets read them now.
    private func keywordAlerts(for messages: [ArchivedMessage], in room: Room, context: RoomContext) async -> [Outbound] {
        guard let alerts else { return [] }
        var stanzas: [Outbound] = []
        for message in messages {
            // Subscribers alerted by the same keywords get the same event: built and written once.
            var byKeywords: [[String]: (subscriptions: [KeywordSubscription], recipients: [JID])] = [:]
            for (subscriber, subscriptions) in await alerts.candidates(room: room.jid, body: message.body, author: message.senderJID)
            where room.mayReceiveAlerts(subscriber, context: context) {
                byKeywords[subscriptions.map(\.keyword), default: (subscriptions, [])].recipients.append(subscriber)
            }
            for (_, group) in byKeywords {
                metrics.alertsSent.increment(by: Int64(group.recipients.count))
                stanzas.append(.fanOut(
                    AlertNotification.event(for: message, subscriptions: group.subscriptions, from: domain),
                    recipients: group.recipients))
            }
        }
        return stanzas
    }

    /// How many occupants a room has now (rooms that hibernate have none).
    /// Occupants of each of these rooms now (0 for a room not in memory), in one call.
    public func occupantCounts(_ rooms: [JID]) -> [JID: Int] {
        var counts: [JID: Int] = [:]
        for room in rooms { counts[room] = occupantCount(room) }
        return counts
    }

    public func occupantCount(_ room: JID) -> Int {
        rooms[room]?.occupants.count ?? 0
    }

    /// Whether `user` may read `room` now, by the room's own rule (for alert items).
    public func mayRead(_ room: JID, user: JID) async -> Bool {
        let state: Room
        if let loaded = rooms[room] {
            state = loaded
        } else if let record = try? await loadRoom(room) {
            state = record.room
        } else {
            return false
        }
        return state.mayReceiveAlerts(user, context: makeContext(now: Date().timeIntervalSince1970))
    }

    /// XEP-0313: the result messages, then the IQ result with `<fin/>`.
    private func answer(_ iq: IQ, _ query: ArchiveQuery, room: JID) async -> [XMLElement] {
        let store = store
        return await Self.answer(iq, query, room: room, metrics: metrics, logger: logger) {
            () async throws(ArchiveQueryError) in try await store.query(room, query)
        }
    }

    static func answer(
        _ iq: IQ, _ query: ArchiveQuery, room: JID, metrics: ServiceMetrics, logger: Logger,
        run: () async throws(ArchiveQueryError) -> ArchivePage
    ) async -> [XMLElement] {
        let started = ContinuousClock.now
        defer { (query.fulltext == nil ? metrics.mamQuery : metrics.fullTextQuery).recordInterval(since: started) }
        do {
            let page = try await run()
            var stanzas = page.messages.map { Room.archiveResult($0, to: iq.from, queryID: query.queryID) }
            stanzas.append(Room.archiveFin(page, for: iq))
            return stanzas
        } catch ArchiveQueryError.unknownID(let id) {
            return [iq.error(StanzaError(.itemNotFound, text: "no message with id \(id) in this archive"))]
        } catch where ArchiveReadConnection.isTimeout(error) {
            return [iq.error(StanzaError(
                .resourceConstraint, type: .wait, text: "the search took longer than this service allows: narrow it down"))]
        } catch {
            logger.error("archive query on \(room) failed: \(error)")
            return [iq.error(StanzaError(.internalServerError, text: "the archive cannot be read"))]
        }
    }

    /// XEP-0313 §5.1: the ids and times of the first and last archived messages.
    private func metadata(_ iq: IQ, room: JID) async -> [XMLElement] {
        do {
            let (first, last) = try await store.metadata(room)
            var metadata = XMLElement("metadata", namespace: Namespace.mam)
            for (name, message) in [("start", first), ("end", last)] {
                guard let message else { continue }
                metadata.append(XMLElement(
                    name, namespace: Namespace.mam,
                    attributes: ["id": message.stanzaID, "timestamp": DateTime.format(message.timestamp)]))
            }
            return [iq.result(metadata)]
        } catch {
            logger.error("archive metadata of \(room) failed: \(error)")
            return [iq.error(StanzaError(.internalServerError, text: "the archive cannot be read"))]
        }
    }

    /// Saves what changed, then keeps the room in memory only while someone is in it
    /// (a persistent room hibernates in the store); returns the store's error when the
    /// change could not be saved (the room is then left as it was).
    private func keep(_ room: Room, effects: RoomEffects, now: Double) async -> StorageError? {
        let jid = room.jid
        // A room that will not be kept ends here, whatever way it got there: destroyed, a
        // temporary room emptied (or made temporary while empty), a never-configured room left.
        let ends = effects.destroyed || (room.isEmpty && (!room.configuration.isPersistent || room.isLocked))
        // Pending rows first: those of a room that ends must move with its archive.
        if ends || effects.roomChanged { await flushPending() }
        do throws(StorageError) {
            if ends {
                try await store.endRoom(jid, at: now)
                rooms[jid] = nil
                createdAt[jid] = nil
                logger.info("room \(jid) \(effects.destroyed ? "destroyed" : "ended")")
                return nil
            }
            if effects.roomChanged && !room.isLocked {
                if room.configuration.isPersistent {
                    try await store.saveRoom(RoomRecord(room: room, created: createdAt[jid] ?? now))
                } else {
                    try await store.deleteRoom(jid)
                }
            }
        } catch {
            logger.error("cannot save room \(jid): \(error)")
            return error
        }
        // An empty room here is persistent and configured: it hibernates in the store.
        rooms[jid] = room.isEmpty ? nil : room
        return nil
    }

    /// Turns the room's outputs into stanzas, reading history from the archive where asked.
    private func expand(_ outputs: [RoomEffects.Output], room: Room) async -> [Outbound] {
        let readsStore = outputs.contains { output in
            switch output {
            case .stanza, .fanOut: false
            default: true
            }
        }
        if readsStore { await flushPending() }
        var stanzas: [XMLElement] = []
        var outbound: [Outbound] = []
        outbound.reserveCapacity(outputs.count)
        // Keeps order: stanzas gathered so far go out before a fan-out.
        func flush() {
            outbound += stanzas.map(Outbound.stanza)
            stanzas.removeAll()
        }
        for output in outputs {
            switch output {
            case .stanza(let stanza):
                stanzas.append(stanza)
            case .fanOut(let stanza, let recipients):
                flush()
                outbound.append(.fanOut(stanza, recipients: recipients))
            case .history(let recipient, let request, _):
                do {
                    for message in try await store.history(of: room.jid, request) {
                        var copy = message.stanza
                        copy[attribute: "to"] = recipient.description
                        copy.removeChildren("delay", namespace: Namespace.delay)
                        copy.append(XMLElement(
                            "delay", namespace: Namespace.delay,
                            attributes: ["from": room.jid.description, "stamp": DateTime.format(message.timestamp)]))
                        stanzas.append(copy)
                    }
                } catch {
                    logger.error("cannot read the history of \(room.jid): \(error)")
                }
            case .archiveQuery(let iq, let query):
                switch query.fulltext == nil ? .inLine : await admitExpensiveRead(from: iq.from) {
                case .refused(let error):
                    stanzas.append(iq.error(error))
                case .inLine:
                    stanzas += await answer(iq, query, room: room.jid)
                case .offPath(let readers, let late):
                    // Everything handled so far is committed (readsStore flushed it); the search
                    // reads that on its own connection and answers whenever it is done.
                    let (metrics, logger, roomJID) = (metrics, logger, room.jid)
                    Task {
                        let answer = await Self.answer(iq, query, room: roomJID, metrics: metrics, logger: logger) {
                            () async throws(ArchiveQueryError) in try await readers.query(roomJID, query)
                        }
                        late.send(answer.map(Outbound.stanza))
                    }
                }
            case .archiveMetadata(let iq):
                stanzas += await metadata(iq, room: room.jid)
            case .readUpTo(let user, let id):
                do {
                    _ = try await store.markRead(room.jid, user: user, upTo: id)
                } catch {
                    logger.error("cannot move the read position in \(room.jid): \(error)")
                }
            case .readAll(let user):
                do {
                    _ = try await store.markRead(room.jid, user: user, upTo: nil)
                } catch {
                    logger.error("cannot reset the read position in \(room.jid): \(error)")
                }
            case .moderation(let iq, let retraction, let notice, let recipients):
                do {
                    if try await store.retract(room.jid, retraction) {
                        stanzas.append(iq.result())
                        flush()
                        outbound.append(.fanOut(notice, recipients: recipients))
                    } else {
                        stanzas.append(iq.error(StanzaError(.itemNotFound, text: "no message with id \(retraction.stanzaID)")))
                    }
                } catch {
                    logger.error("cannot retract in \(room.jid): \(error)")
                    stanzas.append(iq.error(StanzaError(.internalServerError, text: "the archive cannot be changed")))
                }
            }
        }
        flush()
        return outbound
    }

    /// Public rooms for the service's disco#items: those in the store and those only in memory.
    public func publicRooms() async -> [RoomListing] {
        var listings: [JID: RoomListing] = [:]
        await flushPending()
        do {
            for listing in try await store.publicRooms() { listings[listing.jid] = listing }
        } catch {
            logger.error("cannot list rooms: \(error)")
        }
        for room in rooms.values {
            if room.configuration.isPublic && !room.isLocked {
                listings[room.jid] = RoomListing(jid: room.jid, name: room.configuration.name)
            } else {
                listings[room.jid] = nil
            }
        }
        return listings.values.sorted { $0.jid < $1.jid }
    }

    private func refusal(_ stanza: Stanza, _ error: StanzaError) -> [XMLElement] {
        // A room that cannot be reached answers only presence that tries to enter it.
        if case .presence(let presence) = stanza, presence.type != .available { return [] }
        return stanza.acceptsErrorReply ? [error.reply(to: stanza.element)] : []
    }

    private func randomToken(bytes: Int) -> String {
        Self.token(bytes: bytes)
    }

    nonisolated private func randomTokenNonisolated() -> String {
        Self.token(bytes: 12)
    }

    /// A random URL-safe token: stanza ids and salts.
    static func token(bytes: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var generator = SystemRandomNumberGenerator()
        var result = [UInt8]()
        let count = bytes * 4 / 3
        result.reserveCapacity(count)
        // Ten characters from each 64 random bits: one system call per ten, not per character.
        var bits: UInt64 = 0
        for index in 0..<count {
            if index % 10 == 0 { bits = generator.next() }
            result.append(alphabet[Int(bits & 63)])
            bits >>= 6
        }
        return String(decoding: result, as: UTF8.self)
    }
}
