import MUC
import XMPPCore

/// A `RoomStore` in memory, for tests that drive the service without files.
public actor InMemoryRoomStore: RoomStore {
    private var rooms: [JID: RoomRecord] = [:]
    private var archive: [JID: [ArchivedMessage]] = [:]
    private var alerts: [String: StoredAlertSubscription] = [:]

    /// While set, saving or deleting a room fails with this error (tests of what a failed store means).
    private var roomWriteFailure: StorageError?

    public init() {}

    public func failRoomWrites(with error: StorageError?) { roomWriteFailure = error }

    public func loadRoom(_ jid: JID) -> RoomRecord? { rooms[jid] }

    public func saveRoom(_ record: RoomRecord) throws(StorageError) {
        if let roomWriteFailure { throw roomWriteFailure }
        rooms[record.jid] = record
    }

    public func deleteRoom(_ jid: JID) throws(StorageError) {
        if let roomWriteFailure { throw roomWriteFailure }
        rooms[jid] = nil
    }

    public func roomsOwned(by user: JID) -> Int {
        rooms.values.filter { $0.affiliations[user] == .owner }.count
    }

    public func follows(of user: JID) -> Int {
        rooms.values.filter { $0.subscribers[user] != nil }.count
    }

    public func endRoom(_ jid: JID, at time: Double) throws(StorageError) {
        if let roomWriteFailure { throw roomWriteFailure }
        rooms[jid] = nil
        occupantSessions = occupantSessions.filter { $0.key.room != jid }
        if let messages = archive.removeValue(forKey: jid), let key = try? JID(SQLiteRoomStore.endedArchiveKey(jid, at: time)) {
            ended[key] = messages
        }
    }

    /// The archives of ended rooms, by their key.
    public private(set) var ended: [JID: [ArchivedMessage]] = [:]

    public func publicRooms() -> [RoomListing] {
        rooms.values.filter(\.configuration.isPublic).map { RoomListing(jid: $0.jid, name: $0.configuration.name) }
            .sorted { $0.jid < $1.jid }
    }

    public func append(_ messages: [ArchivedMessage], occupancy: [OccupancyChange]) {
        for message in messages { archive[message.room, default: []].append(message) }
        for change in occupancy {
            switch change {
            case .entered(let room, let session, let nick): occupantSessions[OccupantKey(room: room, session: session)] = nick
            case .left(let room, let session): occupantSessions[OccupantKey(room: room, session: session)] = nil
            }
        }
    }

    private struct OccupantKey: Hashable { var room: JID; var session: JID }
    private var occupantSessions: [OccupantKey: String] = [:]

    public func takeRememberedOccupants() -> [RememberedOccupant] {
        defer { occupantSessions = [:] }
        return occupantSessions.map { RememberedOccupant(room: $0.key.room, session: $0.key.session, nick: $0.value) }
            .sorted { ($0.room, $0.session) < ($1.room, $1.session) }
    }

    public func history(of room: JID, _ request: HistoryRequest) -> [ArchivedMessage] {
        let candidates = (archive[room] ?? []).filter { $0.timestamp > (request.since ?? -1) && !$0.body.isEmpty }
        return Array(candidates.suffix(request.maxStanzas))
    }

    public func query(_ room: JID, _ query: ArchiveQuery) throws(ArchiveQueryError) -> ArchivePage {
        let all = archive[room] ?? []
        func position(_ id: String) throws(ArchiveQueryError) -> Int {
            guard let index = all.firstIndex(where: { $0.stanzaID == id }) else { throw .unknownID(id) }
            return index
        }
        var lower = 0
        var upper = all.count
        if let after = query.afterID { lower = max(lower, try position(after) + 1) }
        if let before = query.beforeID { upper = min(upper, try position(before)) }
        let words = (query.fulltext ?? "").lowercased().split(separator: " ").map(String.init)
        let matching = all.indices.filter { index in
            guard index >= lower && index < upper else { return false }
            let message = all[index]
            if let start = query.start, message.timestamp < start { return false }
            if let end = query.end, message.timestamp > end { return false }
            if let nick = query.nick, message.nick != nick { return false }
            if let ids = query.ids, !ids.contains(message.stanzaID) { return false }
            let body = message.body.lowercased()
            return words.allSatisfy { body.contains($0) }
        }
        var window = matching
        var backwards = false
        switch query.page.anchor {
        case .none: window = Array(matching.dropFirst(query.page.index ?? 0))
        case .after(let id): let anchor = try position(id); window = matching.filter { $0 > anchor }
        case .before(let id): let anchor = try position(id); window = matching.filter { $0 < anchor }; backwards = true
        case .lastPage: backwards = true
        }
        let size = query.pageSize
        let selected = backwards ? Array(window.suffix(size)) : Array(window.prefix(size))
        var messages = selected.map { all[$0] }
        if query.flipPage { messages.reverse() }
        return ArchivePage(
            messages: messages, isComplete: window.count <= size, count: matching.count,
            firstIndex: selected.first.flatMap { first in matching.firstIndex(of: first) })
    }

    public func markRead(_ room: JID, user: JID, upTo id: String?) -> Bool {
        guard let messages = archive[room], !messages.isEmpty else { return false }
        if let id { return messages.contains { $0.stanzaID == id || $0.stanza[attribute: "id"] == id } }
        return true
    }

    public func retract(_ room: JID, _ retraction: Retraction) -> Bool {
        guard let index = archive[room]?.firstIndex(where: { $0.stanzaID == retraction.stanzaID }),
              let original = archive[room]?[index] else { return false }
        archive[room]?[index].body = ""
        archive[room]?[index].stanza = retraction.tombstone(of: original.stanza)
        return true
    }

    public func metadata(_ room: JID) -> (first: ArchivedMessage?, last: ArchivedMessage?) {
        (archive[room]?.first, archive[room]?.last)
    }
}

extension InMemoryRoomStore: AlertSubscriptionStore {
    public func alertSubscriptions() -> [StoredAlertSubscription] { Array(alerts.values) }

    public func saveAlertSubscription(_ subscription: StoredAlertSubscription, at time: Double) {
        alerts["\(subscription.subscriber) \(subscription.key)"] = subscription
    }

    public func deleteAlertSubscription(subscriber: JID, key: String) {
        alerts["\(subscriber) \(key)"] = nil
    }

    public func searchAllRooms(phrase: String, beforeID: String?, limit: Int) -> [ArchivedMessage] {
        let all = archive.values.flatMap { $0 }.sorted { $0.timestamp > $1.timestamp }
        let words = phrase.split(separator: " ")
        return Array(all.filter { message in
            let body = message.body.lowercased()
            return !body.isEmpty && words.allSatisfy { body.contains($0) }
        }.prefix(limit))
    }
}
