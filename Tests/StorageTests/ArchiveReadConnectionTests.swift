import Foundation
import MUC
import Testing
import XMLStream
import XMPPCore

@testable import Storage

/// Full-text searches on read connections of their own: the same answers as the
/// store gives, including what was committed a moment ago, within a time budget.
@Suite("Archive read connections")
struct ArchiveReadConnectionTests {
    let path: String
    let store: SQLiteRoomStore

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-readers-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("test.sqlite").path
        store = try SQLiteRoomStore(path: path)
    }

    @Test("a read connection answers as the store does, and sees every commit")
    func sameAnswers() async throws {
        let readers = try ArchiveReaders(path: path, count: 2, budget: 5)
        try await store.append((0..<30).map { SQLiteRoomStoreTests.message($0, body: $0 % 3 == 0 ? "deploy number \($0)" : nil) })
        let query = ArchiveQuery(fulltext: "deploy")
        let fromStore = try await store.query(SQLiteRoomStoreTests.room, query)
        let fromReader = try await readers.query(SQLiteRoomStoreTests.room, query)
        #expect(fromReader.messages.map(\.stanzaID) == fromStore.messages.map(\.stanzaID))
        #expect(fromReader.count == 10)
        try await store.append([SQLiteRoomStoreTests.message(100, body: "deploy again")])
        #expect(try await readers.query(SQLiteRoomStoreTests.room, query).count == 11)
        #expect(try await readers.query(SQLiteRoomStoreTests.room, query).count == 11)   // the other connection too
    }

    @Test("the inbox and alert items read on a read connection give what the store gives")
    func inboxAndAlertItems() async throws {
        let readers = try ArchiveReaders(path: path, count: 2, budget: 5)
        let user = try JID("carol@localhost")
        var room = Room(jid: SQLiteRoomStoreTests.room, occupantIDSalt: "s")
        room.subscribers[user] = RoomSubscriber(nick: "Carol", nodes: ["urn:xmpp:mucsub:nodes:messages"])
        try await store.saveRoom(RoomRecord(room: room, created: 1))
        try await store.append((0..<12).map { SQLiteRoomStoreTests.message($0, body: $0 % 4 == 0 ? "deploy soon \($0)" : nil) })
        let fromStore = try await store.inbox(of: user, now: 1_700_000_100)
        let fromReader = try await readers.inbox(of: user, now: 1_700_000_100)
        #expect(fromReader.map(\.room) == fromStore.map(\.room) && fromReader.map(\.unread) == fromStore.map(\.unread))
        #expect(fromReader.first?.unread == 12 && fromReader.first?.lastMessage?.stanzaID == fromStore.first?.lastMessage?.stanzaID)
        #expect(try await readers.followedRooms(of: user).map(\.room) == [SQLiteRoomStoreTests.room])
        let items = try await readers.searchAllRooms(phrase: "deploy", beforeID: nil, limit: 10)
        #expect(items.map(\.stanzaID) == (try await store.searchAllRooms(phrase: "deploy", beforeID: nil, limit: 10)).map(\.stanzaID))
        #expect(items.count == 3)
    }

    @Test("past its budget a statement is interrupted, and the connection goes on")
    func budget() throws {
        let database = try SQLiteDatabase(path: path, readOnly: true)
        let started = Date()
        #expect(throws: StorageError.self) {
            try database.withTimeBudget(0.05) { () throws(StorageError) in
                let endless = try database.statement(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
                _ = try endless.step()
            }
        }
        #expect(Date().timeIntervalSince(started) < 2)
        let after = try database.statement("SELECT 1")
        #expect(try after.step())
        after.finish()
    }
}
