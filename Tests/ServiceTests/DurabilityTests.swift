import Logging
import MUC
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

/// Acknowledged means durable: what the store refused is neither kept nor announced.
@Suite("Durability of acknowledged changes")
struct DurabilityTests {
    static let domain = try! JID("rooms.localhost")

    static func stanza(_ xml: String) throws -> Stanza {
        var text = xml
        if let space = text.firstIndex(of: " ") { text.insert(contentsOf: " xmlns='jabber:client'", at: space) }
        return try Stanza(parsing: try #require(XMLStreamParser.parseElement(text)))
    }

    /// An instant room owned by alice, with bob in it.
    static func room(_ host: RoomHost) async throws {
        _ = await host.handle(try stanza("<presence from='alice@localhost/a' to='lobby@rooms.localhost/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>"))
        _ = await host.handle(try stanza("""
            <iq from='alice@localhost/a' to='lobby@rooms.localhost' type='set' id='i'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'/></query></iq>
            """))
        _ = await host.handle(try stanza("<presence from='bob@localhost/b' to='lobby@rooms.localhost/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>"))
    }

    @Test("a ban the store could not save is refused with internal-server-error, and Bob stays")
    func failedSave() async throws {
        let store = InMemoryRoomStore()
        let host = RoomHost(domain: Self.domain, store: store, logger: Logger(label: "test"))
        try await Self.room(host)
        await store.failRoomWrites(with: StorageError(code: 10, message: "disk I/O error"))
        let ban = try Self.stanza("""
            <iq from='alice@localhost/a' to='lobby@rooms.localhost' type='set' id='ban'><query xmlns='http://jabber.org/protocol/muc#admin'>\
            <item affiliation='outcast' jid='bob@localhost'/></query></iq>
            """)
        let answer = await host.handle(ban).stanzas
        #expect(answer.count == 1)
        #expect(StanzaError(errorStanza: try #require(answer.first))?.condition == .internalServerError)
        #expect(answer.allSatisfy { $0[attribute: "to"] == "alice@localhost/a" }, "Bob is told nothing")

        // Once the store works again, Bob is still there and not banned.
        await store.failRoomWrites(with: nil)
        let said = await host.handle(try Self.stanza(
            "<message from='bob@localhost/b' to='lobby@rooms.localhost' type='groupchat' id='m'><body>still here</body></message>")).stanzas
        #expect(said.contains { $0[attribute: "to"] == "alice@localhost/a" && $0.name == "message" })
        #expect(await store.loadRoom(try JID("lobby@rooms.localhost"))?.room.affiliation(of: try JID("bob@localhost")) == MUC.Affiliation.none)
    }

    @Test("a full disk is resource-constraint")
    func fullDisk() async throws {
        let store = InMemoryRoomStore()
        let host = RoomHost(domain: Self.domain, store: store, logger: Logger(label: "test"))
        try await Self.room(host)
        await store.failRoomWrites(with: StorageError(code: 13, message: "database or disk is full"))
        let subject = await host.handle(try Self.stanza(
            "<message from='alice@localhost/a' to='lobby@rooms.localhost' type='groupchat' id='s'><subject>new</subject></message>")).stanzas
        #expect(subject.count == 1)
        #expect(StanzaError(errorStanza: try #require(subject.first))?.condition == .resourceConstraint)
    }

    @Test("someone who leaves has left even when the room cannot end; it ends with the next stanza once the store works")
    func departureWhileTheStoreFails() async throws {
        let store = InMemoryRoomStore()
        let host = RoomHost(domain: Self.domain, store: store, logger: Logger(label: "test"))
        _ = await host.handle(try Self.stanza("<presence from='alice@localhost/a' to='temp@rooms.localhost/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>"))
        _ = await host.handle(try Self.stanza("""
            <iq from='alice@localhost/a' to='temp@rooms.localhost' type='set' id='i'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>0</value></field></x></query></iq>
            """))
        await store.failRoomWrites(with: StorageError(code: 13, message: "database or disk is full"))
        let left = await host.handle(try Self.stanza("<presence from='alice@localhost/a' to='temp@rooms.localhost/Alice' type='unavailable'/>")).stanzas
        #expect(left.count == 1 && left.first?[attribute: "type"] == "unavailable" && left.first?[attribute: "to"] == "alice@localhost/a")
        #expect(await host.occupantCount(try JID("temp@rooms.localhost")) == 0)
        // The store works again: the next one to come creates a new room, as after a normal end.
        await store.failRoomWrites(with: nil)
        let entered = await host.handle(try Self.stanza("<presence from='bob@localhost/b' to='temp@rooms.localhost/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).stanzas
        let codes = entered.first { $0.name == "presence" }.map { XMLSerializer.serialize($0) } ?? ""
        #expect(codes.contains("code='201'"), "a new room: \(codes)")
    }
}
