import MUC
import Testing
import XMLStream
import XMPPCore

/// The details that Prosody's and ejabberd's MUCs get right and clients rely
/// on (aioxmpp, nbxmpp, Conversations): each was wrong once.
@Suite("Details peers get right")
struct PeerDetailsTests {
    static let room = "lobby@rooms.localhost"

    @Test("presence to the bare room JID applies to the sender's occupant; a stranger gets jid-malformed")
    func presenceToBareRoom() throws {
        var driver = OccupantTests.twoInRoom()
        let status = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)'><show>away</show></presence>")
        let seen = try #require(status.stanzas(to: "alice@localhost/phone").first)
        #expect(seen[attribute: "from"] == "\(Self.room)/Bob")
        #expect(seen.child("show", namespace: Namespace.client)?.text == "away")
        #expect(status.stanzas.allSatisfy { $0.stanzaError == nil })

        // aioxmpp leaves exactly this way.
        let left = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)' type='unavailable'/>")
        #expect(driver.room.occupant(nick: "Bob") == nil)
        #expect(left.stanzas(to: "bob@localhost/pc").first?.statusCodes.contains(110) == true)
        #expect(left.stanzas(to: "alice@localhost/phone").first?[attribute: "type"] == "unavailable")

        let stranger = driver.send("<presence from='eve@localhost/x' to='\(Self.room)'><show>away</show></presence>")
        #expect(stranger.stanzas.first?.stanzaError?.condition == .jidMalformed)
        #expect(driver.send("<presence from='eve@localhost/x' to='\(Self.room)' type='unavailable'/>").stanzas.isEmpty)
    }

    @Test("a chat state in groupchat is relayed without a stanza-id; archived messages have one")
    func stanzaIDOnlyWhenArchived() throws {
        var driver = OccupantTests.twoInRoom()
        let state = driver.send("""
            <message from='bob@localhost/pc' to='\(Self.room)' type='groupchat' id='c1'>\
            <composing xmlns='http://jabber.org/protocol/chatstates'/></message>
            """)
        #expect(!state.stanzas.isEmpty)
        #expect(state.archive.isEmpty)
        #expect(state.stanzas.allSatisfy { $0.child("stanza-id", namespace: Namespace.stanzaID) == nil })
        let said = driver.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat' id='m1'><body>hi</body></message>")
        let archived = try #require(said.archive.first)
        #expect(said.stanzas.allSatisfy { $0.child("stanza-id", namespace: Namespace.stanzaID)?[attribute: "id"] == archived.stanzaID })

        var unlogged = OccupantTests.twoInRoom { $0.isArchived = false }
        let notArchived = unlogged.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat' id='m2'><body>hi</body></message>")
        #expect(notArchived.archive.isEmpty)
        #expect(notArchived.stanzas.allSatisfy { $0.child("stanza-id", namespace: Namespace.stanzaID) == nil })
    }

    @Test("the unavailable half of a nick change keeps role and affiliation (§7.6)")
    func nickChangeKeepsRole() throws {
        var driver = OccupantTests.twoInRoom()
        let changed = driver.send("<presence from='alice@localhost/phone' to='\(Self.room)/Alicia'/>")
        let gone = try #require(changed.stanzas(to: "bob@localhost/pc").first { $0[attribute: "type"] == "unavailable" })
        #expect(gone.statusCodes.contains(303))
        #expect(gone.mucItem?[attribute: "role"] == "moderator")
        #expect(gone.mucItem?[attribute: "affiliation"] == "owner")
        #expect(gone.mucItem?[attribute: "nick"] == "Alicia")
    }

    @Test("self-presence carries the user's own full JID, even in a semi-anonymous room")
    func selfPresenceHasOwnJID() throws {
        var driver = OccupantTests.twoInRoom()
        #expect(!driver.room.configuration.isNonAnonymous)
        let joined = driver.join("carol@localhost/x", as: "Carol")
        let own = try #require(joined.stanzas(to: "carol@localhost/x").first { $0.statusCodes.contains(110) })
        #expect(own.mucItem?[attribute: "jid"] == "carol@localhost/x")
        // Others who are not moderators still do not see it.
        let toBob = try #require(joined.stanzas(to: "bob@localhost/pc").first)
        #expect(toBob.mucItem?[attribute: "jid"] == nil)
        // Nor does Carol see Bob's.
        let bobToCarol = try #require(joined.stanzas(to: "carol@localhost/x").first { $0[attribute: "from"] == "\(Self.room)/Bob" })
        #expect(bobToCarol.mucItem?[attribute: "jid"] == nil)
    }

    @Test("an affiliation change of an absent user: a notice for those who may see JIDs, then the result, and 101 to the user")
    func absentAffiliationChange() throws {
        var driver = OccupantTests.twoInRoom()
        let changed = driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='member' jid='dave@localhost'/>"))
        let stanzas = changed.stanzas
        let noticeIndex = try #require(stanzas.firstIndex { $0[attribute: "to"] == "alice@localhost/phone" && $0.name == "message" })
        let resultIndex = try #require(stanzas.firstIndex { $0.name == "iq" && $0[attribute: "type"] == "result" })
        #expect(noticeIndex < resultIndex)
        let notice = stanzas[noticeIndex]
        #expect(notice[attribute: "from"] == Self.room)
        #expect(notice.mucItem?[attribute: "jid"] == "dave@localhost")
        #expect(notice.mucItem?[attribute: "affiliation"] == "member")
        // Bob is a participant in a semi-anonymous room: he may not learn Dave's JID.
        #expect(changed.stanzas(to: "bob@localhost/pc").isEmpty)
        let courtesy = try #require(changed.stanzas(to: "dave@localhost").first)
        #expect(courtesy[attribute: "from"] == Self.room)
        #expect(courtesy.statusCodes.contains(101))

        // A user in the room gets presence, not notices.
        let present = driver.send(ModerationTests.admin("alice@localhost/phone", "<item affiliation='member' jid='bob@localhost'/>"))
        #expect(present.stanzas.allSatisfy { $0.name != "message" })
    }

    @Test("configuration changes: 104 only for non-privacy changes, 170/171 and 172/173 in the same message")
    func configurationStatusCodes() throws {
        func submit(_ driver: inout RoomDriver, _ fields: String) -> Set<Int> {
            let effects = driver.send("""
                <iq from='alice@localhost/phone' to='\(Self.room)' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
                <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
                \(fields)</x></query></iq>
                """)
            let notices = effects.stanzas(to: "bob@localhost/pc").filter { $0.name == "message" }
            #expect(notices.count <= 1)
            return notices.first?.statusCodes ?? []
        }
        var driver = OccupantTests.twoInRoom()
        #expect(submit(&driver, "<field var='muc#roomconfig_roomname'><value>Lobby</value></field>") == [104])
        #expect(submit(&driver, "<field var='muc#roomconfig_enablearchiving'><value>0</value></field>") == [171])
        #expect(submit(&driver, "<field var='muc#roomconfig_whois'><value>anyone</value></field>") == [172])
        #expect(submit(&driver, """
            <field var='muc#roomconfig_roomname'><value>Hall</value></field>\
            <field var='muc#roomconfig_enablearchiving'><value>1</value></field>\
            <field var='muc#roomconfig_whois'><value>moderators</value></field>
            """) == [104, 170, 173])
    }

    @Test("errors from a room carry by = the room JID; a large original payload is not echoed")
    func errorsSayTheRoom() throws {
        var driver = OccupantTests.twoInRoom { $0.isModerated = true }
        let refused = driver.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>hi</body></message>")
        let error = try #require(refused.stanzas.first?.stanzaError)
        #expect(error.by == Self.room)
        #expect(refused.stanzas.first?.child("body", namespace: Namespace.client)?.text == "hi")

        let large = String(repeating: "x", count: 20_000)  // over the echo limit, under the body limit
        let big = driver.send("<message from='bob@localhost/pc' to='\(Self.room)' type='groupchat'><body>\(large)</body></message>")
        let bigReply = try #require(big.stanzas.first)
        #expect(bigReply.stanzaError?.condition == .forbidden)
        #expect(bigReply.child("body", namespace: Namespace.client) == nil)
        let toOccupant = driver.send("<iq from='bob@localhost/pc' to='\(Self.room)/Nobody' type='get' id='q'><query xmlns='jabber:iq:version'/></iq>")
        #expect(toOccupant.stanzas.first?.stanzaError?.by == Self.room)
    }

    @Test("a subject message keeps the sender's thread and extensions")
    func subjectKeepsThread() throws {
        var driver = OccupantTests.twoInRoom()
        let changed = driver.send("""
            <message from='alice@localhost/phone' to='\(Self.room)' type='groupchat' id='s1'>\
            <subject>Release</subject><thread>t-1</thread><x xmlns='urn:example:extra'/></message>
            """)
        let seen = try #require(changed.stanzas(to: "bob@localhost/pc").first)
        #expect(seen.child("subject", namespace: Namespace.client)?.text == "Release")
        #expect(seen.child("thread", namespace: Namespace.client)?.text == "t-1")
        #expect(seen.child("x", namespace: "urn:example:extra") != nil)
        #expect(driver.room.subject?.text == "Release")
    }

    @Test("a presence probe to an occupant JID from an occupant gets that occupant's presence")
    func presenceProbe() throws {
        var driver = OccupantTests.twoInRoom()
        driver.send("<presence from='alice@localhost/phone' to='\(Self.room)/Alice'><show>dnd</show></presence>")
        let probed = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Alice' type='probe'/>")
        let answer = try #require(probed.stanzas.first)
        #expect(probed.stanzas.count == 1)
        #expect(answer[attribute: "to"] == "bob@localhost/pc")
        #expect(answer[attribute: "from"] == "\(Self.room)/Alice")
        #expect(answer[attribute: "type"] == nil)
        #expect(answer.child("show", namespace: Namespace.client)?.text == "dnd")
        #expect(answer.mucItem?[attribute: "role"] == "moderator")
        #expect(answer.mucItem?[attribute: "jid"] == nil)

        let nobody = driver.send("<presence from='bob@localhost/pc' to='\(Self.room)/Nobody' type='probe'/>")
        #expect(nobody.stanzas.first?[attribute: "type"] == "unavailable")
        let stranger = driver.send("<presence from='eve@localhost/x' to='\(Self.room)/Alice' type='probe'/>")
        #expect(stranger.stanzas.first?.stanzaError?.condition == .notAcceptable)
    }

    @Test("a vCard request to an occupant goes to its bare JID and the answer comes back from the occupant JID")
    func vCardToBareJID() throws {
        var driver = OccupantTests.twoInRoom()
        let asked = driver.send("<iq from='bob@localhost/pc' to='\(Self.room)/Alice' type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>")
        let forwarded = try #require(asked.stanzas.first)
        #expect(forwarded[attribute: "to"] == "alice@localhost")
        let relayID = try #require(forwarded[attribute: "id"])
        // The user's server answers for the bare JID; an answer from her session is not the one awaited.
        #expect(driver.send("<iq from='alice@localhost/phone' to='\(Self.room)/Bob' type='result' id='\(relayID)'/>")
            .stanzas.allSatisfy { $0[attribute: "to"] != "bob@localhost/pc" })
        let answered = driver.send("<iq from='alice@localhost' to='\(Self.room)/Bob' type='result' id='\(relayID)'><vCard xmlns='vcard-temp'/></iq>")
        let answer = try #require(answered.stanzas.first)
        #expect(answer[attribute: "from"] == "\(Self.room)/Alice")
        #expect(answer[attribute: "to"] == "bob@localhost/pc")
        #expect(answer[attribute: "id"] == "v1")
    }

    @Test("shutting down tells every session of every occupant that it left, with 332")
    func shutdown() {
        var driver = OccupantTests.twoInRoom()
        driver.join("bob@localhost/phone", as: "Bob")
        let presences = driver.room.shutdownPresences(context: driver.context())
        #expect(Set(presences.compactMap { $0[attribute: "to"] }) == ["alice@localhost/phone", "bob@localhost/pc", "bob@localhost/phone"])
        #expect(presences.allSatisfy { $0[attribute: "type"] == "unavailable" && $0.statusCodes.isSuperset(of: [332, 110]) })
    }
}
