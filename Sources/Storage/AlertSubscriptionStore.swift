import Foundation
import MUC
import XMLStream
import XMPPCore

/// A stored keyword subscription, as the store knows it (the alerts module
/// turns it into its own type).
public struct StoredAlertSubscription: Sendable, Hashable {
    public var subscriber: JID
    public var key: String
    public var keyword: String
    public var rooms: [JID]?
    public var deliver: Bool

    public init(subscriber: JID, key: String, keyword: String, rooms: [JID]?, deliver: Bool) {
        self.subscriber = subscriber
        self.key = key
        self.keyword = keyword
        self.rooms = rooms
        self.deliver = deliver
    }
}

/// Keyword subscriptions, and the archive-wide phrase search behind `items`.
public protocol AlertSubscriptionStore: AlertArchive {
    func alertSubscriptions() async throws(StorageError) -> [StoredAlertSubscription]
    func saveAlertSubscription(_ subscription: StoredAlertSubscription, at time: Double) async throws(StorageError)
    func deleteAlertSubscription(subscriber: JID, key: String) async throws(StorageError)
}

/// Where a keyword's past matches are found (alert `items`): the store, or its read connections.
public protocol AlertArchive: Sendable {
    /// Archived messages of any room containing the phrase (normalised words),
    /// newest first, older than `beforeID` when given; retracted ones excluded.
    func searchAllRooms(phrase: String, beforeID: String?, limit: Int) async throws(ArchiveQueryError) -> [ArchivedMessage]
}

extension SQLiteRoomStore: AlertSubscriptionStore {
    public func alertSubscriptions() throws(StorageError) -> [StoredAlertSubscription] {
        let rows = try database.statement("SELECT subscriber, keyword_key, keyword, rooms, deliver FROM alert_subscriptions")
        var result: [StoredAlertSubscription] = []
        while try rows.step() {
            guard let rawSubscriber = rows.text(0), let subscriber = try? JID(rawSubscriber),
                  let key = rows.text(1), let keyword = rows.text(2) else { continue }
            let rooms = rows.text(3).map { $0.split(separator: " ").compactMap { try? JID(String($0)) } }
            result.append(StoredAlertSubscription(
                subscriber: subscriber, key: key, keyword: keyword, rooms: rooms, deliver: rows.int(4) != 0))
        }
        return result
    }

    public func saveAlertSubscription(_ subscription: StoredAlertSubscription, at time: Double) throws(StorageError) {
        try database.statement(
            """
            INSERT INTO alert_subscriptions (subscriber, keyword_key, keyword, rooms, deliver, created)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(subscriber, keyword_key) DO UPDATE SET keyword = excluded.keyword, rooms = excluded.rooms,
                deliver = excluded.deliver
            """
        ).bind(
            .text(subscription.subscriber.description), .text(subscription.key), .text(subscription.keyword),
            subscription.rooms.map { .text($0.map(\.description).joined(separator: " ")) } ?? .null,
            .integer(subscription.deliver ? 1 : 0), .real(time)
        ).run()
    }

    public func deleteAlertSubscription(subscriber: JID, key: String) throws(StorageError) {
        try database.statement("DELETE FROM alert_subscriptions WHERE subscriber = ? AND keyword_key = ?")
            .bind(.text(subscriber.description), .text(key)).run()
    }

    public func searchAllRooms(phrase: String, beforeID: String?, limit: Int) throws(ArchiveQueryError) -> [ArchivedMessage] {
        try database.searchAllRooms(phrase: phrase, beforeID: beforeID, limit: limit)
    }
}

/// Alert `items` on a read connection, off the writer.
extension ArchiveReadConnection: AlertArchive {
    public func searchAllRooms(phrase: String, beforeID: String?, limit: Int) async throws(ArchiveQueryError) -> [ArchivedMessage] {
        try await read { database throws(ArchiveQueryError) in
            try database.searchAllRooms(phrase: phrase, beforeID: beforeID, limit: limit)
        }
    }
}

extension ArchiveReaders: AlertArchive {
    public func searchAllRooms(phrase: String, beforeID: String?, limit: Int) async throws(ArchiveQueryError) -> [ArchivedMessage] {
        try await connection.searchAllRooms(phrase: phrase, beforeID: beforeID, limit: limit)
    }
}

extension SQLiteDatabase {
    func searchAllRooms(phrase: String, beforeID: String?, limit: Int) throws(ArchiveQueryError) -> [ArchivedMessage] {
        try withArchiveErrors {
            var sql = """
                SELECT seq, room, \(ArchiveRow.columns) FROM archive
                WHERE seq IN (SELECT rowid FROM archive_fts WHERE archive_fts MATCH ?) AND moderated_by IS NULL
                AND instr(room, '/') = 0
                """
            var values: [SQLiteValue] = [.text("body : " + ArchiveFilter.quoted(phrase))]
            if let beforeID {
                let anchor = try statement("SELECT seq FROM archive WHERE stanza_id = ? ORDER BY seq LIMIT 1")
                    .bind(.text(beforeID))
                guard try anchor.step() else { throw ArchiveQueryError.unknownID(beforeID) }
                let sequence = anchor.int(0)
                anchor.finish()
                sql += " AND seq < ?"
                values.append(.integer(sequence))
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            values.append(.integer(Int64(limit)))
            let rows = try statement(sql).bind(values)
            var messages: [ArchivedMessage] = []
            while try rows.step() {
                guard let rawRoom = rows.text(1), let room = try? JID(rawRoom),
                      let message = rows.archivedMessage(room: room, at: 2) else { continue }
                messages.append(message)
            }
            return messages
        }
    }
}
