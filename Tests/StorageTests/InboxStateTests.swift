import Foundation
import MUC
import Storage
import Testing
import XMLStream
import XMPPCore

@Suite("Inbox state from the store")
struct InboxStateTests {
    let store: SQLiteRoomStore
    static let bob = try! JID("bob@localhost")

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-inbox-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteRoomStore(path: directory.appendingPathComponent("inbox.sqlite").path)
    }

    func follow(_ room: JID, nick: String = "Bobby") async throws {
        try await store.saveRoom(RoomRecord(
            jid: room, configuration: RoomConfiguration(), affiliations: [:], registeredNicks: [:], subject: nil,
            subscribers: [Self.bob: RoomSubscriber(nick: nick, nodes: [MucSubNode.messages])], occupantIDSalt: "s", created: 0))
    }

    func message(
        _ index: Int, room: JID, nick: String = "Alice", body: String = "text", time: Double = 1_700_000_000,
        mentioning: [JID] = []
    ) -> ArchivedMessage {
        var message = SQLiteRoomStoreTests.message(index, nick: nick, body: body, room: room)
        message.mentioned = mentioning
        message.timestamp = time + Double(index)
        message.stanzaID = "\(room.localpart ?? "")-\(index)"
        return message
    }

    @Test("unread counts others' messages after the read position; markers and own messages move it")
    func unread() async throws {
        let lobby = try JID("lobby@rooms.localhost")
        try await follow(lobby)
        try await store.append((0..<5).map { message($0, room: lobby) })
        var state = try #require(try await store.inbox(of: Self.bob, now: 1_700_000_010).first)
        #expect(state.unread == 5)
        #expect(try await store.markRead(lobby, user: Self.bob, upTo: "lobby-2"))
        state = try #require(try await store.inbox(of: Self.bob, now: 1_700_000_010).first)
        #expect(state.unread == 2)
        // A marker for an older message does not move the position back.
        #expect(try await store.markRead(lobby, user: Self.bob, upTo: "lobby-0"))
        #expect(try await store.inbox(of: Self.bob, now: 1_700_000_010).first?.unread == 2)
        // Bob's own message: everything before it is read, and it does not count.
        try await store.append([message(5, room: lobby, nick: "Bob")])
        try await store.append([message(6, room: lobby)])
        #expect(try await store.inbox(of: Self.bob, now: 1_700_000_010).first?.unread == 1)
        #expect(try await !store.markRead(lobby, user: Self.bob, upTo: "nope"))
        #expect(try await store.markRead(lobby, user: Self.bob, upTo: nil))
        #expect(try await store.inbox(of: Self.bob, now: 1_700_000_010).first?.unread == 0)
    }

    @Test("mentions count unread messages naming the nick; active counts senders of the last hour; order by activity")
    func mentionsActivityOrder() async throws {
        let lobby = try JID("lobby@rooms.localhost")
        let ops = try JID("ops@rooms.localhost")
        try await follow(lobby)
        try await follow(ops)
        try await store.append([
            message(0, room: lobby, nick: "Alice", body: "hi Bobby", time: 1_700_000_000, mentioning: [Self.bob]),
            message(1, room: lobby, nick: "Carol", body: "Bobby? BOBBY!", time: 1_700_003_000, mentioning: [Self.bob]),
            message(2, room: lobby, nick: "Dave", body: "bobbysocks", time: 1_700_003_100),
            message(0, room: ops, nick: "Alice", body: "deploy", time: 1_700_003_200),
        ])
        let inbox = try await store.inbox(of: Self.bob, now: 1_700_003_600)
        #expect(inbox.map(\.room) == [ops, lobby], "newest activity first")
        let lobbyState = try #require(inbox.last)
        #expect(lobbyState.unread == 3)
        #expect(lobbyState.mentions == 2)
        #expect(try await store.markRead(lobby, user: Self.bob, upTo: "lobby-0"))
        #expect(try await store.inbox(of: Self.bob, now: 1_700_003_600).last?.mentions == 1, "read mentions do not count")
        #expect(lobbyState.active == 2, "Alice spoke more than an hour ago")
        #expect(lobbyState.lastMessage?.body == "bobbysocks")
    }

    @Test("followed rooms persist with their nick and nodes")
    func follows() async throws {
        try await follow(try JID("lobby@rooms.localhost"), nick: "B")
        let follows = try await store.followedRooms(of: Self.bob)
        #expect(follows.map(\.nick) == ["B"])
        #expect(follows.first?.nodes == [MucSubNode.messages])
        #expect(try await store.loadRoom(try JID("lobby@rooms.localhost"))?.subscribers[Self.bob]?.nick == "B")
    }
}
