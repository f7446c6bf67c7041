import Foundation
import MUC
import Storage
import Testing
import XMLStream
import XMPPCore

@Suite("SQLite store: rooms, archive, MAM queries")
struct SQLiteRoomStoreTests {
    let directory: URL
    let store: SQLiteRoomStore
    static let room = try! JID("lobby@rooms.localhost")

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-store-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteRoomStore(path: directory.appendingPathComponent("test.sqlite").path)
    }

    static func message(_ index: Int, nick: String = "Bob", body: String? = nil, room: JID = room) -> ArchivedMessage {
        let text = body ?? "message number \(index)"
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": "\(room)/\(nick)", "type": "groupchat", "id": "m\(index)"])
        stanza.append(XMLElement("body", namespace: Namespace.client, text: text))
        return ArchivedMessage(
            stanzaID: "id-\(index)", room: room, timestamp: 1_700_000_000 + Double(index), nick: nick,
            senderJID: try? JID("\(nick.lowercased())@localhost"), body: text, stanza: stanza)
    }

    func fill(_ count: Int) async throws {
        try await store.append((0..<count).map { Self.message($0) })
    }

    @Test("a room record survives a save and a reopen")
    func roomRoundTrip() async throws {
        var configuration = RoomConfiguration()
        configuration.name = "Lobby"
        configuration.isMembersOnly = true
        configuration.password = "x"
        let record = RoomRecord(
            jid: Self.room, configuration: configuration,
            affiliations: [try JID("alice@localhost"): .owner, try JID("bob@localhost"): .outcast],
            registeredNicks: [try JID("carol@localhost"): "Caro"],
            subject: RoomSubject(text: "Hello", nick: "Alice", date: 1_700_000_000), occupantIDSalt: "salt", created: 1)
        try await store.saveRoom(record)
        let reopened = try SQLiteRoomStore(path: directory.appendingPathComponent("test.sqlite").path)
        #expect(try await reopened.loadRoom(Self.room) == record)
        #expect(try await reopened.publicRooms().map(\.jid) == [Self.room])
        try await reopened.deleteRoom(Self.room)
        #expect(try await reopened.loadRoom(Self.room) == nil)
    }

    @Test("history returns the newest messages, oldest first, within maxstanzas, since and maxchars")
    func history() async throws {
        try await fill(30)
        let last5 = try await store.history(of: Self.room, HistoryRequest(maxStanzas: 5))
        #expect(last5.map(\.stanzaID) == (25..<30).map { "id-\($0)" })
        let since = try await store.history(of: Self.room, HistoryRequest(maxStanzas: 20, since: 1_700_000_027))
        #expect(since.map(\.stanzaID) == ["id-28", "id-29"])
        let one = try await store.history(of: Self.room, HistoryRequest(maxStanzas: 20, maxChars: 200))
        #expect(one.count == 1)
        #expect(one.first?.stanza.child("body", namespace: Namespace.client)?.text == "message number 29")
    }

    @Test("paging forward covers every message once; complete is set exactly on the last page")
    func pagingForward() async throws {
        try await fill(25)
        var seen: [String] = []
        var anchor = RSMRequest.Anchor.none
        var pages = 0
        while true {
            let page = try await store.query(Self.room, ArchiveQuery(page: RSMRequest(max: 10, anchor: anchor)))
            pages += 1
            seen += page.messages.map(\.stanzaID)
            #expect(page.count == 25)
            #expect(page.isComplete == (pages == 3))
            guard !page.isComplete, let last = page.messages.last else { break }
            anchor = .after(last.stanzaID)
        }
        #expect(seen == (0..<25).map { "id-\($0)" })
    }

    @Test("paging backward from the last page, with first indexes")
    func pagingBackward() async throws {
        try await fill(25)
        let last = try await store.query(Self.room, ArchiveQuery(page: RSMRequest(max: 10, anchor: .lastPage)))
        #expect(last.messages.map(\.stanzaID) == (15..<25).map { "id-\($0)" })
        #expect(last.firstIndex == 15)
        #expect(!last.isComplete)
        let previous = try await store.query(Self.room, ArchiveQuery(page: RSMRequest(max: 10, anchor: .before("id-5"))))
        #expect(previous.messages.map(\.stanzaID) == (0..<5).map { "id-\($0)" })
        #expect(previous.isComplete)
        #expect(previous.firstIndex == 0)
    }

    @Test("filters: time, occupant, ids, after-id and before-id combine")
    func filters() async throws {
        try await store.append([Self.message(0), Self.message(1, nick: "Alice"), Self.message(2), Self.message(3, nick: "Alice")])
        let alice = try await store.query(Self.room, ArchiveQuery(nick: "Alice"))
        #expect(alice.messages.map(\.stanzaID) == ["id-1", "id-3"])
        let window = try await store.query(Self.room, ArchiveQuery(start: 1_700_000_001, end: 1_700_000_002))
        #expect(window.messages.map(\.stanzaID) == ["id-1", "id-2"])
        let between = try await store.query(Self.room, ArchiveQuery(afterID: "id-0", beforeID: "id-3"))
        #expect(between.messages.map(\.stanzaID) == ["id-1", "id-2"])
        let ids = try await store.query(Self.room, ArchiveQuery(ids: ["id-3", "id-0"]))
        #expect(ids.messages.map(\.stanzaID) == ["id-0", "id-3"])
    }

    @Test("an unknown anchor id is item-not-found, not an empty page")
    func unknownID() async throws {
        try await fill(3)
        await #expect(throws: ArchiveQueryError.unknownID("nope")) {
            try await store.query(Self.room, ArchiveQuery(page: RSMRequest(anchor: .after("nope"))))
        }
        await #expect(throws: ArchiveQueryError.unknownID("nope")) {
            try await store.query(Self.room, ArchiveQuery(afterID: "nope"))
        }
    }

    @Test("full-text search is case- and diacritic-insensitive, needs every word, and pages")
    func fulltext() async throws {
        try await store.append([
            Self.message(0, body: "Meet at the Café tomorrow"),
            Self.message(1, body: "the cafe is closed"),
            Self.message(2, body: "stops at noon"),
            Self.message(3, body: "OPS meeting \"quoted\" and more"),
        ])
        let cafe = try await store.query(Self.room, ArchiveQuery(fulltext: "CAFE"))
        #expect(cafe.messages.map(\.stanzaID) == ["id-0", "id-1"])
        let both = try await store.query(Self.room, ArchiveQuery(fulltext: "café closed"))
        #expect(both.messages.map(\.stanzaID) == ["id-1"])
        let ops = try await store.query(Self.room, ArchiveQuery(fulltext: "ops"))
        #expect(ops.messages.map(\.stanzaID) == ["id-3"], "word boundaries: 'stops' is not 'ops'")
        let syntax = try await store.query(Self.room, ArchiveQuery(fulltext: "\"quoted\" AND OR NEAR("))
        #expect(syntax.messages.isEmpty, "user text is never FTS syntax")
        // A quote with a combining mark is one Character but still a quote to FTS5.
        let combined = try await store.query(Self.room, ArchiveQuery(fulltext: "\"\u{301} OR cafe=x("))
        #expect(combined.messages.isEmpty, "a quote hidden in a grapheme does not end the FTS string")
    }

    @Test("rooms do not see each other's archives")
    func isolation() async throws {
        try await store.append([Self.message(0), Self.message(1, room: try JID("other@rooms.localhost"))])
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.map(\.stanzaID) == ["id-0"])
        await #expect(throws: ArchiveQueryError.unknownID("id-1")) {
            try await store.query(Self.room, ArchiveQuery(page: RSMRequest(anchor: .after("id-1"))))
        }
    }

    @Test("a retracted message keeps a tombstone: no body, no full-text hit, not in history, moderation recorded")
    func retraction() async throws {
        try await fill(3)
        let retraction = Retraction(
            stanzaID: "id-1", moderator: try JID("lobby@rooms.localhost/Alice"), moderatorOccupantID: "oid",
            reason: "spam", timestamp: 1_700_000_100)
        #expect(try await store.retract(Self.room, retraction))
        #expect(try await !store.retract(Self.room, Retraction(
            stanzaID: "nope", moderator: retraction.moderator, moderatorOccupantID: "oid", reason: nil, timestamp: 0)))
        let page = try await store.query(Self.room, ArchiveQuery())
        #expect(page.messages.map(\.stanzaID) == ["id-0", "id-1", "id-2"], "the tombstone stays in MAM")
        let tombstone = try #require(page.messages.first { $0.stanzaID == "id-1" })
        #expect(tombstone.stanza.child("body", namespace: Namespace.client) == nil)
        #expect(tombstone.stanza.child("moderated", namespace: MUCNamespace.moderate0) != nil)
        #expect(try await store.query(Self.room, ArchiveQuery(fulltext: "number 1")).messages.isEmpty)
        #expect(try await store.history(of: Self.room, HistoryRequest(maxStanzas: 10)).map(\.stanzaID) == ["id-0", "id-2"])
        let reader = try ArchiveReader(path: directory.appendingPathComponent("test.sqlite").path)
        var moderation: ArchiveReader.Moderation?
        try reader.export(room: Self.room) { record in
            if record.stanzaID == "id-1" { moderation = record.moderation }
        }
        #expect(moderation == ArchiveReader.Moderation(by: "lobby@rooms.localhost/Alice", timestamp: 1_700_000_100, reason: "spam"))
    }

    @Test("retention: the room's own days, else the default; expiry in batches keeps full-text consistent")
    func retention() async throws {
        let other = try JID("other@rooms.localhost")
        let forever = try JID("forever@rooms.localhost")
        try await store.append((0..<10).map { Self.message($0) } + (0..<10).map { Self.message($0, room: other) }
            + (0..<10).map { Self.message($0, room: forever) })
        var short = RoomConfiguration()
        short.retentionDays = 1
        var keep = RoomConfiguration()
        keep.retentionDays = 0
        for (jid, configuration) in [(Self.room, short), (forever, keep)] {
            try await store.saveRoom(RoomRecord(jid: jid, configuration: configuration, affiliations: [:],
                                                registeredNicks: [:], subject: nil, occupantIDSalt: "s", created: 0))
        }
        let plan = try await store.retentionPlan(defaultDays: 30)
        #expect(Dictionary(uniqueKeysWithValues: plan.map { ($0.room, $0.days) }) == [Self.room: 1, other: 30])
        // Messages are at 1_700_000_000 + i; a cutoff at +5 expires 0...4, three at a time.
        var deleted: [Int] = []
        while true {
            let count = try await store.expire(Self.room, before: 1_700_000_005, limit: 3)
            deleted.append(count)
            if count < 3 { break }
        }
        #expect(deleted == [3, 2])
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.map(\.stanzaID) == (5..<10).map { "id-\($0)" })
        #expect(try await store.query(Self.room, ArchiveQuery(fulltext: "number 2")).messages.isEmpty)
        #expect(try await store.query(Self.room, ArchiveQuery(fulltext: "number 7")).messages.count == 1)
        #expect(try await store.query(other, ArchiveQuery()).count == 10)
    }

    @Test("full-text results page forward and backward like any other query")
    func fulltextPaging() async throws {
        try await store.append((0..<30).map { Self.message($0, body: $0 % 3 == 0 ? "deploy number \($0)" : "chatter \($0)") })
        let matches = (0..<30).filter { $0 % 3 == 0 }.map { "id-\($0)" }
        let first = try await store.query(Self.room, ArchiveQuery(fulltext: "deploy", page: RSMRequest(max: 4)))
        #expect(first.messages.map(\.stanzaID) == Array(matches[0..<4]))
        #expect(first.count == 10)
        #expect(first.firstIndex == 0)
        #expect(!first.isComplete)
        let next = try await store.query(Self.room, ArchiveQuery(fulltext: "deploy", page: RSMRequest(max: 4, anchor: .after("id-9"))))
        #expect(next.messages.map(\.stanzaID) == Array(matches[4..<8]))
        #expect(next.firstIndex == 4)
        let last = try await store.query(Self.room, ArchiveQuery(fulltext: "deploy", page: RSMRequest(max: 4, anchor: .lastPage)))
        #expect(last.messages.map(\.stanzaID) == Array(matches[6..<10]))
        #expect(!last.isComplete)
        let before = try await store.query(Self.room, ArchiveQuery(fulltext: "deploy", page: RSMRequest(max: 4, anchor: .before("id-10"))))
        #expect(before.messages.map(\.stanzaID) == Array(matches[0..<4]))
        #expect(before.isComplete)
        let end = try await store.query(Self.room, ArchiveQuery(fulltext: "deploy", page: RSMRequest(max: 4, anchor: .after("id-24"))))
        #expect(end.messages.map(\.stanzaID) == ["id-27"])
        #expect(end.isComplete)
        let withNick = try await store.query(Self.room, ArchiveQuery(nick: "Alice", fulltext: "deploy"))
        #expect(withNick.messages.isEmpty)
    }

    @Test("an ended room's archive is out of reach of a new room with the same JID, and stays exportable until purged")
    func roomLifetimes() async throws {
        try await store.saveRoom(RoomRecord(room: Room(jid: Self.room, affiliations: [try JID("alice@localhost"): .owner], occupantIDSalt: "s"), created: 1))
        try await store.append([Self.message(1, body: "the secret plan"), Self.message(2, body: "launch at dawn")])
        _ = try await store.markRead(Self.room, user: try JID("carol@localhost"), upTo: "id-1")
        try await store.endRoom(Self.room, at: 1_700_000_100)
        #expect(try await store.loadRoom(Self.room) == nil)

        // A new room under the same JID starts empty: MAM, full text, history, alerts.
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.isEmpty)
        #expect(try await store.query(Self.room, ArchiveQuery(fulltext: "secret")).messages.isEmpty)
        #expect(try await store.history(of: Self.room, HistoryRequest(maxStanzas: 20)).isEmpty)
        #expect(try await store.searchAllRooms(phrase: "secret plan", beforeID: nil, limit: 10).isEmpty)
        try await store.append([Self.message(3, body: "a new beginning")])
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.map(\.stanzaID) == ["id-3"])

        // Admins still export it by its key, full text included.
        let path = directory.appendingPathComponent("test.sqlite").path
        let reader = try ArchiveReader(path: path)
        let ended = try reader.endedArchives()
        #expect(ended.count == 1)
        let key = try #require(ended.first?.key)
        #expect(key.description == "lobby@rooms.localhost/ended-1700000100000")
        #expect(ended.first?.messages == 2)
        var exported: [String] = []
        try reader.export(room: key) { exported.append($0.body) }
        #expect(exported == ["the secret plan", "launch at dawn"])
        var found: [String] = []
        try reader.search(room: key, text: "dawn", since: nil, until: nil, limit: nil) { found.append($0.stanzaID) }
        #expect(found == ["id-2"])

        // keep_destroyed_days: purged in batches, then forgotten.
        #expect(try await store.endedBefore(1_700_000_000).isEmpty)
        #expect(try await store.endedBefore(1_700_000_200) == [key])
        #expect(try await store.purgeEnded(key, limit: 1) == 1)
        #expect(try await store.purgeEnded(key, limit: 1) == 1)
        #expect(try await store.purgeEnded(key, limit: 1) == 0)
        #expect(try reader.endedArchives().isEmpty)
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.map(\.stanzaID) == ["id-3"])
    }

    @Test("MAM ids: one SQL text for any number of ids, and the statement cache stays bounded")
    func idsAndStatementCache() async throws {
        try await fill(40)
        for count in 1...40 {
            let ids = (0..<count).map { "id-\($0)" } + ["no-such-id"]
            let page = try await store.query(Self.room, ArchiveQuery(ids: ids, page: RSMRequest(max: 250)))
            #expect(page.messages.map(\.stanzaID) == (0..<count).map { "id-\($0)" })
        }
        let database = try SQLiteDatabase(path: directory.appendingPathComponent("cache.sqlite").path)
        for index in 0..<600 {
            _ = try database.statement("SELECT \(index)")
        }
        #expect(database.cachedStatementCount <= SQLiteDatabase.maximumCachedStatements)
    }

    @Test("backup: a consistent, checked copy that a new store opens with every message; rooms listed for admins")
    func backupAndRooms() async throws {
        try await store.saveRoom(RoomRecord(room: Room(jid: Self.room, affiliations: [try JID("alice@localhost"): .owner], occupantIDSalt: "s"), created: 1))
        try await fill(120)
        let path = directory.appendingPathComponent("test.sqlite").path
        let copy = directory.appendingPathComponent("copy.sqlite").path
        let admin = try AdminDatabase(path: path)
        #expect(try admin.backup(to: copy) > 0)
        #expect(!FileManager.default.fileExists(atPath: copy + ".partial"))
        let restored = try SQLiteRoomStore(path: copy)
        #expect(try await restored.query(Self.room, ArchiveQuery(page: RSMRequest(max: 250))).messages.count == 120)
        #expect(try await restored.loadRoom(Self.room) != nil)

        let rooms = try admin.rooms()
        #expect(rooms.map(\.jid) == ["lobby@rooms.localhost"])
        #expect(rooms.first?.messages == 120)
        #expect(try admin.room(Self.room)?.affiliations == ["alice@localhost": "owner"])
        #expect(try admin.room(try JID("nowhere@rooms.localhost")) == nil)
    }

    @Test("a database from a newer Parley is refused, not guessed at")
    func newerSchema() throws {
        let path = directory.appendingPathComponent("newer.sqlite").path
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA user_version = 9999")
        #expect(throws: StorageError.self) { _ = try SQLiteRoomStore(path: path) }
    }

    @Test("at start-up, archives of rooms the store keeps no record of end (a temporary room alive at a crash)")
    func orphansEnd() async throws {
        try await store.saveRoom(RoomRecord(room: Room(jid: Self.room, occupantIDSalt: "s"), created: 1))
        let temporary = try JID("temp@rooms.localhost")
        try await store.append([Self.message(1), Self.message(2, room: temporary)])
        #expect(try await store.endOrphanedRooms(at: 1_700_000_500) == 1)
        #expect(try await store.query(temporary, ArchiveQuery()).messages.isEmpty)
        #expect(try await store.query(Self.room, ArchiveQuery()).messages.count == 1)
        #expect(try await store.endOrphanedRooms(at: 1_700_000_600) == 0)
    }
}
