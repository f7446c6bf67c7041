import Foundation
import MUC
import XMPPCore

/// One line of a web log day: a message, a `/me` action, a subject change, or what a
/// moderator left of a removed message. No real JID: the web never shows one.
public struct WebLogEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case message, action, subject, removed
    }

    public var kind: Kind
    /// The message's stanza-id (the permalink anchor); subjects get `subject-<ms>`.
    public var id: String
    public var time: Double
    public var nick: String
    /// The body (without `/me ` for actions), the subject, or a removal's reason.
    public var text: String

    public init(kind: Kind, id: String, time: Double, nick: String, text: String) {
        self.kind = kind
        self.id = id
        self.time = time
        self.nick = nick
        self.text = text
    }
}

/// A search hit: the message, its body with the matched words between
/// `WebLogSearchHit.markStart` and `markEnd`, and the position to page on from.
public struct WebLogSearchHit: Sendable, Hashable {
    /// Characters XML cannot carry, so no body contains them.
    public static let markStart: Character = "\u{1}"
    public static let markEnd: Character = "\u{2}"

    public var id: String
    public var time: Double
    public var nick: String
    public var markedBody: String
    public var sequence: Int64
}

/// A UTC day as the web logs address it: days since 1970-01-01.
public struct WebLogDay: Sendable, Hashable, Comparable {
    public var number: Int

    public init(number: Int) { self.number = number }
    public init(containing time: Double) { number = Int((time / 86_400).rounded(.down)) }

    public var start: Double { Double(number) * 86_400 }
    public var end: Double { start + 86_400 }

    public static func < (a: Self, b: Self) -> Bool { a.number < b.number }
}

/// The web logs' reads, on whichever connection runs them (a read connection in the service).
extension SQLiteDatabase {
    func webLogEntries(_ room: JID, on day: WebLogDay, limit: Int, maxBytes: Int) throws(StorageError) -> [WebLogEntry] {
        let rows = try statement(
            """
            SELECT stanza_id, timestamp, nick, body, moderated_at IS NOT NULL, moderation_reason FROM archive
            WHERE room = ? AND timestamp >= ? AND timestamp < ? ORDER BY seq LIMIT ?
            """
        ).bind(.text(room.description), .real(day.start), .real(day.end), .integer(Int64(limit)))
        var entries: [WebLogEntry] = []
        var bytes = 0
        while try rows.step() {
            guard bytes < maxBytes else {
                rows.finish()
                break
            }
            let id = rows.text(0) ?? ""
            let time = rows.double(1)
            let nick = rows.text(2) ?? ""
            if rows.int(4) != 0 {
                // Removed: the reason stays, the author goes with the text.
                entries.append(WebLogEntry(kind: .removed, id: id, time: time, nick: "", text: rows.text(5) ?? ""))
                continue
            }
            let body = rows.text(3) ?? ""
            bytes += body.utf8.count
            // XEP-0245: a body that starts with "/me " is an action.
            if body.hasPrefix("/me ") {
                entries.append(WebLogEntry(kind: .action, id: id, time: time, nick: nick, text: String(body.dropFirst(4))))
            } else {
                entries.append(WebLogEntry(kind: .message, id: id, time: time, nick: nick, text: body))
            }
        }
        let subjects = try statement("SELECT time, nick, text FROM room_subjects WHERE room = ? AND time >= ? AND time < ?")
            .bind(.text(room.description), .real(day.start), .real(day.end))
        var changes: [WebLogEntry] = []
        while try subjects.step() {
            let time = subjects.double(0)
            changes.append(WebLogEntry(
                kind: .subject, id: "subject-\(Int64((time * 1000).rounded()))", time: time, nick: subjects.text(1) ?? "",
                text: subjects.text(2) ?? ""))
        }
        guard !changes.isEmpty else { return entries }
        // Both lists are in time order: merge them, a subject before a message of the same instant.
        var merged: [WebLogEntry] = []
        merged.reserveCapacity(entries.count + changes.count)
        var next = changes.makeIterator()
        var pending = next.next()
        for entry in entries {
            while let change = pending, change.time <= entry.time {
                merged.append(change)
                pending = next.next()
            }
            merged.append(entry)
        }
        while let change = pending {
            merged.append(change)
            pending = next.next()
        }
        return merged
    }

    /// The days with messages or subject changes, oldest first: one index seek per day,
    /// not a scan of the room's messages.
    func webLogDays(_ room: JID) throws(StorageError) -> [WebLogDay] {
        var days: Set<WebLogDay> = []
        var from = -Double.greatestFiniteMagnitude
        while true {
            let next = try statement(
                "SELECT timestamp FROM archive WHERE room = ? AND timestamp >= ? ORDER BY timestamp LIMIT 1"
            ).bind(.text(room.description), .real(from))
            guard try next.step() else { break }
            let day = WebLogDay(containing: next.double(0))
            next.finish()
            days.insert(day)
            from = day.end
        }
        let subjects = try statement("SELECT time FROM room_subjects WHERE room = ?").bind(.text(room.description))
        while try subjects.step() { days.insert(WebLogDay(containing: subjects.double(0))) }
        return days.sorted()
    }

    /// Full-text search in one room, newest first, `limit` hits older than `before`
    /// (a hit's `sequence`), with the MAM full-text rules (every word, any case and accent).
    func webLogSearch(_ room: JID, _ text: String, before: Int64?, limit: Int) throws(StorageError) -> [WebLogSearchHit] {
        guard let match = ArchiveFilter.fullTextQuery(text, room: room) else { return [] }
        let rows = try statement(
            """
            SELECT archive.seq, archive.stanza_id, archive.timestamp, archive.nick,
                   highlight(archive_fts, 0, char(1), char(2))
            FROM archive_fts JOIN archive ON archive.seq = archive_fts.rowid
            WHERE archive_fts MATCH ? AND archive_fts.rowid < ? AND archive.room = ?
            ORDER BY archive_fts.rowid DESC LIMIT ?
            """
        ).bind(.text(match), .integer(before ?? Int64.max), .text(room.description), .integer(Int64(limit)))
        var hits: [WebLogSearchHit] = []
        while try rows.step() {
            hits.append(WebLogSearchHit(
                id: rows.text(1) ?? "", time: rows.double(2), nick: rows.text(3) ?? "", markedBody: rows.text(4) ?? "",
                sequence: rows.int(0)))
        }
        return hits
    }

    /// The nearest days before and after `day` that have messages (one index seek each).
    func webLogNeighbours(_ room: JID, of day: WebLogDay) throws(StorageError) -> (previous: WebLogDay?, next: WebLogDay?) {
        func one(_ sql: String, _ bound: Double) throws(StorageError) -> WebLogDay? {
            let row = try statement(sql).bind(.text(room.description), .real(bound))
            guard try row.step() else { return nil }
            defer { row.finish() }
            return WebLogDay(containing: row.double(0))
        }
        return (
            try one("SELECT timestamp FROM archive WHERE room = ? AND timestamp < ? ORDER BY timestamp DESC LIMIT 1", day.start),
            try one("SELECT timestamp FROM archive WHERE room = ? AND timestamp >= ? ORDER BY timestamp LIMIT 1", day.end)
        )
    }

    /// When a message of the room was sent, for its permalink (nil: not in this room).
    func webLogMessageTime(_ room: JID, id: String) throws(StorageError) -> Double? {
        let row = try statement("SELECT timestamp FROM archive WHERE room = ? AND stanza_id = ?")
            .bind(.text(room.description), .text(id))
        guard try row.step() else { return nil }
        defer { row.finish() }
        return row.double(0)
    }
}

/// The web logs' reads on a read connection: off the writer, at low priority, in a budget.
extension ArchiveReadConnection {
    public func webLogEntries(
        _ room: JID, on day: WebLogDay, limit: Int, maxBytes: Int = .max
    ) async throws(StorageError) -> [WebLogEntry] {
        try await read { database throws(StorageError) in
            try database.webLogEntries(room, on: day, limit: limit, maxBytes: maxBytes)
        }
    }

    public func webLogDays(_ room: JID) async throws(StorageError) -> [WebLogDay] {
        try await read { database throws(StorageError) in try database.webLogDays(room) }
    }

    public func webLogSearch(_ room: JID, _ text: String, before: Int64?, limit: Int) async throws(StorageError) -> [WebLogSearchHit] {
        try await read { database throws(StorageError) in try database.webLogSearch(room, text, before: before, limit: limit) }
    }

    public func webLogNeighbours(_ room: JID, of day: WebLogDay) async throws(StorageError) -> (previous: WebLogDay?, next: WebLogDay?) {
        try await read { database throws(StorageError) in try database.webLogNeighbours(room, of: day) }
    }

    public func webLogMessageTime(_ room: JID, id: String) async throws(StorageError) -> Double? {
        try await read { database throws(StorageError) in try database.webLogMessageTime(room, id: id) }
    }
}
