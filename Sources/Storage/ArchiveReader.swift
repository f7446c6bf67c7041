import Foundation
import MUC
import XMLStream
import XMPPCore

/// Reads a room's archive for the admin command line, row by row, so that an
/// export of any size runs in constant memory. It opens the database beside a
/// running service (WAL lets readers and the writer work at once).
public final class ArchiveReader {
    private let database: SQLiteDatabase

    public init(path: String) throws(StorageError) {
        database = try SQLiteDatabase(path: path)
        // The running service owns the schema: a command-line tool never migrates it.
        try Schema.requireCurrent(database)
    }

    /// One archived message as the command line shows it.
    public struct Record: Sendable, Hashable {
        public var stanzaID: String
        public var timestamp: Double
        public var nick: String
        public var senderJID: String?
        public var body: String
        /// The stanza as archived, serialized.
        public var stanza: String
        /// Set when a moderator retracted the message (XEP-0425): the body is then gone.
        public var moderation: Moderation?
    }

    /// Who retracted a message, when, and why.
    public struct Moderation: Sendable, Hashable {
        public var by: String
        public var timestamp: Double
        public var reason: String?

        public init(by: String, timestamp: Double, reason: String?) {
            self.by = by
            self.timestamp = timestamp
            self.reason = reason
        }
    }

    /// Messages of a room matching the filters, oldest first.
    public func search(
        room: JID, text: String?, since: Double?, until: Double?, limit: Int?, _ each: (Record) throws -> Void
    ) throws {
        var filter = ArchiveFilter(room: room)
        if let since { filter.add("timestamp >= ?", .real(since)) }
        if let until { filter.add("timestamp <= ?", .real(until)) }
        if let text, let match = ArchiveFilter.fullTextQuery(text, room: room) {
            filter.add("seq IN (SELECT rowid FROM archive_fts WHERE archive_fts MATCH ?)", .text(match))
        }
        let columns = "stanza_id, timestamp, nick, sender_jid, body, stanza, moderated_by, moderated_at, moderation_reason"
        var sql = "SELECT \(columns) FROM archive WHERE \(filter.sql) ORDER BY seq"
        if let limit {
            // The newest `limit` matches, still printed oldest first.
            sql = """
                SELECT \(columns) FROM (SELECT seq, \(columns) FROM archive WHERE \(filter.sql)
                ORDER BY seq DESC LIMIT \(max(0, limit))) ORDER BY seq
                """
        }
        let rows = try database.statement(sql).bind(filter.values)
        while try rows.step() {
            try each(Record(
                stanzaID: rows.text(0) ?? "", timestamp: rows.double(1), nick: rows.text(2) ?? "",
                senderJID: rows.text(3), body: rows.text(4) ?? "", stanza: rows.text(5) ?? "",
                moderation: rows.text(6).map { Moderation(by: $0, timestamp: rows.double(7), reason: rows.text(8)) }))
        }
    }

    /// An ended room's archive: the key `search` and `export` take for it, and when the room ended.
    public struct EndedArchive: Sendable, Hashable {
        public var key: JID
        public var room: JID
        public var ended: Double
        public var messages: Int
    }

    /// The archives of rooms that ended, oldest first.
    public func endedArchives() throws -> [EndedArchive] {
        let rows = try database.statement("""
            SELECT archive_key, jid, ended, (SELECT COUNT(*) FROM archive WHERE room = archive_key)
            FROM ended_rooms ORDER BY ended
            """)
        var archives: [EndedArchive] = []
        while try rows.step() {
            guard let key = rows.text(0).flatMap({ try? JID($0) }), let room = rows.text(1).flatMap({ try? JID($0) }) else { continue }
            archives.append(EndedArchive(key: key, room: room, ended: rows.double(2), messages: Int(rows.int(3))))
        }
        return archives
    }

    /// How many messages a room's archive holds.
    public func count(room: JID) throws -> Int {
        try database.statement("SELECT COUNT(*) FROM archive WHERE room = ?").bind(.text(room.description)).scalar()
    }

    /// Every message of a room, oldest first.
    public func export(room: JID, _ each: (Record) throws -> Void) throws {
        try search(room: room, text: nil, since: nil, until: nil, limit: nil, each)
    }
}
