import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Following rooms (MucSub)")
struct SubscriberTests {
    static func subscribe(_ from: String, nick: String, extra: String = "", nodes: [String] = [MucSubNode.messages]) -> String {
        let events = nodes.map { "<event node='\($0)'/>" }.joined()
        return "<iq from='\(from)' to='lobby@rooms.localhost' type='set' id='s'><subscribe xmlns='urn:xmpp:mucsub:0' nick='\(nick)' \(extra)>\(events)</subscribe></iq>"
    }

    @Test("a follower who is not present gets messages as pubsub events at the bare JID; present ones do not")
    func events() throws {
        var driver = OccupantTests.twoInRoom()
        let subscribed = driver.send(Self.subscribe("carol@localhost/x", nick: "Carol", nodes: [MucSubNode.messages, MucSubNode.subject]))
        #expect(subscribed.stanzas.first?[attribute: "type"] == "result")
        #expect(subscribed.roomChanged)
        driver.send(Self.subscribe("bob@localhost/pc", nick: "Bob"))
        let message = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost' type='groupchat'><body>hi</body></message>")
        let events = message.stanzas(to: "carol@localhost")
        #expect(events.count == 1)
        let items = try #require(events.first?.child("event", namespace: "http://jabber.org/protocol/pubsub#event")?
            .child("items", namespace: "http://jabber.org/protocol/pubsub#event"))
        #expect(items[attribute: "node"] == MucSubNode.messages)
        let inner = items.child("item", namespace: "http://jabber.org/protocol/pubsub#event")?.child("message", namespace: Namespace.client)
        #expect(inner?.child("body", namespace: Namespace.client)?.text == "hi")
        #expect(message.stanzas(to: "bob@localhost").isEmpty, "Bob is in the room and got the message directly")
        let subject = driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost' type='groupchat'><subject>news</subject></message>")
        #expect(subject.stanzas(to: "carol@localhost").count == 1)
        let presence = driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Bob'><show>dnd</show></presence>")
        #expect(presence.stanzas(to: "carol@localhost").isEmpty, "Carol did not ask for presence")
    }

    @Test("following needs what entering needs; a ban ends it")
    func access() {
        var driver = OccupantTests.twoInRoom()
        driver.room.configuration.isMembersOnly = true
        #expect(driver.send(Self.subscribe("carol@localhost/x", nick: "Carol")).stanzas.first?.stanzaError?.condition == .registrationRequired)
        driver.room.configuration.isMembersOnly = false
        driver.room.configuration.password = "pw"
        #expect(driver.send(Self.subscribe("carol@localhost/x", nick: "Carol")).stanzas.first?.stanzaError?.condition == .notAuthorized)
        #expect(driver.send(Self.subscribe("carol@localhost/x", nick: "Carol", extra: "password='pw'")).stanzas.first?[attribute: "type"] == "result")
        #expect(driver.send(Self.subscribe("dave@localhost/x", nick: "Alice", extra: "password='pw'")).stanzas.first?.stanzaError?.condition == .conflict)
        driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='outcast' jid='carol@localhost'/>"))
        #expect(driver.room.subscribers[RoomDriver.jid("carol@localhost")] == nil)
    }

    @Test("a follower's nick is reserved: nobody else may enter or change to it")
    func reservedNick() {
        var driver = OccupantTests.twoInRoom()
        driver.send(Self.subscribe("carol@localhost/x", nick: "Caro"))
        #expect(driver.join("dave@localhost/x", as: "Caro").stanzas.first?.stanzaError?.condition == .conflict)
        #expect(driver.send("<presence from='bob@localhost/pc' to='lobby@rooms.localhost/Caro'/>")
            .stanzas.first?.stanzaError?.condition == .conflict)
        #expect(driver.join("carol@localhost/y", as: "Caro").stanzas.first?.stanzaError == nil, "the follower herself may")
    }

    @Test("moderators list subscribers; others may not")
    func listing() throws {
        var driver = OccupantTests.twoInRoom()
        driver.send(Self.subscribe("carol@localhost/x", nick: "Carol"))
        let list = "<iq from='%@' to='lobby@rooms.localhost' type='get' id='l'><subscriptions xmlns='urn:xmpp:mucsub:0'/></iq>"
        let refused = driver.send(list.replacingOccurrences(of: "%@", with: "bob@localhost/pc"))
        #expect(refused.stanzas.first?.stanzaError?.condition == .forbidden)
        let listed = driver.send(list.replacingOccurrences(of: "%@", with: "alice@localhost/phone"))
        let items = try #require(listed.stanzas.first?.child("subscriptions", namespace: MucSubNode.namespace))
            .children("subscription", namespace: MucSubNode.namespace)
        #expect(items.map { $0[attribute: "nick"] } == ["Carol"])
        driver.send("<iq from='carol@localhost/x' to='lobby@rooms.localhost' type='set' id='u'><unsubscribe xmlns='urn:xmpp:mucsub:0'/></iq>")
        #expect(driver.room.subscribers.isEmpty)
    }

    @Test("markers and resets become read positions, also from followers who are not present")
    func readPositions() {
        var driver = OccupantTests.twoInRoom()
        let marker = driver.send("<message from='bob@localhost/pc' to='lobby@rooms.localhost' type='groupchat'><displayed xmlns='urn:xmpp:chat-markers:0' id='sid-7'/></message>")
        #expect(marker.outputs.contains { if case .readUpTo(let user, "sid-7") = $0 { return user == RoomDriver.jid("bob@localhost") } else { return false } })
        driver.send(Self.subscribe("carol@localhost/x", nick: "Carol"))
        let remote = driver.send("<message from='carol@localhost/x' to='lobby@rooms.localhost' type='groupchat'><displayed xmlns='urn:xmpp:chat-markers:0' id='sid-9'/></message>")
        #expect(remote.stanzas.isEmpty)
        #expect(remote.outputs.contains { if case .readUpTo(_, "sid-9") = $0 { return true } else { return false } })
        let reset = driver.send("<iq from='carol@localhost/x' to='lobby@rooms.localhost' type='set' id='r'><reset xmlns='urn:parley:inbox:0'/></iq>")
        #expect(reset.outputs.contains { if case .readAll = $0 { return true } else { return false } })
    }

    @Test("archived messages record which followers they name, as words")
    func mentions() {
        var driver = OccupantTests.twoInRoom()
        driver.send(Self.subscribe("carol@localhost/x", nick: "Caro"))
        driver.send(Self.subscribe("dave@localhost/x", nick: "Big Dave"))
        func mentioned(_ body: String) -> Set<JID> {
            Set(driver.send("<message from='alice@localhost/phone' to='lobby@rooms.localhost' type='groupchat'><body>\(body)</body></message>")
                .archive.first?.mentioned ?? [])
        }
        #expect(mentioned("hey CARO, look") == [RoomDriver.jid("carol@localhost")])
        #expect(mentioned("Carolina is not Caro's nick? caro!") == [RoomDriver.jid("carol@localhost")])
        #expect(mentioned("caroline").isEmpty)
        #expect(mentioned("ask big   dave") == [RoomDriver.jid("dave@localhost")])
        #expect(mentioned("dave is big").isEmpty, "a phrase nick needs its words in order")
    }
}
