import Foundation

/// What the store holds, cheaply counted: the gauges of `/metrics` and the service statistics command.
public struct StoreStatistics: Sendable, Hashable {
    public var persistentRooms: Int
    public var followers: Int
    /// The database file with its write-ahead log.
    public var databaseBytes: Int
}

extension SQLiteRoomStore {
    public func statistics() throws(StorageError) -> StoreStatistics {
        func scalar(_ sql: String) throws(StorageError) -> Int {
            try database.statement(sql).scalar()
        }
        let pages = try scalar("PRAGMA page_count") * scalar("PRAGMA page_size")
        let log = (try? FileManager.default.attributesOfItem(atPath: database.path + "-wal")[.size] as? Int) ?? 0
        return StoreStatistics(
            persistentRooms: try scalar("SELECT COUNT(*) FROM rooms"),
            followers: try scalar("SELECT COUNT(*) FROM room_subscriptions"),
            databaseBytes: pages + log)
    }
}
