import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Occupant use cases (XEP-0045 §7)")
struct OccupantTests {
    static func twoInRoom(configure: (inout RoomConfiguration) -> Void = { _ in }) -> RoomDriver {
        var driver = RoomDriver.open(configure: configure)
        driver.join("alice@localhost/phone", as: "Alice")
        driver.join("bob@localhost/pc", as: "Bob")
        return driver
    }

    @Test("groupchat is echoed to everyone with the sender's id, one stanza-id, and archived first (§7.4)")
    func groupchat() throws {
        var driver = Self.twoInRoom()
        let effects = driver.send("""
            <message from='bob@localhost/pc' to='lobby@rooms.localhost' type='groupchat' id='m1'>\
            <body>hello</body><stanza-id xmlns='urn:xmpp:sid:0' by='lobby@rooms.localhost' id='forged'/></message>
            """)
        #expect(effects.stanzas.count == 2)
        for copy in effects.stanzas {
            #expect(copy[attribute: "from"] == "lobby@rooms.localhost/Bob")
            #expect(copy[attribute: "id"] == "m1")
            let ids = copy.children("stanza-id", namespace: Namespace.stanzaID)
            #expect(ids.count == 1, "the forged stanza-id is dropped")
            #expect(ids.first?[attribute: "id"] == effects.archive.first?.stanzaID)
            #expect(ids.first?[attribute: "by"] == "lobby@rooms.localhost")
            #expect(copy.child("occupant-id", namespace: MUCNamespace.occupantID) != nil)
        }
        #expect(Set(effects.stanzas.compactMap { $0[attribute: "to"] }) == ["alice@localhost/phone", "bob@localhost/pc"])
        let archived = try #require(effects.archive.first)
        #expect(archived.body == "hello")
        #expect(archived.nick == "Bob")
        #expect(archived.senderJID == RoomDriver.jid("bob@localhost"))
    }

    @Test("a non-occupant cannot send groupchat; a visitor in a moderated room has no voice")
    func groupchatRefusals() {
        var driver = Self.twoInRoom { $0.isModerated = true }
        let stranger = driver.send("<message from='eve@localhost/x' to='lobby@rooms.localhost' type='groupchat'><body>hi</body></message>")
        #expect(stranger.stanzas.first?.stanzaError?.condition == .notAcceptable)
        let visitor = driver.send("<message from='bob@localhost/pc' to='lobby@rooms.localhost' type='groupchat'><body>hi</body></message>")
        #expect(visitor.stanzas.first?.stanzaError == StanzaError(.forbidden, type: .auth, text: "you have no voice in this room", by: "lobby@rooms.localhost"))
        #expect(visitor.archive.isEmpty)
        let groupchatToOccupant = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost/Bob' type='groupchat'><body>hi</body></message>")
        #expect(groupchatToOccupant.stanzas.first?.stanzaError?.condition == .badRequest)
    }

    @Test("a room with archiving off archives nothing")
    func archivingOff() {
        var driver = Self.twoInRoom { $0.isArchived = false }
        let effects = driver.send("<message from='bob@localhost/pc' to='lobby@rooms.localhost' type='groupchat'><body>x</body></message>")
        #expect(effects.archive.isEmpty)
        #expect(effects.stanzas.count == 2)
    }

    @Test("private messages go to the occupant's sessions from the sender's occupant JID (§7.5)")
    func privateMessages() {
        var driver = Self.twoInRoom()
        let effects = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost/Bob' type='chat' id='p1'><body>psst</body></message>")
        let delivered = effects.stanzas.first
        #expect(delivered?[attribute: "to"] == "bob@localhost/pc")
        #expect(delivered?[attribute: "from"] == "lobby@rooms.localhost/Alice")
        #expect(delivered?.mucUser != nil)
        let missing = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost/Nobody' type='chat'><body>?</body></message>")
        #expect(missing.stanzas.first?.stanzaError?.condition == .itemNotFound)
        var closed = Self.twoInRoom { $0.privateMessages = .moderators }
        let refused = closed.send("<message from='bob@localhost/pc' to='lobby@rooms.localhost/Alice' type='chat'><body>hi</body></message>")
        #expect(refused.stanzas.first?.stanzaError?.condition == .forbidden)
    }

    @Test("show and status are broadcast to everyone (§7.7)")
    func statusChange() {
        var driver = Self.twoInRoom()
        let effects = driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Bob'><show>away</show><status>lunch</status></presence>")
        #expect(effects.stanzas.count == 2)
        for presence in effects.stanzas {
            #expect(presence.child("show", namespace: Namespace.client)?.text == "away")
            #expect(presence.child("status", namespace: Namespace.client)?.text == "lunch")
        }
        #expect(effects.stanzas(to: "bob@localhost/pc").first?.statusCodes == [110])
    }

    @Test("nick change: unavailable with 303 and the new nick, then available (§7.6)")
    func nickChange() {
        var driver = Self.twoInRoom()
        let effects = driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Robert'/>")
        let toAlice = effects.stanzas(to: "alice@localhost/phone")
        #expect(toAlice.count == 2)
        #expect(toAlice[0][attribute: "type"] == "unavailable")
        #expect(toAlice[0][attribute: "from"] == "lobby@rooms.localhost/Bob")
        #expect(toAlice[0].statusCodes == [303])
        #expect(toAlice[0].mucItem?[attribute: "nick"] == "Robert")
        #expect(toAlice[1][attribute: "from"] == "lobby@rooms.localhost/Robert")
        #expect(effects.stanzas(to: "bob@localhost/pc").map(\.statusCodes) == [[110, 303], [110]])
        let taken = driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Alice'/>")
        #expect(taken.stanzas.first?.stanzaError?.condition == .conflict)
    }

    @Test("exit: everyone gets unavailable with the status text; the leaver's copy has 110 (§7.14)")
    func exit() {
        var driver = Self.twoInRoom()
        let effects = driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Bob' type='unavailable'><status>bye</status></presence>")
        #expect(effects.stanzas.count == 2)
        for presence in effects.stanzas {
            #expect(presence[attribute: "type"] == "unavailable")
            #expect(presence.child("status", namespace: Namespace.client)?.text == "bye")
            #expect(presence.mucItem?[attribute: "role"] == "none")
        }
        #expect(effects.stanzas(to: "bob@localhost/pc").first?.statusCodes == [110])
        #expect(driver.room.occupants.map(\.nick) == ["Alice"])
    }

    @Test("a bounced stanza removes the ghost with 333; other errors do not")
    func ghosts() {
        var driver = Self.twoInRoom()
        let quota = driver.send("""
            <message from='bob@localhost/pc' to='lobby@rooms.localhost/Alice' type='error'>\
            <error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>
            """)
        #expect(quota.stanzas.isEmpty)
        let bounced = driver.send("""
            <message from='bob@localhost/pc' to='lobby@rooms.localhost/Alice' type='error'>\
            <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>
            """)
        #expect(driver.room.occupant(nick: "Bob") == nil)
        #expect(bounced.stanzas(to: "alice@localhost/phone").first?.statusCodes == [333])
    }

    @Test("subject: moderators may change it, participants only if allowed; joiners get it last (§8.1)")
    func subject() throws {
        var driver = Self.twoInRoom()
        let refused = driver.send("<message from='bob@localhost/pc' to='lobby@rooms.localhost' type='groupchat'><subject>mine</subject></message>")
        #expect(refused.stanzas.first?.stanzaError?.condition == .forbidden)
        let changed = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost' type='groupchat' id='s1'><subject>Release 2.0</subject></message>")
        #expect(changed.roomChanged)
        #expect(changed.stanzas.count == 2)
        #expect(changed.stanzas.allSatisfy { $0.child("subject", namespace: Namespace.client)?.text == "Release 2.0" })
        #expect(changed.archive.isEmpty)
        let joined = driver.join("carol@localhost/x", as: "Carol")
        let last = try #require(joined.stanzas(to: "carol@localhost/x").last)
        #expect(last.child("subject", namespace: Namespace.client)?.text == "Release 2.0")
        #expect(last[attribute: "from"] == "lobby@rooms.localhost/Alice")
    }

    @Test("self-ping answers while joined, not-acceptable otherwise (XEP-0410)")
    func selfPing() {
        var driver = Self.twoInRoom()
        let joined = driver.send("<iq from='bob@localhost/pc' to='lobby@rooms.localhost/Bob' type='get' id='sp'><ping xmlns='urn:xmpp:ping'/></iq>")
        #expect(joined.stanzas.first?[attribute: "type"] == "result")
        let stranger = driver.send("<iq from='eve@localhost/x' to='lobby@rooms.localhost/Bob' type='get' id='sp'><ping xmlns='urn:xmpp:ping'/></iq>")
        #expect(stranger.stanzas.first?.stanzaError?.condition == .notAcceptable)
    }

    @Test("queries to another occupant are relayed both ways without revealing real JIDs")
    func iqRelay() throws {
        var driver = Self.twoInRoom()
        let asked = driver.send("<iq from='bob@localhost/pc' to='lobby@rooms.localhost/Alice' type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>")
        let forwarded = try #require(asked.stanzas.first)
        #expect(asked.stanzas.count == 1)
        // vCards are the server's to answer, at the bare JID (avatars; Prosody's MUC does the same).
        #expect(forwarded[attribute: "to"] == "alice@localhost")
        #expect(forwarded[attribute: "from"] == "lobby@rooms.localhost/Bob")
        let relayID = try #require(forwarded[attribute: "id"])
        #expect(relayID != "v1")
        #expect(forwarded.child("vCard", namespace: "vcard-temp") != nil)

        // Only the session it went to may answer it.
        let stray = driver.send("<iq from='eve@localhost/x' to='lobby@rooms.localhost/Bob' type='result' id='\(relayID)'/>")
        #expect(stray.stanzas.isEmpty)
        let answered = driver.send("<iq from='alice@localhost' to='lobby@rooms.localhost/Bob' type='result' id='\(relayID)'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>")
        let answer = try #require(answered.stanzas.first)
        #expect(answer[attribute: "to"] == "bob@localhost/pc")
        #expect(answer[attribute: "from"] == "lobby@rooms.localhost/Alice")
        #expect(answer[attribute: "id"] == "v1")
        #expect(answer.child("vCard", namespace: "vcard-temp")?.child("FN", namespace: "vcard-temp")?.text == "Alice")
        // Answered once: a repeat goes nowhere.
        #expect(driver.send("<iq from='alice@localhost' to='lobby@rooms.localhost/Bob' type='result' id='\(relayID)'/>").stanzas.isEmpty)

        // An error answer is passed on and does not make the answerer a ghost.
        let second = driver.send("<iq from='bob@localhost/pc' to='lobby@rooms.localhost/Alice' type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>")
        let secondID = try #require(second.stanzas.first?[attribute: "id"])
        let refused = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost/Bob' type='error' id='\(secondID)'>\
            <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
            """)
        #expect(refused.stanzas.first?[attribute: "id"] == "v2")
        #expect(refused.stanzas.first?.stanzaError?.condition == .serviceUnavailable)
        #expect(driver.room.occupant(nick: "Alice") != nil)
        #expect(driver.send("<iq from='bob@localhost/pc' to='lobby@rooms.localhost/Nobody' type='get' id='v3'><ping xmlns='urn:xmpp:ping'/></iq>")
            .stanzas.first?.stanzaError?.condition == .itemNotFound)
    }

    @Test("occupant ids are stable per user and differ between users (XEP-0421)")
    func occupantIDs() {
        var driver = Self.twoInRoom()
        let first = driver.join("carol@localhost/a", as: "Carol").stanzas(to: "carol@localhost/a")
        driver.send("<presence from='carol@localhost/a' to='lobby@rooms.localhost/Carol' type='unavailable'/>")
        let again = driver.join("carol@localhost/b", as: "Carol2").stanzas(to: "carol@localhost/b")
        func ownID(_ stanzas: [XMLElement]) -> String? {
            stanzas.first { $0.statusCodes.contains(110) }?.child("occupant-id", namespace: MUCNamespace.occupantID)?[attribute: "id"]
        }
        #expect(ownID(first) != nil)
        #expect(ownID(first) == ownID(again))
        let aliceID = first.first { $0[attribute: "from"] == "lobby@rooms.localhost/Alice" }?
            .child("occupant-id", namespace: MUCNamespace.occupantID)?[attribute: "id"]
        #expect(aliceID != ownID(first))
    }
}
