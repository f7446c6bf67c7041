import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Entering a room (XEP-0045 §7.2)")
struct EnteringTests {
    @Test("a new room is locked for everyone but its creator until configured (§10.1)")
    func creation() throws {
        var driver = RoomDriver(room: Room(
            jid: RoomDriver.roomJID, affiliations: [RoomDriver.jid("alice@localhost"): .owner], isLocked: true,
            occupantIDSalt: "salt"))
        let created = driver.join("alice@localhost/phone", as: "Alice")
        let selfPresence = try #require(created.stanzas.first { $0.name == "presence" })
        #expect(selfPresence.statusCodes == [110, 201, 170])
        #expect(selfPresence.mucItem?[attribute: "affiliation"] == "owner")
        #expect(selfPresence.mucItem?[attribute: "role"] == "moderator")

        let refused = driver.join("bob@localhost/pc", as: "Bob")
        #expect(refused.stanzas.first?.stanzaError?.condition == .itemNotFound)

        // An instant room: an empty submitted form (§10.1.2).
        let configured = driver.send("""
            <iq from='alice@localhost/phone' to='lobby@rooms.localhost' type='set' id='c1'>\
            <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>
            """)
        #expect(configured.stanzas.first?[attribute: "type"] == "result")
        #expect(configured.roomChanged)
        #expect(!driver.room.isLocked)
        let joined = driver.join("bob@localhost/pc", as: "Bob")
        #expect(joined.stanzas.contains { $0.isPresence(from: "lobby@rooms.localhost/Bob", to: "bob@localhost/pc") })
    }

    @Test("order on entering: others' presence, own presence, history, subject (§7.2.3–7.2.16)")
    func order() throws {
        var driver = RoomDriver.open()
        driver.join("alice@localhost/phone", as: "Alice")
        let effects = driver.join("bob@localhost/pc", as: "Bob")
        let toBob = effects.outputs.compactMap { output -> String? in
            switch output {
            case .stanza(let stanza) where stanza[attribute: "to"] == "bob@localhost/pc":
                return "\(stanza.name) \(stanza[attribute: "from"] ?? "")"
            case .history(let to, _, _) where to.description == "bob@localhost/pc":
                return "history"
            default:
                return nil
            }
        }
        #expect(toBob == [
            "presence lobby@rooms.localhost/Alice",
            "presence lobby@rooms.localhost/Bob",
            "history",
            "message lobby@rooms.localhost",
        ])
        let selfPresence = try #require(effects.stanzas(to: "bob@localhost/pc").first { $0[attribute: "from"] == "lobby@rooms.localhost/Bob" })
        #expect(selfPresence.statusCodes == [110, 170])
        // Alice hears of Bob, without status 110.
        let toAlice = try #require(effects.stanzas(to: "alice@localhost/phone").first)
        #expect(toAlice.isPresence(from: "lobby@rooms.localhost/Bob", to: "alice@localhost/phone"))
        #expect(!toAlice.statusCodes.contains(110))
        // The subject message is empty when there is no subject (§7.2.16).
        let subject = try #require(effects.stanzas(to: "bob@localhost/pc").last)
        #expect(subject.child("subject", namespace: Namespace.client)?.text == "")
    }

    @Test("semi-anonymous: only moderators see real JIDs; non-anonymous: everyone, with 100")
    func jidVisibility() throws {
        var driver = RoomDriver.open()
        driver.join("alice@localhost/phone", as: "Alice")
        let effects = driver.join("bob@localhost/pc", as: "Bob")
        let aliceSeesBob = try #require(effects.stanzas(to: "alice@localhost/phone").first)
        #expect(aliceSeesBob.mucItem?[attribute: "jid"] == "bob@localhost/pc", "Alice is a moderator")
        let bobSeesAlice = try #require(effects.stanzas(to: "bob@localhost/pc").first)
        #expect(bobSeesAlice.mucItem?[attribute: "jid"] == nil, "Bob is a participant")

        var open = RoomDriver.open { $0.whois = .anyone }
        open.join("alice@localhost/phone", as: "Alice")
        let joined = open.join("bob@localhost/pc", as: "Bob")
        #expect(joined.stanzas(to: "bob@localhost/pc").first?.mucItem?[attribute: "jid"] == "alice@localhost/phone")
        #expect(joined.stanzas(to: "bob@localhost/pc")[1].statusCodes.contains(100))
    }

    @Test("entry errors: conflict, password, members-only, banned, full (§7.2.6–7.2.10)")
    func refusals() {
        var driver = RoomDriver.open {
            $0.password = "sesame"
            $0.maxUsers = 2
        }
        driver.room.affiliations[RoomDriver.jid("mallory@localhost")] = .outcast
        #expect(driver.join("alice@localhost/phone", as: "Alice").stanzas.first?.stanzaError?.condition == .notAuthorized)
        #expect(driver.join("alice@localhost/phone", as: "Alice", muc: "<password>nope</password>")
            .stanzas.first?.stanzaError == StanzaError(.notAuthorized, type: .auth, text: "wrong password", by: "lobby@rooms.localhost"))
        #expect(driver.join("alice@localhost/phone", as: "Alice", muc: "<password>sesame</password>").stanzas.first?.stanzaError == nil)
        #expect(driver.join("bob@localhost/pc", as: "Alice", muc: "<password>sesame</password>")
            .stanzas.first?.stanzaError?.condition == .conflict)
        #expect(driver.join("mallory@localhost/x", as: "M", muc: "<password>sesame</password>")
            .stanzas.first?.stanzaError?.condition == .forbidden)
        driver.join("bob@localhost/pc", as: "Bob", muc: "<password>sesame</password>")
        let full = driver.join("carol@localhost/pc", as: "Carol", muc: "<password>sesame</password>").stanzas.first?.stanzaError
        #expect(full?.condition == .serviceUnavailable)
        #expect(full?.type == .wait)

        var membersOnly = RoomDriver.open { $0.isMembersOnly = true }
        #expect(membersOnly.join("bob@localhost/pc", as: "Bob").stanzas.first?.stanzaError?.condition == .registrationRequired)
        membersOnly.room.affiliations[RoomDriver.jid("bob@localhost")] = .member
        #expect(membersOnly.join("bob@localhost/pc", as: "Bob").stanzas.first?.stanzaError == nil)
    }

    @Test("a second session of the same user joins the same occupant")
    func multiSession() {
        var driver = RoomDriver.open()
        driver.join("alice@localhost/phone", as: "Alice")
        let second = driver.join("alice@localhost/laptop", as: "Alice")
        #expect(second.stanzas.first?.stanzaError == nil)
        #expect(driver.room.occupants.count == 1)
        #expect(driver.room.occupants[0].sessions.count == 2)
    }

    @Test("history on join honours maxstanzas, maxchars, seconds and since, within the room's limit")
    func historyRequests() {
        var driver = RoomDriver.open { $0.historyLength = 10 }
        func request(_ history: String) -> HistoryRequest? {
            let effects = driver.join("carol@localhost/x\(driver.nextID)", as: "Carol\(driver.nextID)", muc: history)
            for output in effects.outputs {
                if case .history(_, let request, _) = output { return request }
            }
            return nil
        }
        #expect(request("") == HistoryRequest(maxStanzas: 10))
        #expect(request("<history maxstanzas='3'/>") == HistoryRequest(maxStanzas: 3))
        #expect(request("<history maxstanzas='50'/>") == HistoryRequest(maxStanzas: 10))
        #expect(request("<history maxstanzas='0'/>") == nil)
        #expect(request("<history maxchars='0'/>") == nil)
        #expect(request("<history seconds='60'/>") == HistoryRequest(maxStanzas: 10, since: driver.now - 60))
        #expect(request("<history since='2023-11-14T22:00:00Z'/>") == HistoryRequest(maxStanzas: 10, since: 1_700_000_000 - 800))
    }
}
