import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Moderator, admin and owner use cases (XEP-0045 §8–10)")
struct ModerationTests {
    static func admin(_ from: String, _ items: String, type: String = "set") -> String {
        "<iq from='\(from)' to='lobby@rooms.localhost' type='\(type)' id='a1'><query xmlns='http://jabber.org/protocol/muc#admin'>\(items)</query></iq>"
    }

    @Test("kick: 307 to all, 110 to the kicked, the actor named; participants may not kick (§8.2)")
    func kick() throws {
        var driver = OccupantTests.twoInRoom()
        driver.join("carol@localhost/x", as: "Carol")
        let refused = driver.send(Self.admin("bob@localhost/pc", "<item nick='Carol' role='none'/>"))
        #expect(refused.stanzas.first?.stanzaError?.condition == .notAllowed)
        let kicked = driver.send(Self.admin("alice@localhost/phone", "<item nick='Carol' role='none'><reason>spam</reason></item>"))
        #expect(kicked.stanzas.first?[attribute: "type"] == "result")
        let toCarol = try #require(kicked.stanzas(to: "carol@localhost/x").first)
        #expect(toCarol.statusCodes == [110, 307])
        #expect(toCarol.mucItem?.child("reason", namespace: MUCNamespace.user)?.text == "spam")
        #expect(toCarol.mucItem?.child("actor", namespace: MUCNamespace.user)?[attribute: "nick"] == "Alice")
        #expect(kicked.stanzas(to: "bob@localhost/pc").first?.statusCodes == [307])
        #expect(driver.room.occupant(nick: "Carol") == nil)
        // Owners cannot be kicked (§8.2).
        driver.room.affiliations[RoomDriver.jid("bob@localhost")] = .admin
        driver.room.occupants.indices.forEach { if driver.room.occupants[$0].nick == "Bob" { _ = $0 } }
        let ownerKick = driver.send(Self.admin("alice@localhost/phone", "<item nick='Alice' role='none'/>"))
        #expect(ownerKick.stanzas.first?.stanzaError?.condition == .notAllowed)
    }

    @Test("voice: a moderator grants and revokes participant in a moderated room (§8.3, §8.4)")
    func voice() {
        var driver = OccupantTests.twoInRoom { $0.isModerated = true }
        #expect(driver.room.occupant(nick: "Bob")?.role == .visitor)
        let granted = driver.send(Self.admin("alice@localhost/phone", "<item nick='Bob' role='participant'/>"))
        #expect(driver.room.occupant(nick: "Bob")?.role == .participant)
        #expect(granted.stanzas(to: "alice@localhost/phone").contains { $0.mucItem?[attribute: "role"] == "participant" })
        driver.send(Self.admin("alice@localhost/phone", "<item nick='Bob' role='visitor'/>"))
        #expect(driver.room.occupant(nick: "Bob")?.role == .visitor)
    }

    @Test("ban: 301, the ban list, and no way back in (§9.1, §9.2)")
    func ban() throws {
        var driver = OccupantTests.twoInRoom()
        let banned = driver.send(Self.admin("alice@localhost/phone", "<item affiliation='outcast' jid='bob@localhost'><reason>bye</reason></item>"))
        #expect(banned.roomChanged)
        #expect(banned.stanzas(to: "bob@localhost/pc").first?.statusCodes == [110, 301])
        #expect(banned.stanzas(to: "alice@localhost/phone").contains { $0.statusCodes == [301] })
        let list = driver.send(Self.admin("alice@localhost/phone", "<item affiliation='outcast'/>", type: "get"))
        let items = try #require(list.stanzas.first?.child("query", namespace: MUCNamespace.admin)?.children("item", namespace: MUCNamespace.admin))
        #expect(items.map { $0[attribute: "jid"] } == ["bob@localhost"])
        #expect(driver.join("bob@localhost/other", as: "Bobby").stanzas.first?.stanzaError?.condition == .forbidden)
        let notAdmin = driver.send(Self.admin("carol@localhost/x", "<item affiliation='outcast'/>", type: "get"))
        #expect(notAdmin.stanzas.first?.stanzaError?.condition == .forbidden)
    }

    @Test("admins cannot touch owners; the last owner cannot go (§9.1, §10.7)")
    func permissionMatrix() {
        var driver = OccupantTests.twoInRoom()
        driver.room.affiliations[RoomDriver.jid("bob@localhost")] = .admin
        let adminBansOwner = driver.send(Self.admin("bob@localhost/pc", "<item affiliation='outcast' jid='alice@localhost'/>"))
        #expect(adminBansOwner.stanzas.first?.stanzaError?.condition == .notAllowed)
        let lastOwner = driver.send(Self.admin("alice@localhost/phone", "<item affiliation='member' jid='alice@localhost'/>"))
        #expect(lastOwner.stanzas.first?.stanzaError?.condition == .conflict)
        let adminMakesMember = driver.send(Self.admin("bob@localhost/pc", "<item affiliation='member' jid='dave@localhost'/>"))
        #expect(adminMakesMember.stanzas.contains { $0.name == "iq" && $0[attribute: "type"] == "result" })
        #expect(driver.room.affiliation(of: RoomDriver.jid("dave@localhost")) == .member)
    }

    @Test("losing membership of a members-only room removes the occupant with 321 (§9.4)")
    func membershipLoss() {
        var driver = RoomDriver.open { $0.isMembersOnly = true }
        driver.room.affiliations[RoomDriver.jid("bob@localhost")] = .member
        driver.join("alice@localhost/phone", as: "Alice")
        driver.join("bob@localhost/pc", as: "Bob")
        let removed = driver.send(Self.admin("alice@localhost/phone", "<item affiliation='none' jid='bob@localhost'/>"))
        #expect(removed.stanzas(to: "bob@localhost/pc").first?.statusCodes == [110, 321])
        #expect(driver.room.occupant(nick: "Bob") == nil)
    }

    @Test("owner: the form, a change announced with 104 and 172, members-only removing others with 322 (§10.2)")
    func configuration() throws {
        var driver = OccupantTests.twoInRoom()
        let formReply = driver.send("<iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        let formElement = try #require(formReply.stanzas.first?.child("query", namespace: MUCNamespace.owner)?.child("x", namespace: Namespace.dataForms))
        let form = try DataForm(element: formElement)
        #expect(form.formType == MUCNamespace.roomConfig)
        #expect(form.field("muc#roomconfig_whois")?.value == "moderators")
        let notOwner = driver.send("<iq from='bob@localhost/pc' to='lobby@rooms.localhost' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        #expect(notOwner.stanzas.first?.stanzaError?.condition == .forbidden)

        let submitted = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='set' id='s'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
            <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
            <field var='muc#roomconfig_roomname'><value>Lobby</value></field>\
            <field var='muc#roomconfig_whois'><value>anyone</value></field>\
            </x></query></iq>
            """)
        #expect(submitted.stanzas.first?[attribute: "type"] == "result")
        #expect(driver.room.configuration.name == "Lobby")
        let notice = try #require(submitted.stanzas(to: "bob@localhost/pc").first)
        #expect(notice.name == "message")
        #expect(notice.statusCodes == [104, 172])

        let bad = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='set' id='s'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
            <field var='muc#roomconfig_persistentroom'><value>maybe</value></field></x></query></iq>
            """)
        #expect(bad.stanzas.first?.stanzaError?.condition == .notAcceptable)

        let membersOnly = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='set' id='s'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
            <field var='muc#roomconfig_membersonly'><value>1</value></field></x></query></iq>
            """)
        #expect(membersOnly.stanzas(to: "bob@localhost/pc").first?.statusCodes == [110, 322])
        #expect(driver.room.occupants.map(\.nick) == ["Alice"])
    }

    @Test("destroy: every occupant is told, with the alternate venue and reason (§10.9)")
    func destroy() {
        var driver = OccupantTests.twoInRoom()
        let effects = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='set' id='d'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='new@rooms.localhost'><reason>moved</reason></destroy></query></iq>
            """)
        #expect(effects.destroyed)
        let toBob = effects.stanzas(to: "bob@localhost/pc")
        #expect(toBob.count == 1)
        let destroy = toBob.first?.mucUser?.child("destroy", namespace: MUCNamespace.user)
        #expect(destroy?[attribute: "jid"] == "new@rooms.localhost")
        #expect(destroy?.child("reason", namespace: MUCNamespace.user)?.text == "moved")
        #expect(driver.room.occupants.isEmpty)
    }

    @Test("disco#info describes the configuration with muc_ features and the roominfo form (§6.4)")
    func discoInfo() throws {
        var driver = OccupantTests.twoInRoom { $0.description = "Talk" }
        driver.room.configuration.password = "x"
        let reply = driver.send("<iq from='eve@localhost/x' to='lobby@rooms.localhost' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        let query = try #require(reply.stanzas.first?.child("query", namespace: Namespace.discoInfo))
        let features = Set(query.children("feature", namespace: Namespace.discoInfo).compactMap { $0[attribute: "var"] })
        #expect(features.isSuperset(of: [MUCNamespace.muc, "muc_public", "muc_persistent", "muc_open", "muc_unmoderated",
                                          "muc_passwordprotected", "muc_semianonymous"]))
        let form = try DataForm(element: try #require(query.child("x", namespace: Namespace.dataForms)))
        #expect(form.formType == MUCNamespace.roomInfo)
        #expect(form.field("muc#roominfo_occupants")?.value == "2")
        #expect(form.field("muc#roominfo_description")?.value == "Talk")
    }

    @Test("invitations are relayed with the password; declines go back (§7.8.2)")
    func invitations() throws {
        var driver = OccupantTests.twoInRoom()
        driver.room.configuration.password = "sesame"
        let effects = driver.send("""
            <message from='bob@localhost/pc' to='lobby@rooms.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <invite to='carol@localhost'><reason>join us</reason></invite></x></message>
            """)
        let invitation = try #require(effects.stanzas.first)
        #expect(invitation[attribute: "to"] == "carol@localhost")
        #expect(invitation[attribute: "from"] == "lobby@rooms.localhost")
        #expect(invitation.mucUser?.child("invite", namespace: MUCNamespace.user)?[attribute: "from"] == "bob@localhost/pc")
        #expect(invitation.mucUser?.child("password", namespace: MUCNamespace.user)?.text == "sesame")
        let decline = driver.send("""
            <message from='carol@localhost/x' to='lobby@rooms.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <decline to='bob@localhost'><reason>busy</reason></decline></x></message>
            """)
        #expect(decline.stanzas.first?[attribute: "to"] == "bob@localhost")
        #expect(decline.stanzas.first?.mucUser?.child("decline", namespace: MUCNamespace.user)?[attribute: "from"] == "carol@localhost")
    }

    @Test("registration reserves a nick and makes a member (§7.10)")
    func registration() {
        var driver = OccupantTests.twoInRoom()
        let registered = driver.send("""
            <iq from='carol@localhost/x' to='lobby@rooms.localhost' type='set' id='r'><query xmlns='jabber:iq:register'>\
            <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>\
            <field var='muc#register_roomnick'><value>Caro</value></field></x></query></iq>
            """)
        #expect(registered.stanzas.first?[attribute: "type"] == "result")
        #expect(driver.room.affiliation(of: RoomDriver.jid("carol@localhost")) == .member)
        #expect(driver.join("dave@localhost/x", as: "Caro").stanzas.first?.stanzaError?.condition == .conflict)
    }
}
