import Foundation
import MUC
import XMLStream
import XMPPCore

/// Why an archive query cannot be answered, in the terms MAM replies with.
public enum ArchiveQueryError: Error, Sendable, Equatable {
    /// An id given as an anchor is not in this room's archive (XEP-0059 §2.6: item-not-found).
    case unknownID(String)
    case storage(StorageError)
}

/// The filters of a MAM query as SQL: one WHERE clause and its values, shared
/// by the page, the count and the index queries.
struct ArchiveFilter {
    var clauses: [String] = ["room = ?"]
    var values: [SQLiteValue]

    init(room: JID) {
        values = [.text(room.description)]
    }

    mutating func add(_ clause: String, _ newValues: SQLiteValue...) {
        clauses.append(clause)
        values += newValues
    }

    var sql: String { clauses.joined(separator: " AND ") }

    /// FTS5 query text for words in one room's messages: every word quoted,
    /// so that user input is never FTS syntax; all words must appear.
    static func fullTextQuery(_ text: String, room: JID) -> String? {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map { quoted(String($0)) }
        guard !words.isEmpty else { return nil }
        return "room_token : \(roomToken(room)) AND body : (\(words.joined(separator: " ")))"
    }

    /// An FTS5 string: in quotes, every quote inside doubled. By Unicode scalar: a quote
    /// followed by a combining mark is one `Character`, which a `Character`-wise replace
    /// would miss, ending the string early and letting the rest be FTS syntax.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { result.unicodeScalars.append("\"") }
            result.unicodeScalars.append(scalar)
        }
        return result + "\""
    }

    /// The same token the schema derives with `'r' || hex(room)`.
    static func roomToken(_ room: JID) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var token: [UInt8] = [UInt8(ascii: "r")]
        for byte in room.description.utf8 {
            token.append(digits[Int(byte >> 4)])
            token.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: token, as: UTF8.self)
    }
}

extension SQLiteRoomStore {
    /// Runs a MAM query: the filters of the form, then the RSM page (XEP-0313 §4, XEP-0059).
    public func query(_ room: JID, _ query: ArchiveQuery) throws(ArchiveQueryError) -> ArchivePage {
        try database.archiveQuery(room, query)
    }

    /// XEP-0313 §5.1: the first and last archived message of a room.
    public func metadata(_ room: JID) throws(StorageError) -> (first: ArchivedMessage?, last: ArchivedMessage?) {
        try database.archiveMetadata(room)
    }
}

/// The MAM queries themselves, on whichever connection runs them: the store's
/// own, or a read connection of `ArchiveReadConnection`.
extension SQLiteDatabase {
    func archiveQuery(_ room: JID, _ query: ArchiveQuery) throws(ArchiveQueryError) -> ArchivePage {
        try withArchiveErrors { try runQuery(room, query) }
    }

    private func sequence(of stanzaID: String, in room: JID) throws -> Int64 {
        let statement = try statement("SELECT seq FROM archive WHERE room = ? AND stanza_id = ?")
            .bind(.text(room.description), .text(stanzaID))
        guard try statement.step() else { throw ArchiveQueryError.unknownID(stanzaID) }
        defer { statement.finish() }
        return statement.int(0)
    }

    private func runQuery(_ room: JID, _ query: ArchiveQuery) throws -> ArchivePage {
        var filter = ArchiveFilter(room: room)
        if let start = query.start { filter.add("timestamp >= ?", .real(start)) }
        if let end = query.end { filter.add("timestamp <= ?", .real(end)) }
        if let nick = query.nick { filter.add("nick = ?", .text(nick)) }
        if let afterID = query.afterID { filter.add("seq > ?", .integer(try sequence(of: afterID, in: room))) }
        if let beforeID = query.beforeID { filter.add("seq < ?", .integer(try sequence(of: beforeID, in: room))) }
        if let ids = query.ids {
            guard !ids.isEmpty else { return ArchivePage(messages: [], isComplete: true, count: 0, firstIndex: nil) }
            // One SQL text for any number of ids: the list is bound as one JSON array.
            let list = (try? JSONEncoder().encode(ids)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            filter.add("stanza_id IN (SELECT value FROM json_each(?))", .text(list))
        }
        if let text = query.fulltext, let match = ArchiveFilter.fullTextQuery(text, room: room) {
            filter.add("seq IN (SELECT rowid FROM archive_fts WHERE archive_fts MATCH ?)", .text(match))
            return try pageOfMatches(room, query, filter: filter)
        }

        let count = try countRows(filter)
        let limit = query.pageSize
        var page = filter
        let backwards: Bool
        var offset = 0
        switch query.page.anchor {
        case .none:
            backwards = false
            offset = query.page.index ?? 0
        case .after(let id):
            page.add("seq > ?", .integer(try sequence(of: id, in: room)))
            backwards = false
        case .before(let id):
            page.add("seq < ?", .integer(try sequence(of: id, in: room)))
            backwards = true
        case .lastPage:
            backwards = true
        }
        let sql = """
            SELECT seq, \(ArchiveRow.columns) FROM archive
            WHERE \(page.sql) ORDER BY seq \(backwards ? "DESC" : "ASC") LIMIT ? OFFSET ?
            """
        let rows = try statement(sql).bind(page.values + [.integer(Int64(limit + 1)), .integer(Int64(offset))])
        var messages: [ArchivedMessage] = []
        var firstSequence: Int64?
        var more = false
        while try rows.step() {
            if messages.count == limit {
                more = true
                rows.finish()
                break
            }
            guard let message = rows.archivedMessage(room: room, at: 1) else { continue }
            let sequence = rows.int(0)
            if firstSequence == nil || backwards { firstSequence = sequence }
            messages.append(message)
        }
        if backwards { messages.reverse() }
        var firstIndex: Int? = nil
        if let firstSequence {
            var before = filter
            before.add("seq < ?", .integer(firstSequence))
            firstIndex = try countRows(before)
        }
        if query.flipPage { messages.reverse() }
        return ArchivePage(messages: messages, isComplete: !more, count: count, firstIndex: firstIndex)
    }

    /// A full-text query evaluates the index once: the positions of every
    /// match (a search result set is small next to an archive), then count,
    /// index and page come from that list instead of three more index scans.
    private func pageOfMatches(_ room: JID, _ query: ArchiveQuery, filter: ArchiveFilter) throws -> ArchivePage {
        let matches = try statement("SELECT seq FROM archive WHERE \(filter.sql) ORDER BY seq").bind(filter.values)
        var sequences: [Int64] = []
        while try matches.step() { sequences.append(matches.int(0)) }
        let count = sequences.count
        let limit = query.pageSize
        // The first position whose sequence is >= value (sequences are ascending).
        func position(of value: Int64) -> Int {
            var low = 0
            var high = sequences.count
            while low < high {
                let middle = (low + high) / 2
                if sequences[middle] < value { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let window: Range<Int>
        let backwards: Bool
        switch query.page.anchor {
        case .none:
            let start = min(query.page.index ?? 0, count)
            window = start..<min(count, start + limit)
            backwards = false
        case .after(let id):
            let start = position(of: try sequence(of: id, in: room) + 1)
            window = start..<min(count, start + limit)
            backwards = false
        case .before(let id):
            let end = position(of: try sequence(of: id, in: room))
            window = max(0, end - limit)..<end
            backwards = true
        case .lastPage:
            window = max(0, count - limit)..<count
            backwards = true
        }
        var messages: [ArchivedMessage] = []
        if !window.isEmpty {
            let wanted = Array(sequences[window])
            let rows = try statement(
                "SELECT seq, \(ArchiveRow.columns) FROM archive WHERE seq IN ("
                    + Array(repeating: "?", count: wanted.count).joined(separator: ", ") + ") ORDER BY seq"
            ).bind(wanted.map { .integer($0) })
            while try rows.step() {
                if let message = rows.archivedMessage(room: room, at: 1) { messages.append(message) }
            }
        }
        if query.flipPage { messages.reverse() }
        let isComplete = backwards ? window.lowerBound == 0 : window.upperBound == count
        return ArchivePage(
            messages: messages, isComplete: isComplete, count: count, firstIndex: window.isEmpty ? nil : window.lowerBound)
    }

    private func countRows(_ filter: ArchiveFilter) throws -> Int {
        try statement("SELECT COUNT(*) FROM archive WHERE \(filter.sql)").bind(filter.values).scalar()
    }

    func archiveMetadata(_ room: JID) throws(StorageError) -> (first: ArchivedMessage?, last: ArchivedMessage?) {
        func one(_ order: String) throws(StorageError) -> ArchivedMessage? {
            let statement = try statement(
                "SELECT stanza_id, timestamp FROM archive WHERE room = ? ORDER BY seq \(order) LIMIT 1")
                .bind(.text(room.description))
            guard try statement.step() else { return nil }
            defer { statement.finish() }
            return ArchivedMessage(
                stanzaID: statement.text(0) ?? "", room: room, timestamp: statement.double(1), nick: "", senderJID: nil,
                body: "", stanza: XMLElement("message", namespace: Namespace.client))
        }
        return (try one("ASC"), try one("DESC"))
    }
}
