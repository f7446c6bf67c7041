import Foundation
import MUC
import XMLStream
import XMPPCore

/// Rooms and their archive in one SQLite database, owned by this actor.
public actor SQLiteRoomStore: RoomStore {
    let database: SQLiteDatabase
    /// The rooms whose archive is on the web, kept in step with every commit.
    public nonisolated let published = PublishedRooms()

    /// `migrating: false` is for command-line tools beside the running service, which
    /// owns the schema: they refuse a database whose schema is not this binary's.
    public init(path: String, durability: Durability = .power, migrating: Bool = true) throws(StorageError) {
        database = try SQLiteDatabase(path: path, durability: durability)
        if migrating {
            try Schema.migrate(database)
        } else {
            try Schema.requireCurrent(database)
        }
        try Self.loadPublishedRooms(database, into: published)
    }

    // MARK: - Rooms

    public func loadRoom(_ jid: JID) throws(StorageError) -> RoomRecord? {
        let room = try database.statement(
            "SELECT configuration, subject, subject_nick, subject_time, occupant_id_salt, created FROM rooms WHERE jid = ?")
            .bind(.text(jid.description))
        guard try room.step() else { return nil }
        defer { room.finish() }
        guard let json = room.text(0), let configuration = try? JSONDecoder().decode(RoomConfiguration.self, from: Data(json.utf8)) else {
            throw StorageError(code: -1, message: "room \(jid): unreadable configuration")
        }
        let subject = room.text(1).map { RoomSubject(text: $0, nick: room.text(2), date: room.double(3)) }
        let salt = room.text(4) ?? ""
        let created = room.double(5)

        var affiliations: [JID: Affiliation] = [:]
        var nicks: [JID: String] = [:]
        let rows = try database.statement("SELECT jid, affiliation, nick FROM affiliations WHERE room = ?")
            .bind(.text(jid.description))
        while try rows.step() {
            guard let rawJID = rows.text(0), let user = try? JID(rawJID) else { continue }
            if let affiliation = rows.text(1).flatMap(Affiliation.init(rawValue:)), affiliation != .none {
                affiliations[user] = affiliation
            }
            if let nick = rows.text(2) { nicks[user] = nick }
        }
        var subscribers: [JID: RoomSubscriber] = [:]
        let followers = try database.statement("SELECT subscriber, nick, nodes FROM room_subscriptions WHERE room = ?")
            .bind(.text(jid.description))
        while try followers.step() {
            guard let raw = followers.text(0), let user = try? JID(raw), let nick = followers.text(1) else { continue }
            let nodes = Set((followers.text(2) ?? "").split(separator: " ").map(String.init))
            subscribers[user] = RoomSubscriber(nick: nick, nodes: nodes)
        }
        return RoomRecord(
            jid: jid, configuration: configuration, affiliations: affiliations, registeredNicks: nicks,
            subject: subject, subscribers: subscribers, occupantIDSalt: salt, created: created)
    }

    public func saveRoom(_ record: RoomRecord) throws(StorageError) {
        let json: String
        do {
            json = String(decoding: try JSONEncoder().encode(record.configuration), as: UTF8.self)
        } catch {
            throw StorageError(code: -1, message: "cannot encode the configuration of \(record.jid): \(error)")
        }
        let database = database
        try database.transaction { () throws(StorageError) in
            try database.statement(
                """
                INSERT INTO rooms (jid, configuration, subject, subject_nick, subject_time, occupant_id_salt, is_public, name,
                                   created, retention_days)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(jid) DO UPDATE SET configuration = excluded.configuration, subject = excluded.subject,
                    subject_nick = excluded.subject_nick, subject_time = excluded.subject_time,
                    is_public = excluded.is_public, name = excluded.name, retention_days = excluded.retention_days
                """
            ).bind(
                .text(record.jid.description), .text(json),
                record.subject.map { .text($0.text) } ?? .null,
                record.subject?.nick.map { .text($0) } ?? .null,
                record.subject.map { .real($0.date) } ?? .null,
                .text(record.occupantIDSalt), .integer(record.configuration.isPublic ? 1 : 0),
                .text(record.configuration.name), .real(record.created),
                record.configuration.retentionDays.map { .integer(Int64($0)) } ?? .null
            ).run()
            try database.statement("DELETE FROM affiliations WHERE room = ?").bind(.text(record.jid.description)).run()
            let insert = "INSERT INTO affiliations (room, jid, affiliation, nick) VALUES (?, ?, ?, ?)"
            let users = Set(record.affiliations.keys).union(record.registeredNicks.keys)
            for user in users {
                try database.statement(insert).bind(
                    .text(record.jid.description), .text(user.description),
                    .text((record.affiliations[user] ?? .none).rawValue),
                    record.registeredNicks[user].map { .text($0) } ?? .null
                ).run()
            }
            if let subject = record.subject {
                // The same subject is saved with every change of the room: its time keys it once.
                try database.statement("INSERT OR IGNORE INTO room_subjects (room, time, nick, text) VALUES (?, ?, ?, ?)")
                    .bind(.text(record.jid.description), .real(subject.date), subject.nick.map { .text($0) } ?? .null,
                          .text(subject.text))
                    .run()
            }
            try database.statement("DELETE FROM room_subscriptions WHERE room = ?").bind(.text(record.jid.description)).run()
            for (user, subscriber) in record.subscribers {
                try database.statement("INSERT INTO room_subscriptions (room, subscriber, nick, nodes) VALUES (?, ?, ?, ?)")
                    .bind(.text(record.jid.description), .text(user.description), .text(subscriber.nick),
                          .text(subscriber.nodes.sorted().joined(separator: " ")))
                    .run()
            }
        }
        published.saved(record)
    }

    public func deleteRoom(_ jid: JID) throws(StorageError) {
        try database.statement("DELETE FROM rooms WHERE jid = ?").bind(.text(jid.description)).run()
        published.removed(jid)
    }

    public func roomsOwned(by user: JID) throws(StorageError) -> Int {
        try count("SELECT COUNT(*) FROM affiliations WHERE jid = ? AND affiliation = 'owner'", user)
    }

    public func follows(of user: JID) throws(StorageError) -> Int {
        try count("SELECT COUNT(*) FROM room_subscriptions WHERE subscriber = ?", user)
    }

    private func count(_ sql: String, _ user: JID) throws(StorageError) -> Int {
        try database.statement(sql).bind(.text(user.description)).scalar()
    }

    /// Whether the database answers a trivial query (`/health`).
    public func ping() throws(StorageError) {
        let statement = try database.statement("SELECT 1")
        _ = try statement.step()
        statement.finish()
    }

    public func endRoom(_ jid: JID, at time: Double) throws(StorageError) {
        let room = SQLiteValue.text(jid.description)
        let key = SQLiteValue.text(Self.endedArchiveKey(jid, at: time))
        try database.transaction { () throws(StorageError) in
            try database.statement("UPDATE archive SET room = ? WHERE room = ?").bind(key, room).run()
            if database.changes > 0 {
                try database.statement("INSERT OR REPLACE INTO ended_rooms (archive_key, jid, ended) VALUES (?, ?, ?)")
                    .bind(key, room, .real(time)).run()
            }
            for table in ["read_positions", "room_activity", "mentions", "room_subjects"] {
                try database.statement("DELETE FROM \(table) WHERE room = ?").bind(room).run()
            }
            try database.statement("DELETE FROM occupant_sessions WHERE room = ?").bind(room).run()
            // Affiliations and followers go with the room (ON DELETE CASCADE).
            try database.statement("DELETE FROM rooms WHERE jid = ?").bind(room).run()
        }
        published.removed(jid)
    }

    /// At start-up no room is in memory, so an archive (or read positions, mentions,
    /// activity) under a JID the store keeps no room for belongs to a room that ended
    /// without being told so: a temporary room alive when the process was killed, or
    /// rooms that ended before rooms could end. They end now. Returns how many did.
    @discardableResult
    public func endOrphanedRooms(at time: Double) throws(StorageError) -> Int {
        let rows = try database.statement("""
            SELECT DISTINCT room FROM archive WHERE instr(room, '/') = 0 AND room NOT IN (SELECT jid FROM rooms)
            """)
        var orphans: [JID] = []
        while try rows.step() {
            if let jid = rows.text(0).flatMap({ try? JID($0) }) { orphans.append(jid) }
        }
        for jid in orphans { try endRoom(jid, at: time) }
        for table in ["read_positions", "room_activity", "mentions"] {
            try database.statement("DELETE FROM \(table) WHERE room NOT IN (SELECT jid FROM rooms)").run()
        }
        return orphans.count
    }

    /// Where an ended room's archive lives: a full JID no room can have.
    static func endedArchiveKey(_ jid: JID, at time: Double) -> String {
        "\(jid.bare)/ended-\(Int64(time * 1000))"
    }

    public func publicRooms() throws(StorageError) -> [RoomListing] {
        let rows = try database.statement("SELECT jid, name FROM rooms WHERE is_public = 1 ORDER BY jid")
        var listings: [RoomListing] = []
        while try rows.step() {
            guard let raw = rows.text(0), let jid = try? JID(raw) else { continue }
            listings.append(RoomListing(jid: jid, name: rows.text(1) ?? ""))
        }
        return listings
    }

    // MARK: - Archive

    public func append(_ messages: [ArchivedMessage], occupancy: [OccupancyChange]) throws(StorageError) {
        guard !messages.isEmpty || !occupancy.isEmpty else { return }
        let database = database
        try database.transaction { () throws(StorageError) in
            try record(occupancy)
            let insert = """
                INSERT INTO archive (room, stanza_id, timestamp, nick, sender_jid, body, stanza, room_ordinal, message_id)
                VALUES (?, ?, ?, ?, ?, ?, ?,
                        coalesce((SELECT room_ordinal FROM archive WHERE room = ?1 ORDER BY seq DESC LIMIT 1), 0) + 1, ?)
                """
            for message in messages {
                try database.statement(insert).bind(
                    .text(message.room.description), .text(message.stanzaID), .real(message.timestamp),
                    .text(message.nick), message.senderJID.map { .text($0.description) } ?? .null,
                    .text(message.body), .text(XMLSerializer.serialize(message.stanza)),
                    message.stanza[attribute: "id"].map { .text($0) } ?? .null
                ).run()
                try database.statement(
                    """
                    INSERT INTO room_activity (room, nick, last_time) VALUES (?, ?, ?)
                    ON CONFLICT(room, nick) DO UPDATE SET last_time = max(last_time, excluded.last_time)
                    """
                ).bind(.text(message.room.description), .text(message.nick), .real(message.timestamp)).run()
                let sequence = database.lastInsertRowID
                for user in message.mentioned {
                    try database.statement("INSERT OR IGNORE INTO mentions (room, user, seq) VALUES (?, ?, ?)")
                        .bind(.text(message.room.description), .text(user.description), .integer(sequence)).run()
                }
                // The sender has read everything up to their own message.
                if let sender = message.senderJID {
                    try database.statement(
                        "INSERT OR REPLACE INTO read_positions (room, user, seq) VALUES (?, ?, ?)"
                    ).bind(.text(message.room.description), .text(sender.description), .integer(sequence)).run()
                }
            }
        }
        for message in messages { published.appended(message.room, at: message.timestamp) }
    }

    public func markRead(_ room: JID, user: JID, upTo id: String?) throws(StorageError) -> Bool {
        let find: SQLiteStatement
        if let id {
            find = try database.statement(
                """
                SELECT seq FROM archive WHERE room = ?1 AND (stanza_id = ?2 OR message_id = ?2) ORDER BY seq DESC LIMIT 1
                """
            ).bind(.text(room.description), .text(id))
        } else {
            find = try database.statement("SELECT seq FROM archive WHERE room = ? ORDER BY seq DESC LIMIT 1")
                .bind(.text(room.description))
        }
        guard try find.step() else { return false }
        let sequence = find.int(0)
        find.finish()
        // A position only moves forward: an old marker arriving late changes nothing.
        try database.statement(
            """
            INSERT INTO read_positions (room, user, seq) VALUES (?, ?, ?)
            ON CONFLICT(room, user) DO UPDATE SET seq = max(seq, excluded.seq)
            """
        ).bind(.text(room.description), .text(user.description), .integer(sequence)).run()
        return true
    }

    public func retract(_ room: JID, _ retraction: Retraction) throws(StorageError) -> Bool {
        let original = try database.statement("SELECT stanza FROM archive WHERE room = ? AND stanza_id = ?")
            .bind(.text(room.description), .text(retraction.stanzaID))
        guard try original.step() else { return false }
        let text = original.text(0)
        original.finish()
        guard let text, let stanza = XMLStreamParser.parseElement(text) else { return false }
        try database.statement(
            """
            UPDATE archive SET body = '', stanza = ?, moderated_by = ?, moderated_at = ?, moderation_reason = ?
            WHERE room = ? AND stanza_id = ?
            """
        ).bind(
            .text(XMLSerializer.serialize(retraction.tombstone(of: stanza))), .text(retraction.moderator.description),
            .real(retraction.timestamp), retraction.reason.map { .text($0) } ?? .null,
            .text(room.description), .text(retraction.stanzaID)
        ).run()
        published.edited(room)
        return true
    }

    public func history(of room: JID, _ request: HistoryRequest) throws(StorageError) -> [ArchivedMessage] {
        // `+timestamp`: walk the room's messages newest first (archive_by_room)
        // and stop after maxstanzas, instead of sorting every message since `since`.
        let rows = try database.statement(
            """
            SELECT \(ArchiveRow.columns) FROM archive
            WHERE room = ? AND +timestamp > ? AND moderated_by IS NULL ORDER BY seq DESC LIMIT ?
            """
        ).bind(.text(room.description), .real(request.since ?? -1), .integer(Int64(request.maxStanzas)))
        var newestFirst: [ArchivedMessage] = []
        var characters = 0
        while try rows.step() {
            guard let text = rows.text(5) else { continue }
            if let maxChars = request.maxChars {
                // XEP-0045 §7.2.15: maxchars counts the characters of the complete stanzas.
                characters += text.count
                if characters > maxChars {
                    rows.finish()
                    break
                }
            }
            if let message = rows.archivedMessage(room: room) { newestFirst.append(message) }
        }
        return newestFirst.reversed()
    }
}
