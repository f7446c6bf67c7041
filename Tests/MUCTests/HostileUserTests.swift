import MUC
import Testing
import XMLStream
import XMPPCore

/// What a hostile user (a federated stranger, a spammer, a curious colleague)
/// tried, and what the room now answers.
@Suite("Hostile users")
struct HostileUserTests {
    static let room = "lobby@rooms.localhost"

    static func register(_ from: String, nick: String) -> String {
        """
        <iq from='\(from)' to='\(room)' type='set' id='r'><query xmlns='jabber:iq:register'>\
        <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>\
        <field var='muc#register_roomnick'><value>\(nick)</value></field></x></query></iq>
        """
    }

    @Test("a server ban (XEP-0045 §9.1) keeps out and removes every user of that server, and ends their follows")
    func domainBan() throws {
        var driver = OccupantTests.twoInRoom()
        driver.join("spammer@spam.example/a", as: "Spam")
        driver.send(SubscriberTests.subscribe("other@spam.example/b", nick: "Other"))
        #expect(driver.room.subscribers[RoomDriver.jid("other@spam.example")] != nil)

        let banned = driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='outcast' jid='spam.example'/>"))
        #expect(banned.stanzas.contains { $0.name == "iq" && $0[attribute: "type"] == "result" })
        let gone = try #require(banned.stanzas(to: "spammer@spam.example/a").first)
        #expect(gone.statusCodes.contains(301))
        #expect(driver.room.occupant(nick: "Spam") == nil)
        #expect(driver.room.subscribers[RoomDriver.jid("other@spam.example")] == nil)

        let again = driver.join("newcomer@spam.example/x", as: "New")
        #expect(again.stanzas.first?.stanzaError?.condition == .forbidden)
        // Others are untouched, and a user of that server with an affiliation of its own keeps it.
        #expect(driver.join("carol@localhost/x", as: "Carol").stanzas.first?.stanzaError == nil)
        driver.room.affiliations[RoomDriver.jid("friend@spam.example")] = .member
        #expect(driver.join("friend@spam.example/x", as: "Friend").stanzas.first?.stanzaError == nil)
        let list = driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='outcast'/>", type: "get"))
        #expect(list.stanzas.first?.child("query", namespace: MUCNamespace.admin)?.elements.first?[attribute: "jid"] == "spam.example")
    }

    @Test("registration in a password room needs the password (being in the room); in a locked room it is refused")
    func registrationIsNoWayAroundThePassword() {
        var driver = OccupantTests.twoInRoom()
        driver.room.configuration.password = "sesame"  // Bob entered before; Eve never did
        let stranger = driver.send(Self.register("eve@localhost/x", nick: "Eve"))
        #expect(stranger.stanzas.first?.stanzaError?.condition == .notAuthorized)
        #expect(driver.room.affiliation(of: RoomDriver.jid("eve@localhost")) == .none)
        // Bob is in the room: he may.
        let present = driver.send(Self.register("bob@localhost/pc", nick: "Bob"))
        #expect(present.stanzas.contains { $0.name == "iq" && $0[attribute: "type"] == "result" })
        #expect(driver.room.affiliation(of: RoomDriver.jid("bob@localhost")) == .member)

        var locked = RoomDriver.open()
        locked.room.isLocked = true
        #expect(locked.send(Self.register("eve@localhost/x", nick: "Eve")).stanzas.first?.stanzaError?.condition == .itemNotFound)
    }

    @Test("registering never gives a visitor of a moderated room its voice")
    func registrationKeepsTheRole() {
        var driver = OccupantTests.twoInRoom { $0.isModerated = true }
        #expect(driver.room.occupant(nick: "Bob")?.role == .visitor)
        let registered = driver.send(Self.register("bob@localhost/pc", nick: "Bob"))
        #expect(registered.stanzas.first?[attribute: "type"] == "result")
        #expect(driver.room.affiliation(of: RoomDriver.jid("bob@localhost")) == .none)
        #expect(driver.room.occupant(nick: "Bob")?.role == .visitor)
        // Not on the next entry either: the nick is reserved, the voice is not given.
        driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Bob' type='unavailable'/>")
        driver.join("bob@localhost/pc", as: "Bob")
        #expect(driver.room.occupant(nick: "Bob")?.role == .visitor)
        let taken = driver.join("eve@localhost/x", as: "Bob")
        #expect(taken.stanzas.first?.stanzaError?.condition == .conflict)
    }

    @Test("disco#info names owners and admins only where real JIDs are public, and never to an outcast")
    func contactJIDs() throws {
        func contacts(_ driver: inout RoomDriver, asking: String) -> [String]? {
            let reply = driver.send("<iq from='\(asking)' to='\(Self.room)' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
            let form = reply.stanzas.first?.child("query", namespace: Namespace.discoInfo)?.child("x", namespace: Namespace.dataForms)
            let field = form?.children("field", namespace: Namespace.dataForms).first { $0[attribute: "var"] == "muc#roominfo_contactjid" }
            return field.map { $0.children("value", namespace: Namespace.dataForms).map(\.text) }
        }
        var semiAnonymous = OccupantTests.twoInRoom()
        #expect(contacts(&semiAnonymous, asking: "eve@localhost/x") == nil)
        var open = OccupantTests.twoInRoom { $0.whois = .anyone }
        #expect(contacts(&open, asking: "eve@localhost/x") == ["alice@localhost"])
        open.room.affiliations[RoomDriver.jid("eve@localhost")] = .outcast
        #expect(contacts(&open, asking: "eve@localhost/x") == nil)
    }

    @Test("a moderator may subscribe members to a room, not strangers")
    func followingNeedsConsent() {
        var driver = OccupantTests.twoInRoom()
        let stranger = driver.send(SubscriberTests.subscribe("alice@localhost/phone", nick: "Victim", extra: "jid='victim@elsewhere.example'"))
        #expect(stranger.stanzas.first?.stanzaError?.condition == .notAllowed)
        #expect(driver.room.subscribers.isEmpty)
        driver.room.affiliations[RoomDriver.jid("carol@localhost")] = .member
        let member = driver.send(SubscriberTests.subscribe("alice@localhost/phone", nick: "Carol", extra: "jid='carol@localhost'"))
        #expect(member.stanzas.first?[attribute: "type"] == "result")
        #expect(driver.room.subscribers[RoomDriver.jid("carol@localhost")] != nil)
    }

    @Test("a follower stops getting events and loses its follow when the room tightens: members-only, a new password, a demotion")
    func followersAreRechecked() {
        func configure(_ driver: inout RoomDriver, _ fields: String) {
            driver.send("""
                <iq from='alice@localhost/phone' to='\(Self.room)' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
                <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
                \(fields)</x></query></iq>
                """)
        }
        let carol = RoomDriver.jid("carol@localhost")
        let dave = RoomDriver.jid("dave@localhost")
        var driver = OccupantTests.twoInRoom()
        driver.send(SubscriberTests.subscribe("carol@localhost/x", nick: "Carol"))
        driver.room.affiliations[dave] = .member
        driver.send(SubscriberTests.subscribe("dave@localhost/x", nick: "Dave"))
        configure(&driver, "<field var='muc#roomconfig_membersonly'><value>1</value></field>")
        #expect(driver.room.subscribers[carol] == nil)
        #expect(driver.room.subscribers[dave] != nil)
        let said = driver.send("<message from='alice@localhost/phone' to='\(Self.room)' type='groupchat'><body>members only now</body></message>")
        #expect(said.stanzas(to: "carol@localhost").isEmpty)
        #expect(said.stanzas(to: "dave@localhost").count == 1)

        var password = OccupantTests.twoInRoom()
        password.send(SubscriberTests.subscribe("carol@localhost/x", nick: "Carol"))
        password.room.affiliations[dave] = .member
        password.send(SubscriberTests.subscribe("dave@localhost/x", nick: "Dave"))
        configure(&password, """
            <field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field>\
            <field var='muc#roomconfig_roomsecret'><value>sesame</value></field>
            """)
        #expect(password.room.configuration.password == "sesame")
        #expect(password.room.subscribers[carol] == nil)
        #expect(password.room.subscribers[dave] != nil)
        // Dave is demoted: without membership, a password room is closed to a follower.
        password.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='none' jid='dave@localhost'/>"))
        #expect(password.room.subscribers[dave] == nil)
    }

    @Test("every size a client controls has a limit, refused with a text that names it")
    func limits() throws {
        var driver = OccupantTests.twoInRoom()
        let longNick = String(repeating: "n", count: 200)
        #expect(driver.join("eve@localhost/x", as: longNick).stanzas.first?.stanzaError?.condition == .notAcceptable)
        #expect(driver.room.occupant(nick: longNick) == nil)
        let status = String(repeating: "s", count: 2000)
        let longStatus = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Bob'><status>\(status)</status></presence>")
        #expect(longStatus.stanzas.first?.stanzaError?.condition == .policyViolation)
        let body = String(repeating: "b", count: 70_000)
        let longBody = driver.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>\(body)</body></message>")
        let refusal = try #require(longBody.stanzas.first?.stanzaError)
        #expect(refusal.condition == .policyViolation)
        #expect(refusal.text?.contains("65536 bytes") == true)
        #expect(longBody.archive.isEmpty)
        // Bytes, not characters: 3,000 combining marks on one letter are one character of 6,001 bytes.
        let marks = "e" + String(repeating: "\u{301}", count: 3000)
        #expect(marks.count == 1)
        let subject = driver.send("<message from='alice@localhost/phone' to='\(Self.room)' type='groupchat'><subject>\(marks)</subject></message>")
        #expect(subject.stanzas.first?.stanzaError?.condition == .policyViolation)
        let invites = (0..<6).map { "<invite to='u\($0)@elsewhere.example'/>" }.joined()
        let relay = driver.send("<message from='bob@localhost/pc' to='\(Self.room)'><x xmlns='http://jabber.org/protocol/muc#user'>\(invites)</x></message>")
        #expect(relay.stanzas.count == 1)
        #expect(relay.stanzas.first?.stanzaError?.condition == .policyViolation)
        let name = String(repeating: "r", count: 300)
        let form = driver.send("""
            <iq from='alice@localhost/phone' to='\(Self.room)' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_roomname'><value>\(name)</value></field></x></query></iq>
            """)
        #expect(form.stanzas.first?.stanzaError?.condition == .notAcceptable)
        #expect(driver.room.configuration.name != name)

        var unlimited = RoomLimits()
        unlimited.bodyBytes = 0
        var context = driver.context()
        context.limits = unlimited
        let stanza = try Stanza(parsing: try #require(XMLStreamParser.parseElement(
            "<message xmlns='jabber:client' from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>\(body)</body></message>")))
        #expect(driver.room.handle(stanza, context: context).archive.count == 1)
    }

    @Test("a decline goes only to someone who invited the decliner")
    func declinesOnlyToInviters() {
        var driver = OccupantTests.twoInRoom()
        let stray = driver.send("""
            <message from='eve@localhost/x' to='\(Self.room)'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <decline to='victim@elsewhere.example'><reason>buy cheap watches</reason></decline></x></message>
            """)
        #expect(stray.stanzas.count == 1)
        #expect(stray.stanzas.first?.stanzaError?.condition == .notAcceptable)
        driver.send("<message from='bob@localhost/pc' to='\(Self.room)'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@localhost'/></x></message>")
        let declined = driver.send("""
            <message from='carol@localhost/x' to='\(Self.room)'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <decline to='bob@localhost'/></x></message>
            """)
        #expect(declined.stanzas(to: "bob@localhost").count == 1)
        // Once: the invitation is answered.
        #expect(driver.send("""
            <message from='carol@localhost/x' to='\(Self.room)'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <decline to='bob@localhost'/></x></message>
            """).stanzas.first?.stanzaError?.condition == .notAcceptable)
    }

    @Test("nicks compare the RFC 8266 way: case, width and spacing do not make a new nick, invisible characters are refused")
    func impersonation() {
        var driver = OccupantTests.twoInRoom()
        for lookalike in ["bob", "BOB", "\u{FF22}\u{FF4F}\u{FF42}", " Bob "] {
            let refused = driver.join("eve@localhost/x", as: lookalike)
            #expect(refused.stanzas.first?.stanzaError?.condition == .conflict, "\(lookalike.unicodeScalars.map(\.value))")
        }
        for invisible in ["Bob\u{200B}", "B\u{00AD}ob", "Bob\u{2060}", "\u{202E}boB"] {
            let refused = driver.join("eve@localhost/x", as: invisible)
            #expect(refused.stanzas.first?.stanzaError?.condition == .notAcceptable, "\(invisible.unicodeScalars.map(\.value))")
        }
        // A registered nick is reserved the same way.
        driver.room.registeredNicks[RoomDriver.jid("carol@localhost")] = "Carol"
        #expect(driver.join("eve@localhost/x", as: "CAROL").stanzas.first?.stanzaError?.condition == .conflict)
        // Different nicks are still different, and the nick keeps the user's spelling.
        #expect(driver.join("eve@localhost/x", as: "Bobby").stanzas.first?.stanzaError == nil)
        #expect(driver.room.occupant(nick: "Bobby") != nil)
        #expect(Nickname.key("Ｂｏｂ  Smith") == "bob smith")
    }

    @Test("flood control: a burst, then a steady rate, per user and room; leaving is never refused")
    func floodControl() {
        var driver = OccupantTests.twoInRoom()
        driver.limits.messageBurst = 3
        driver.limits.messagesPerMinute = 60
        driver.limits.presenceBurst = 2
        driver.limits.presencePerMinute = 6
        func say(_ from: String) -> StanzaError? {
            driver.send("<message from='\(from)' to='\(Self.room)' type='groupchat'><body>spam</body></message>").stanzas.first?.stanzaError
        }
        #expect((0..<3).allSatisfy { _ in say("bob@localhost/pc") == nil })
        let refused = say("bob@localhost/pc")
        #expect(refused?.condition == .resourceConstraint)
        #expect(refused?.type == .wait)
        #expect(say("alice@localhost/phone") == nil, "others are not slowed down")
        driver.now += 1  // 60 a minute: one more a second
        #expect(say("bob@localhost/pc") == nil)
        #expect(say("bob@localhost/pc")?.condition == .resourceConstraint)

        func away(_ status: String) -> StanzaError? {
            driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Bob'><status>\(status)</status></presence>")
                .stanzas.first?.stanzaError
        }
        #expect(away("1") == nil)
        #expect(away("2") == nil)
        #expect(away("3")?.condition == .resourceConstraint)
        let left = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Bob' type='unavailable'/>")
        #expect(left.stanzas.allSatisfy { $0.stanzaError == nil })
        #expect(driver.room.occupant(nick: "Bob") == nil)

        var unlimited = OccupantTests.twoInRoom()
        unlimited.limits.messagesPerMinute = 0
        unlimited.limits.messageBurst = 1
        #expect((0..<50).allSatisfy { _ in
            unlimited.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>x</body></message>")
                .stanzas.first?.stanzaError == nil
        })
    }

    @Test("every <body/> counts toward the body limit; an admin request has at most 50 items; a courtesy message carries no reason")
    func moreBounds() {
        var driver = OccupantTests.twoInRoom()
        let chunk = String(repeating: "b", count: 40_000)
        let two = driver.send("""
            <message from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>\(chunk)</body><body xml:lang='de'>\(chunk)</body></message>
            """)
        #expect(two.stanzas.first?.stanzaError?.condition == .policyViolation)
        let items = (0..<51).map { "<item affiliation='member' jid='u\($0)@elsewhere.example'/>" }.joined()
        #expect(driver.send(ModerationTests.admin("alice@localhost/phone", items)).stanzas.first?.stanzaError?.condition == .policyViolation)
        let spam = driver.send(ModerationTests.admin(
            "alice@localhost/phone", "<item affiliation='member' jid='victim@elsewhere.example'><reason>buy watches</reason></item>"))
        let courtesy = spam.stanzas(to: "victim@elsewhere.example")
        #expect(courtesy.count == 1)
        #expect(courtesy.allSatisfy { !XMLSerializer.serialize($0).contains("watches") })
        let again = driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='member' jid='victim@elsewhere.example'/>"))
        #expect(again.stanzas(to: "victim@elsewhere.example").isEmpty, "nothing changed, nothing sent")
    }
}
