import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Archive access and moderation in the room (XEP-0313, XEP-0425)")
struct ArchiveAccessTests {
    static func mamQuery(_ from: String, _ inner: String = "") -> String {
        "<iq from='\(from)' to='lobby@rooms.localhost' type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='f1'>\(inner)</query></iq>"
    }

    func allowed(_ effects: RoomEffects) -> Bool {
        effects.outputs.contains { if case .archiveQuery = $0 { return true } else { return false } }
    }

    @Test("who may query: anyone who could join; members in members-only rooms; never outcasts")
    func access() {
        var open = RoomDriver.open()
        #expect(allowed(open.send(Self.mamQuery("eve@localhost/x"))))
        open.room.affiliations[RoomDriver.jid("eve@localhost")] = .outcast
        #expect(open.send(Self.mamQuery("eve@localhost/x")).stanzas.first?.stanzaError?.condition == .forbidden)

        var membersOnly = RoomDriver.open { $0.isMembersOnly = true }
        #expect(membersOnly.send(Self.mamQuery("eve@localhost/x")).stanzas.first?.stanzaError?.condition == .forbidden)
        membersOnly.room.affiliations[RoomDriver.jid("eve@localhost")] = .member
        #expect(allowed(membersOnly.send(Self.mamQuery("eve@localhost/x"))))

        var password = RoomDriver.open()
        password.join("bob@localhost/pc", as: "Bob")
        password.room.configuration.password = "x"
        #expect(password.send(Self.mamQuery("eve@localhost/x")).stanzas.first?.stanzaError?.condition == .forbidden)
        #expect(allowed(password.send(Self.mamQuery("bob@localhost/pc"))), "a current occupant may read")

        var unarchived = RoomDriver.open { $0.isArchived = false }
        #expect(unarchived.send(Self.mamQuery("eve@localhost/x")).stanzas.first?.stanzaError?.condition == .serviceUnavailable)
    }

    @Test("the query form is parsed into filters; bad values are bad-request")
    func queryParsing() throws {
        var driver = RoomDriver.open()
        let effects = driver.send(Self.mamQuery("eve@localhost/x", """
            <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>\
            <field var='with'><value>lobby@rooms.localhost/Bob</value></field>\
            <field var='start'><value>2023-11-14T22:13:20Z</value></field>\
            <field var='{urn:xmpp:fulltext:0}fulltext'><value>release</value></field></x>\
            <set xmlns='http://jabber.org/protocol/rsm'><max>5</max><before/></set>
            """))
        var query: ArchiveQuery?
        for output in effects.outputs {
            if case .archiveQuery(_, let parsed) = output { query = parsed }
        }
        #expect(query == ArchiveQuery(
            queryID: "f1", start: 1_700_000_000 - 0.0005, nick: "Bob", fulltext: "release",
            page: RSMRequest(max: 5, anchor: .lastPage)))
        let badWith = driver.send(Self.mamQuery("eve@localhost/x", """
            <x xmlns='jabber:x:data' type='submit'><field var='with'><value>other@rooms.localhost/Bob</value></field></x>
            """))
        #expect(badWith.stanzas.first?.stanzaError?.condition == .badRequest)
        let badTime = driver.send(Self.mamQuery("eve@localhost/x", """
            <x xmlns='jabber:x:data' type='submit'><field var='start'><value>yesterday</value></field></x>
            """))
        #expect(badTime.stanzas.first?.stanzaError?.condition == .badRequest)
    }

    @Test("results forward the archived stanza with its delay; fin carries the page")
    func resultShape() throws {
        var stanza = XMLElement("message", namespace: Namespace.client, attributes: ["from": "lobby@rooms.localhost/Bob", "type": "groupchat"])
        stanza.append(XMLElement("body", namespace: Namespace.client, text: "hi"))
        let message = ArchivedMessage(stanzaID: "s1", room: RoomDriver.roomJID, timestamp: 1_700_000_000, nick: "Bob",
                                      senderJID: nil, body: "hi", stanza: stanza)
        let result = Room.archiveResult(message, to: RoomDriver.jid("eve@localhost/x"), queryID: "f1")
        let inner = try #require(result.child("result", namespace: Namespace.mam))
        #expect(inner[attribute: "id"] == "s1")
        #expect(inner[attribute: "queryid"] == "f1")
        let forwarded = try #require(inner.child("forwarded", namespace: Namespace.forward))
        #expect(forwarded.child("delay", namespace: Namespace.delay)?[attribute: "stamp"] == "2023-11-14T22:13:20.000Z")
        #expect(forwarded.child("message", namespace: Namespace.client)?.child("body", namespace: Namespace.client)?.text == "hi")
    }

    @Test("moderation: moderators only; the notice carries both protocol versions")
    func moderation() throws {
        var driver = OccupantTests.twoInRoom()
        let request = """
            <iq from='%@' to='lobby@rooms.localhost' type='set' id='m'><moderate id='sid-7' xmlns='urn:xmpp:message-moderate:1'>\
            <retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate></iq>
            """
        let refused = driver.send(request.replacingOccurrences(of: "%@", with: "bob@localhost/pc"))
        #expect(refused.stanzas.first?.stanzaError?.condition == .forbidden)
        let effects = driver.send(request.replacingOccurrences(of: "%@", with: "alice@localhost/phone"))
        guard case .moderation(_, let retraction, let notice, let recipients)? = effects.outputs.first else {
            Issue.record("no moderation effect: \(effects.outputs)")
            return
        }
        #expect(retraction.stanzaID == "sid-7")
        #expect(retraction.reason == "spam")
        #expect(retraction.moderator == RoomDriver.jid("lobby@rooms.localhost/Alice"))
        #expect(recipients.count == 2)
        #expect(notice.child("retract", namespace: MUCNamespace.retract1)?[attribute: "id"] == "sid-7")
        #expect(notice.child("apply-to", namespace: MUCNamespace.fasten)?.child("moderated", namespace: MUCNamespace.moderate0) != nil)

        var original = XMLElement("message", namespace: Namespace.client, attributes: ["from": "lobby@rooms.localhost/Bob"])
        original.append(XMLElement("body", namespace: Namespace.client, text: "buy now"))
        original.append(XMLElement("stanza-id", namespace: Namespace.stanzaID, attributes: ["id": "sid-7", "by": "lobby@rooms.localhost"]))
        let tombstone = retraction.tombstone(of: original)
        #expect(tombstone.child("body", namespace: Namespace.client) == nil)
        #expect(tombstone.child("stanza-id", namespace: Namespace.stanzaID) != nil)
        #expect(tombstone.child("moderated", namespace: MUCNamespace.moderate0)?[attribute: "by"] == "lobby@rooms.localhost/Alice")
    }

    @Test("a MAM query may ask for at most 250 ids")
    func tooManyIDs() throws {
        func query(_ count: Int) throws -> ArchiveQuery {
            let values = (0..<count).map { "<value>id-\($0)</value>" }.joined()
            let element = try #require(XMLStreamParser.parseElement("""
                <query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
                <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
                <field var='ids'>\(values)</field></x></query>
                """))
            return try ArchiveQuery(element: element, room: RoomDriver.roomJID)
        }
        #expect(try query(250).ids?.count == 250)
        #expect(throws: StanzaError.self) { try query(251) }
    }
}
