import MUC
import Testing
import XMLStream
import XMPPCore

@Suite("Web logs in the room configuration")
struct WebLogsConfigurationTests {
    static let room = RoomDriver.roomJID

    @discardableResult
    static func configure(_ driver: inout RoomDriver, _ fields: String) -> RoomEffects {
        driver.send("""
            <iq from='alice@localhost/phone' to='\(room)' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
            \(fields)</x></query></iq>
            """)
    }

    static let on = "<field var='parley#roomconfig_weblogs'><value>1</value></field>"

    @Test("the form offers the field; an owner turns logs on in a public open room and disco#info names the URL")
    func turnOn() {
        var driver = OccupantTests.twoInRoom()
        let form = driver.send("<iq from='alice@localhost/phone' to='\(Self.room)' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        #expect(XMLSerializer.serialize(form.stanzas[0]).contains("var='parley#roomconfig_weblogs'"))
        let result = Self.configure(&driver, Self.on)
        #expect(result.stanzas.first { $0.name == "iq" }?[attribute: "type"] == "result")
        #expect(driver.room.configuration.publishesWebLogs)
        let info = driver.send("<iq from='bob@localhost/pc' to='\(Self.room)' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        #expect(XMLSerializer.serialize(info.stanzas[0]).contains("https://chat.example.org/logs/lobby/"))
    }

    @Test("turning logs on in a members-only, password-protected or hidden room is not-acceptable")
    func privateRoomsRefuse() {
        for change: (inout RoomConfiguration) -> Void in [{ $0.isMembersOnly = true }, { $0.password = "x" }, { $0.isPublic = false }] {
            var driver = OccupantTests.twoInRoom()
            change(&driver.room.configuration)
            let result = Self.configure(&driver, Self.on)
            #expect(result.stanzas.first?.stanzaError?.condition == .notAcceptable)
            #expect(driver.room.configuration.webLogs != true)
        }
        // The same in one form: members-only and logs on together.
        var driver = OccupantTests.twoInRoom()
        let both = Self.configure(&driver, Self.on + "<field var='muc#roomconfig_membersonly'><value>1</value></field>")
        #expect(both.stanzas.first?.stanzaError?.condition == .notAcceptable)
    }

    @Test("a room that turns private stops publishing, and turning it public again does not republish")
    func privateTurnsOff() {
        var driver = OccupantTests.twoInRoom()
        Self.configure(&driver, Self.on)
        // A client that sends the whole form back repeats the old "on" beside the new members-only.
        let result = Self.configure(&driver, Self.on + "<field var='muc#roomconfig_membersonly'><value>1</value></field>")
        #expect(result.stanzas.first { $0.name == "iq" }?[attribute: "type"] == "result")
        #expect(driver.room.configuration.webLogs == false)
        Self.configure(&driver, "<field var='muc#roomconfig_membersonly'><value>0</value></field>")
        #expect(!driver.room.configuration.publishesWebLogs)
        let info = driver.send("<iq from='bob@localhost/pc' to='\(Self.room)' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        #expect(!XMLSerializer.serialize(info.stanzas[0]).contains("muc#roominfo_logs"))
    }

    @Test("a room a service admin hid, or a service with web logs off, refuses with not-allowed")
    func serviceForcesOff() {
        var hidden = OccupantTests.twoInRoom()
        hidden.webLogs.hiddenRooms = [Self.room]
        #expect(Self.configure(&hidden, Self.on).stanzas.first?.stanzaError?.condition == .notAllowed)
        var off = OccupantTests.twoInRoom()
        off.webLogs.isEnabled = false
        #expect(Self.configure(&off, Self.on).stanzas.first?.stanzaError?.condition == .notAllowed)
    }
}
