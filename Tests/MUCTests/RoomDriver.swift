import MUC
import XMLStream
import XMPPCore

/// Drives one room in-process: stanzas in as XML text, effects out. Ids and
/// time are deterministic, so every expectation is exact.
struct RoomDriver {
    var room: Room
    var now: Double = 1_700_000_000
    var nextID = 0
    var archive: [ArchivedMessage] = []
    var limits = RoomLimits()
    var webLogs = WebLogsPolicy(isEnabled: true, baseURL: "https://chat.example.org/logs")

    static let roomJID = try! JID("lobby@rooms.localhost")

    /// A room created by alice and configured as an instant room, empty.
    static func open(configure: (inout RoomConfiguration) -> Void = { _ in }) -> RoomDriver {
        var configuration = RoomConfiguration()
        configure(&configuration)
        let room = Room(
            jid: roomJID, configuration: configuration, affiliations: [try! JID("alice@localhost"): .owner],
            occupantIDSalt: "salt")
        return RoomDriver(room: room)
    }

    static func jid(_ text: String) -> JID { try! JID(text) }

    mutating func context() -> RoomContext {
        let base = nextID
        nextID += 100
        var counter = base
        return RoomContext(
            now: now,
            makeStanzaID: {
                counter += 1
                return "sid-\(counter)"
            },
            makeOccupantID: { salt, jid in "oid-\(salt)-\(jid)" },
            limits: limits, webLogs: webLogs)
    }

    /// Sends one stanza (XML text in jabber:client, `xmlns` added) and returns the effects.
    @discardableResult
    mutating func send(_ xml: String) -> RoomEffects {
        var text = xml
        if let space = text.firstIndex(of: " ") {
            text.insert(contentsOf: " xmlns='jabber:client'", at: space)
        }
        guard let element = XMLStreamParser.parseElement(text) else {
            fatalError("test stanza does not parse: \(xml)")
        }
        let stanza: Stanza
        do {
            stanza = try Stanza(parsing: element)
        } catch {
            fatalError("test stanza is not a stanza: \(error.error)")
        }
        let context = context()
        let effects = room.handle(stanza, context: context)
        archive += effects.archive
        return effects
    }

    /// Enters as `user` (full JID) with `nick`, optional extra children inside `<x xmlns=muc>`.
    @discardableResult
    mutating func join(_ user: String, as nick: String, muc: String = "") -> RoomEffects {
        send("<presence from='\(user)' to='lobby@rooms.localhost/\(nick)'><x xmlns='http://jabber.org/protocol/muc'>\(muc)</x></presence>")
    }
}

extension XMLElement {
    var mucUser: XMLElement? { child("x", namespace: MUCNamespace.user) }
    var mucItem: XMLElement? { mucUser?.child("item", namespace: MUCNamespace.user) }

    var statusCodes: Set<Int> {
        Set(mucUser?.children("status", namespace: MUCNamespace.user).compactMap { $0[attribute: "code"].flatMap { Int($0) } } ?? [])
    }

    var stanzaError: StanzaError? { StanzaError(errorStanza: self) }

    func isPresence(from: String, to: String) -> Bool {
        name == "presence" && self[attribute: "from"] == from && self[attribute: "to"] == to
    }
}

extension RoomEffects {
    func stanzas(to recipient: String) -> [XMLElement] {
        stanzas.filter { $0[attribute: "to"] == recipient }
    }
}
