import Foundation
import MUC
import XMLStream
import XMPPCore

/// What the inbox shows for one followed room (Docs/protocol.md, Inbox).
public struct InboxRoomState: Sendable {
    public var room: JID
    public var nick: String
    public var lastMessage: ArchivedMessage?
    /// Archive position of the last message: rooms are ordered by it.
    public var lastSequence: Int64
    /// Archived messages after the user's read position (the user's own never count: they move it).
    public var unread: Int
    /// Unread messages that name the user's nick.
    public var mentions: Int
    /// Distinct senders in the last hour.
    public var active: Int

    public init(room: JID, nick: String, lastMessage: ArchivedMessage?, lastSequence: Int64, unread: Int, mentions: Int, active: Int) {
        self.room = room
        self.nick = nick
        self.lastMessage = lastMessage
        self.lastSequence = lastSequence
        self.unread = unread
        self.mentions = mentions
        self.active = active
    }
}

/// Room follows and the inbox behind them.
public protocol InboxStore: Sendable {
    /// The rooms a user follows, with the nick and the event nodes of each.
    func followedRooms(of user: JID) async throws(StorageError) -> [(room: JID, nick: String, nodes: [String])]
    /// The inbox state of each followed room, newest activity first.
    func inbox(of user: JID, now: Double) async throws(StorageError) -> [InboxRoomState]
}

extension SQLiteRoomStore: InboxStore {
    public func followedRooms(of user: JID) throws(StorageError) -> [(room: JID, nick: String, nodes: [String])] {
        try database.followedRooms(of: user)
    }

    public func inbox(of user: JID, now: Double) throws(StorageError) -> [InboxRoomState] {
        try database.inbox(of: user, now: now)
    }
}

/// The inbox on a read connection: counting unread messages of many rooms never holds up the writer.
extension ArchiveReadConnection: InboxStore {
    public func followedRooms(of user: JID) async throws(StorageError) -> [(room: JID, nick: String, nodes: [String])] {
        try await read { database throws(StorageError) in try database.followedRooms(of: user) }
    }

    public func inbox(of user: JID, now: Double) async throws(StorageError) -> [InboxRoomState] {
        try await read { database throws(StorageError) in try database.inbox(of: user, now: now) }
    }
}

extension ArchiveReaders: InboxStore {
    public func followedRooms(of user: JID) async throws(StorageError) -> [(room: JID, nick: String, nodes: [String])] {
        try await connection.followedRooms(of: user)
    }

    public func inbox(of user: JID, now: Double) async throws(StorageError) -> [InboxRoomState] {
        try await connection.inbox(of: user, now: now)
    }
}

/// The inbox's reads, on whichever connection runs them: the store's own, or a read connection.
extension SQLiteDatabase {
    func followedRooms(of user: JID) throws(StorageError) -> [(room: JID, nick: String, nodes: [String])] {
        let rows = try statement("SELECT room, nick, nodes FROM room_subscriptions WHERE subscriber = ? ORDER BY room")
            .bind(.text(user.description))
        var result: [(room: JID, nick: String, nodes: [String])] = []
        while try rows.step() {
            guard let raw = rows.text(0), let room = try? JID(raw) else { continue }
            result.append((room, rows.text(1) ?? "", (rows.text(2) ?? "").split(separator: " ").map(String.init)))
        }
        return result
    }

    func inbox(of user: JID, now: Double) throws(StorageError) -> [InboxRoomState] {
        var states: [InboxRoomState] = []
        for (room, nick, _) in try followedRooms(of: user) {
            states.append(try inboxState(room: room, nick: nick, user: user, now: now))
        }
        return states.sorted { $0.lastSequence != $1.lastSequence ? $0.lastSequence > $1.lastSequence : $0.room < $1.room }
    }

    /// Each count is an indexed lookup: ordinals for unread, the full-text
    /// index for mentions, the time index for activity.
    private func inboxState(room: JID, nick: String, user: JID, now: Double) throws(StorageError) -> InboxRoomState {
        let roomText = SQLiteValue.text(room.description)
        let last = try statement(
            """
            SELECT seq, room_ordinal, \(ArchiveRow.columns) FROM archive
            WHERE room = ? ORDER BY seq DESC LIMIT 1
            """
        ).bind(roomText)
        guard try last.step() else {
            return InboxRoomState(room: room, nick: nick, lastMessage: nil, lastSequence: 0, unread: 0, mentions: 0, active: 0)
        }
        let lastSequence = last.int(0)
        let lastOrdinal = last.int(1)
        let lastMessage = last.archivedMessage(room: room, at: 2)
        last.finish()

        let position = try single("SELECT seq FROM read_positions WHERE room = ? AND user = ?", roomText, .text(user.description))
        let readOrdinal: Int64
        if let position,
           let ordinal = try single("SELECT room_ordinal FROM archive WHERE room = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
                                    roomText, .integer(position)) {
            readOrdinal = ordinal
        } else {
            // Never read (or read only what has since expired): everything kept is unread.
            let first = try single("SELECT room_ordinal FROM archive WHERE room = ? ORDER BY seq LIMIT 1", roomText) ?? 1
            readOrdinal = first - 1
        }
        let unread = Int(max(0, lastOrdinal - readOrdinal))

        var mentions = 0
        if unread > 0 {
            mentions = Int(try single(
                "SELECT COUNT(*) FROM mentions WHERE room = ? AND user = ? AND seq > ?",
                roomText, .text(user.description), .integer(position ?? 0)) ?? 0)
        }
        // A room whose last message is more than an hour old has nobody active.
        let recent = (lastMessage?.timestamp ?? 0) > now - 3600
        let active = recent
            ? Int(try single("SELECT COUNT(*) FROM room_activity WHERE room = ? AND last_time > ?", roomText, .real(now - 3600)) ?? 0)
            : 0
        return InboxRoomState(
            room: room, nick: nick, lastMessage: lastMessage, lastSequence: lastSequence, unread: unread,
            mentions: mentions, active: active)
    }

    /// The first column of the first row, if any.
    private func single(_ sql: String, _ values: SQLiteValue...) throws(StorageError) -> Int64? {
        let statement = try statement(sql).bind(values)
        defer { statement.finish() }
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int(0)
    }
}
