import CSQLite
import Foundation
import XMPPCore

/// Admin reads of the database while the service runs (WAL: readers never wait
/// for the writer): a consistent copy for backups, and the list of rooms.
public final class AdminDatabase {
    private let database: SQLiteDatabase
    private let path: String

    public init(path: String) throws(StorageError) {
        database = try SQLiteDatabase(path: path)
        // The running service owns the schema: a command-line tool never migrates it.
        try Schema.requireCurrent(database)
        self.path = path
    }

    /// Copies the database to `destination` with SQLite's online backup, in one
    /// step: one read transaction, so the copy is the database as it was at one
    /// moment however busy the service is (page-by-page steps would restart on
    /// every commit). The copy is checked with `PRAGMA integrity_check`; it is
    /// written beside `destination` and renamed into place only once it is good.
    /// Returns the pages copied.
    @discardableResult
    public func backup(to destination: String) throws(StorageError) -> Int {
        let temporary = destination + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        let pages = try copyAndCheck(to: temporary)
        do {
            if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
            try FileManager.default.moveItem(atPath: temporary, toPath: destination)
        } catch {
            throw StorageError(code: SQLITE_CANTOPEN, message: "backup: cannot move the copy to \(destination): \(error)")
        }
        return pages
    }

    /// The online backup into `path`, then its integrity check; the copy is closed on return.
    private func copyAndCheck(to path: String) throws(StorageError) -> Int {
        var opened: OpaquePointer?
        guard sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK,
              let target = opened else {
            if let opened { sqlite3_close_v2(opened) }
            throw StorageError(code: SQLITE_CANTOPEN, message: "\(path): cannot create the copy")
        }
        defer { sqlite3_close_v2(target) }
        guard let backup = sqlite3_backup_init(target, "main", database.handle, "main") else {
            throw StorageError(code: sqlite3_errcode(target), message: String(cString: sqlite3_errmsg(target)))
        }
        let status = sqlite3_backup_step(backup, -1)
        let pages = Int(sqlite3_backup_pagecount(backup))
        sqlite3_backup_finish(backup)
        guard status == SQLITE_DONE else {
            throw StorageError(code: status, message: "backup: \(String(cString: sqlite3_errstr(status)))")
        }
        var check: OpaquePointer?
        guard sqlite3_prepare_v2(target, "PRAGMA integrity_check", -1, &check, nil) == SQLITE_OK, let check else {
            throw StorageError(code: sqlite3_errcode(target), message: String(cString: sqlite3_errmsg(target)))
        }
        defer { sqlite3_finalize(check) }
        guard sqlite3_step(check) == SQLITE_ROW, let text = sqlite3_column_text(check, 0),
              String(cString: text) == "ok" else {
            throw StorageError(code: SQLITE_CORRUPT, message: "backup: the copy failed its integrity check")
        }
        return pages
    }

    /// One room as the admin commands list it.
    public struct RoomSummary: Sendable, Hashable, Encodable {
        public var jid: String
        public var name: String
        public var isPublic: Bool
        public var created: Double
        public var messages: Int
        public var lastMessage: Double?
        public var followers: Int
        public var affiliations: [String: String]
    }

    /// Every room the store keeps (persistent rooms), by JID.
    public func rooms() throws(StorageError) -> [RoomSummary] {
        let rows = try database.statement("""
            SELECT r.jid, r.name, r.is_public, r.created,
                   (SELECT COUNT(*) FROM archive WHERE room = r.jid),
                   (SELECT max(timestamp) FROM archive WHERE room = r.jid),
                   (SELECT COUNT(*) FROM room_subscriptions WHERE room = r.jid)
            FROM rooms r ORDER BY r.jid
            """)
        var summaries: [RoomSummary] = []
        while try rows.step() {
            summaries.append(RoomSummary(
                jid: rows.text(0) ?? "", name: rows.text(1) ?? "", isPublic: rows.int(2) != 0, created: rows.double(3),
                messages: Int(rows.int(4)), lastMessage: rows.isNull(5) ? nil : rows.double(5),
                followers: Int(rows.int(6)), affiliations: [:]))
        }
        return summaries
    }

    /// One room with its affiliations, or nil when the store has no such room.
    public func room(_ jid: JID) throws(StorageError) -> RoomSummary? {
        guard var summary = try rooms().first(where: { $0.jid == jid.bare.description }) else { return nil }
        let rows = try database.statement("SELECT jid, affiliation FROM affiliations WHERE room = ? ORDER BY jid")
            .bind(.text(summary.jid))
        while try rows.step() {
            if let user = rows.text(0), let affiliation = rows.text(1) { summary.affiliations[user] = affiliation }
        }
        return summary
    }
}
