import Component
import Foundation
import Logging
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

/// Setting Parley up beside a server: one instance per database, a twin under
/// the same domain noticed, stanzas in the debug log without what people wrote.
@Suite("Link set-up")
struct LinkSetupTests {
    static let domain = try! JID("rooms.localhost")

    static func router() -> Router {
        Router(
            domain: domain, serviceName: "Test rooms",
            rooms: RoomHost(domain: domain, store: InMemoryRoomStore(), logger: Logger(label: "test")),
            logger: Logger(label: "test"))
    }

    @Test("the link check is a ping to ourselves; its own answer comes back silently")
    func ownLinkCheck() async throws {
        let router = Self.router()
        let probe = try #require(await router.tick().stanzas.first)
        #expect(probe[attribute: "from"] == "rooms.localhost")
        #expect(probe[attribute: "to"] == "rooms.localhost")
        #expect(probe.child("ping", namespace: Namespace.ping) != nil)
        // The server routes it back to us: answered like any ping…
        let answer = try #require(await router.handle(probe).stanzas.first)
        #expect(answer[attribute: "type"] == "result")
        // …and the answer, back again, needs nothing more.
        #expect(await router.handle(answer).stanzas.isEmpty)
        #expect(await router.twins.twinSeen == nil)
    }

    @Test("a link check this instance never sent means another instance shares the domain")
    func twinNoticed() async throws {
        let router = Self.router()
        let twin = Self.router()
        let theirs = try #require(await twin.tick().stanzas.first)
        // The server handed the twin's ping to us: we answer it, and know.
        #expect(await router.handle(theirs).stanzas.first?[attribute: "type"] == "result")
        #expect(await router.twins.twinSeen != nil)

        // The same when an answer to the twin's check reaches us instead.
        let other = Self.router()
        let ping = try #require(await twin.tick().stanzas.first)
        let answer = try #require(await twin.handle(ping).stanzas.first)
        #expect(await other.handle(answer).stanzas.isEmpty)
        #expect(await other.twins.twinSeen != nil)
    }

    @Test("a ping from a user with a look-alike id is just a ping")
    func userPingIsNoTwin() async {
        let router = Self.router()
        let ping = XMLElement(
            "iq", namespace: Namespace.client,
            attributes: ["from": "alice@localhost/x", "to": "rooms.localhost", "id": "parley-link-check-1", "type": "get"],
            children: [.element(XMLElement("ping", namespace: Namespace.ping))])
        #expect(await router.handle(ping).stanzas.first?[attribute: "type"] == "result")
        #expect(await router.twins.twinSeen == nil)
    }

    @Test("one service per database: a second lock on the same file is refused until the first is released")
    func databaseLock() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path + ".lock") }
        var first: DatabaseLock? = try DatabaseLock(database: path)
        #expect(first != nil)
        #expect(throws: ServiceError.self) { try DatabaseLock(database: path) }
        first = nil
        #expect(throws: Never.self) { _ = try DatabaseLock(database: path) }
    }

    @Test("the debug log shows stanzas without bodies, subjects or passwords unless asked")
    func stanzaLog() throws {
        let stanza = try #require(XMLStreamParser.parseElement("""
            <message xmlns='jabber:client' from='a@b/c' to='r@rooms.localhost' type='groupchat'>\
            <body>secret plans</body><x xmlns='http://jabber.org/protocol/muc'><password>sesame</password></x></message>
            """))
        let redacted = StanzaLog().line(stanza)
        #expect(!redacted.contains("secret plans"))
        #expect(redacted.contains("[12 bytes]"))
        #expect(!redacted.contains("sesame"))
        #expect(redacted.contains("from='a@b/c'") || redacted.contains("from=\"a@b/c\""))
        let full = StanzaLog(includesBodies: true).line(stanza)
        #expect(full.contains("secret plans"))
        #expect(!full.contains("sesame"))
        let secrets = try #require(XMLStreamParser.parseElement("""
            <iq xmlns='jabber:client' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_roomsecret'><value>hunter2</value></field></x>\
            </query></iq>
            """))
        #expect(!StanzaLog(includesBodies: true).line(secrets).contains("hunter2"))
        let follow = try #require(XMLStreamParser.parseElement(
            "<iq xmlns='jabber:client' type='set' id='f'><subscribe xmlns='urn:xmpp:mucsub:0' nick='n' password='hunter2'/></iq>"))
        #expect(!StanzaLog(includesBodies: true).line(follow).contains("hunter2"))
    }

    @Test("health: 200 only while the link is up, the database answers and no twin was seen lately")
    func health() {
        let now = Date()
        #expect(HealthReport(linkUp: true, databaseAnswers: true, twinSeen: nil).statusCode(now: now) == 200)
        #expect(HealthReport(linkUp: false, databaseAnswers: true, twinSeen: nil).statusCode(now: now) == 503)
        #expect(HealthReport(linkUp: true, databaseAnswers: false, twinSeen: nil).statusCode(now: now) == 503)
        let twin = HealthReport(linkUp: true, databaseAnswers: true, twinSeen: now.addingTimeInterval(-30))
        #expect(twin.statusCode(now: now) == 503)
        #expect(twin.json(now: now).contains("\"twin\":true"))
        #expect(HealthReport(linkUp: true, databaseAnswers: true, twinSeen: now.addingTimeInterval(-3600)).statusCode(now: now) == 200)
        #expect(HealthReport(linkUp: false, databaseAnswers: true, twinSeen: nil).json(now: now).contains("\"link\":\"down\""))
    }
}
