import MUC
import XMPPCore

/// A `RoomStore` in memory, for tests that drive the service without files.
public actor InMemoryRoomStore: RoomStore {
    private var rooms: [JID: RoomRecord] = [:]
    private var archive: [JID: [ArchivedMessage]] = [:]

    public init() {}

    public func loadRoom(_ jid: JID) -> RoomRecord? { rooms[jid] }
    public func saveRoom(_ record: RoomRecord) { rooms[record.jid] = record }
    public func deleteRoom(_ jid: JID) { rooms[jid] = nil }

    public func publicRooms() -> [RoomListing] {
        rooms.values.filter(\.configuration.isPublic).map { RoomListing(jid: $0.jid, name: $0.configuration.name) }
            .sorted { $0.jid < $1.jid }
    }

    public func append(_ messages: [ArchivedMessage]) {
        for message in messages { archive[message.room, default: []].append(message) }
    }

    public func history(of room: JID, _ request: HistoryRequest) -> [ArchivedMessage] {
        let candidates = (archive[room] ?? []).filter { $0.timestamp > (request.since ?? -1) }
        return Array(candidates.suffix(request.maxStanzas))
    }
}
