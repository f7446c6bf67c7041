import Foundation
import MUC
import XMPPCore

/// A room whose archive its owner put on the web, as the web logs' index shows it.
public struct PublishedRoom: Sendable, Hashable {
    public var jid: JID
    public var name: String
    public var description: String
    public var subject: String
    /// When the room's newest archived message was written (nil: none yet).
    public var lastActivity: Double?
    /// Moves whenever something already archived changes: a moderation, an expiry, the
    /// room's name or subject. Past days' pages stay valid while it stands still.
    public var edits: Int
    /// Moves with every new message (today's page, the calendar, the index).
    public var appends: Int
}

/// Which rooms publish web logs, kept in memory and in step with each commit of the
/// store, so that the web side asks no query to learn whether a room may be served and
/// a room that turns private is off the web before its owner hears the change succeeded.
/// Rooms that do not publish are counted too (their generations), but never listed.
public final class PublishedRooms: @unchecked Sendable {
    private let lock = NSLock()
    private var rooms: [JID: PublishedRoom] = [:]
    /// One counter for every room's edits: a room that turns public again gets a value
    /// no page was ever cached under.
    private var generation = 0

    public init() {}

    /// The room now, or nil when it does not publish.
    public func room(_ jid: JID) -> PublishedRoom? {
        lock.withLock { rooms[jid.bare] }
    }

    /// Moves with every change of any room's publishing, name, subject or archive edits:
    /// a page listing rooms is stale once it moved.
    public var version: Int {
        lock.withLock { generation }
    }

    /// Every publishing room, by JID.
    public var all: [PublishedRoom] {
        lock.withLock { rooms.values.sorted { $0.jid.description < $1.jid.description } }
    }

    func saved(_ record: RoomRecord) {
        let jid = record.jid.bare
        lock.withLock {
            generation += 1
            guard record.configuration.publishesWebLogs else {
                rooms[jid] = nil
                return
            }
            rooms[jid] = PublishedRoom(
                jid: jid, name: record.configuration.name, description: record.configuration.description,
                subject: record.subject?.text ?? "", lastActivity: rooms[jid]?.lastActivity,
                edits: generation, appends: rooms[jid]?.appends ?? 0)
        }
    }

    func loaded(_ room: PublishedRoom) {
        lock.withLock {
            generation += 1
            var room = room
            room.edits = generation
            rooms[room.jid] = room
        }
    }

    func removed(_ jid: JID) {
        lock.withLock {
            generation += 1
            rooms[jid.bare] = nil
        }
    }

    func appended(_ jid: JID, at time: Double) {
        lock.withLock {
            guard var room = rooms[jid.bare] else { return }
            room.appends += 1
            room.lastActivity = max(room.lastActivity ?? 0, time)
            rooms[jid.bare] = room
        }
    }

    func edited(_ jid: JID) {
        lock.withLock {
            generation += 1
            rooms[jid.bare]?.edits = generation
        }
    }
}

extension SQLiteRoomStore {
    /// Fills `published` from the rooms table at start-up.
    static func loadPublishedRooms(_ database: SQLiteDatabase, into published: PublishedRooms) throws(StorageError) {
        let rows = try database.statement("""
            SELECT jid, configuration, subject, (SELECT max(timestamp) FROM archive WHERE archive.room = rooms.jid)
            FROM rooms WHERE configuration LIKE '%"webLogs":true%'
            """)
        while try rows.step() {
            guard let jid = rows.text(0).flatMap({ try? JID($0) }), let json = rows.text(1),
                  let configuration = try? JSONDecoder().decode(RoomConfiguration.self, from: Data(json.utf8)),
                  configuration.publishesWebLogs
            else { continue }
            published.loaded(PublishedRoom(
                jid: jid, name: configuration.name, description: configuration.description, subject: rows.text(2) ?? "",
                lastActivity: rows.isNull(3) ? nil : rows.double(3), edits: 0, appends: 0))
        }
    }
}
