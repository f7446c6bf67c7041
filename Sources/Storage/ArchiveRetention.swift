import MUC
import XMPPCore

/// Expiry of archived messages (per-room retention, with a service-wide
/// default), in small batches so that rooms never wait long for the database.
extension SQLiteRoomStore {
    /// Each room with messages in the archive and the retention that applies
    /// to it: the room's own, or `defaultDays` (0 = forever).
    public func retentionPlan(defaultDays: Int) throws(StorageError) -> [(room: JID, days: Int)] {
        var own: [String: Int?] = [:]
        let configured = try database.statement("SELECT jid, retention_days FROM rooms")
        while try configured.step() {
            guard let jid = configured.text(0) else { continue }
            own[jid] = configured.isNull(1) ? nil : Int(configured.int(1))
        }
        var plan: [(room: JID, days: Int)] = []
        let rooms = try database.statement("SELECT DISTINCT room FROM archive")
        while try rooms.step() {
            guard let text = rooms.text(0), let jid = try? JID(text) else { continue }
            let days = (own[text] ?? nil) ?? defaultDays
            if days > 0 { plan.append((jid, days)) }
        }
        return plan
    }

    /// How many messages of `room` (or of an ended room's archive) are older than `cutoff`.
    public func expirable(_ room: JID, before cutoff: Double) throws(StorageError) -> Int {
        try database.statement("SELECT COUNT(*) FROM archive WHERE room = ? AND timestamp < ?")
            .bind(.text(room.description), .real(cutoff)).scalar()
    }

    /// Deletes up to `limit` messages of `room` older than `cutoff`; returns how many went.
    /// The full-text index follows through its trigger.
    public func expire(_ room: JID, before cutoff: Double, limit: Int) throws(StorageError) -> Int {
        try database.statement(
            """
            DELETE FROM archive WHERE seq IN (
                SELECT seq FROM archive WHERE room = ? AND timestamp < ? ORDER BY seq LIMIT ?)
            """
        ).bind(.text(room.description), .real(cutoff), .integer(Int64(limit))).run()
        let deleted = database.changes
        if deleted > 0 {
            // Mentions of messages that are gone go too.
            try database.statement(
                "DELETE FROM mentions WHERE room = ?1 AND seq < coalesce((SELECT min(seq) FROM archive WHERE room = ?1), 1 << 62)"
            ).bind(.text(room.description)).run()
            published.edited(room)
        }
        try database.statement("DELETE FROM room_subjects WHERE room = ? AND time < ?")
            .bind(.text(room.description), .real(cutoff)).run()
        if database.changes > 0 { published.edited(room) }
        return deleted
    }

    /// The keys of ended rooms' archives that ended before `cutoff`.
    public func endedBefore(_ cutoff: Double) throws(StorageError) -> [JID] {
        let rows = try database.statement("SELECT archive_key FROM ended_rooms WHERE ended < ? ORDER BY ended")
            .bind(.real(cutoff))
        var keys: [JID] = []
        while try rows.step() {
            if let key = rows.text(0).flatMap({ try? JID($0) }) { keys.append(key) }
        }
        return keys
    }

    /// Deletes up to `limit` messages of an ended room's archive; once none is
    /// left, the ended room is forgotten. Returns how many messages went.
    public func purgeEnded(_ key: JID, limit: Int) throws(StorageError) -> Int {
        try database.statement(
            "DELETE FROM archive WHERE seq IN (SELECT seq FROM archive WHERE room = ? ORDER BY seq LIMIT ?)"
        ).bind(.text(key.description), .integer(Int64(limit))).run()
        let deleted = database.changes
        if deleted < limit {
            try database.statement("DELETE FROM ended_rooms WHERE archive_key = ?").bind(.text(key.description)).run()
        }
        return deleted
    }
}
