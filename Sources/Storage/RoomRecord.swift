import MUC
import XMPPCore

/// What is kept of a room between uses: everything but its occupants.
public struct RoomRecord: Sendable, Hashable {
    public var jid: JID
    public var configuration: RoomConfiguration
    public var affiliations: [JID: Affiliation]
    public var registeredNicks: [JID: String]
    public var subject: RoomSubject?
    public var subscribers: [JID: RoomSubscriber]
    public var occupantIDSalt: String
    public var created: Double

    public init(
        jid: JID, configuration: RoomConfiguration, affiliations: [JID: Affiliation], registeredNicks: [JID: String],
        subject: RoomSubject?, subscribers: [JID: RoomSubscriber] = [:], occupantIDSalt: String, created: Double
    ) {
        self.subscribers = subscribers
        self.jid = jid
        self.configuration = configuration
        self.affiliations = affiliations
        self.registeredNicks = registeredNicks
        self.subject = subject
        self.occupantIDSalt = occupantIDSalt
        self.created = created
    }

    public init(room: Room, created: Double) {
        self.init(
            jid: room.jid, configuration: room.configuration, affiliations: room.affiliations,
            registeredNicks: room.registeredNicks, subject: room.subject, subscribers: room.subscribers,
            occupantIDSalt: room.occupantIDSalt, created: created)
    }

    /// The room as it wakes up: configured, unlocked, empty.
    public var room: Room {
        Room(
            jid: jid, configuration: configuration, affiliations: affiliations, registeredNicks: registeredNicks,
            subject: subject, isLocked: false, subscribers: subscribers, occupantIDSalt: occupantIDSalt)
    }
}

/// A room as the directory lists it (XEP-0045 §6.3).
public struct RoomListing: Sendable, Hashable {
    public var jid: JID
    public var name: String

    public init(jid: JID, name: String) {
        self.jid = jid
        self.name = name
    }
}

/// Where rooms and their archives are kept. The SQLite store is the real one;
/// the in-memory one lets tests drive the service without files.
public protocol RoomStore: Sendable {
    func loadRoom(_ jid: JID) async throws(StorageError) -> RoomRecord?
    func saveRoom(_ record: RoomRecord) async throws(StorageError)
    func deleteRoom(_ jid: JID) async throws(StorageError)
    /// The room ended (destroyed, or a temporary room that emptied): its record
    /// goes, and so do its followers, read positions, mentions and activity; its
    /// archive moves out of reach of any later room with the same JID.
    func endRoom(_ jid: JID, at time: Double) async throws(StorageError)
    func publicRooms() async throws(StorageError) -> [RoomListing]
    /// How many rooms `user` owns (the `rooms_per_user` limit).
    func roomsOwned(by user: JID) async throws(StorageError) -> Int
    /// How many rooms `user` follows (the `follows_per_user` limit).
    func follows(of user: JID) async throws(StorageError) -> Int
    /// Commits the messages, and the changes of who is in which room, in one
    /// transaction; they are durable when this returns.
    func append(_ messages: [ArchivedMessage], occupancy: [OccupancyChange]) async throws(StorageError)
    /// The sessions the rooms held when the last process ended, forgotten as they are read.
    func takeRememberedOccupants() async throws(StorageError) -> [RememberedOccupant]
    /// The newest messages of a room that fit the request, oldest first.
    func history(of room: JID, _ request: HistoryRequest) async throws(StorageError) -> [ArchivedMessage]
    /// A MAM query's page (XEP-0313 with XEP-0059 paging).
    func query(_ room: JID, _ query: ArchiveQuery) async throws(ArchiveQueryError) -> ArchivePage
    /// Moves a user's read position in a room to the message with this
    /// stanza-id or message id (nil: the newest); false if there is no such message.
    func markRead(_ room: JID, user: JID, upTo id: String?) async throws(StorageError) -> Bool
    /// Replaces an archived message by its tombstone (XEP-0425); false if there is no such message.
    func retract(_ room: JID, _ retraction: Retraction) async throws(StorageError) -> Bool
    /// The first and last archived message of a room (XEP-0313 metadata).
    func metadata(_ room: JID) async throws(StorageError) -> (first: ArchivedMessage?, last: ArchivedMessage?)
}

extension RoomStore {
    /// Commits messages alone.
    public func append(_ messages: [ArchivedMessage]) async throws(StorageError) {
        try await append(messages, occupancy: [])
    }
}

/// A session entering a room (or changing its nick there), or leaving it.
public enum OccupancyChange: Sendable, Hashable {
    case entered(room: JID, session: JID, nick: String)
    case left(room: JID, session: JID)
}

/// A session a room held when Parley last stopped without telling it.
public struct RememberedOccupant: Sendable, Hashable {
    public var room: JID
    public var session: JID
    public var nick: String

    public init(room: JID, session: JID, nick: String) {
        self.room = room
        self.session = session
        self.nick = nick
    }
}
