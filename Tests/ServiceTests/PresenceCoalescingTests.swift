import Component
import Logging
@testable import Service
import Storage
import Testing
import XMLStream
import XMPPCore

/// A join wave's presences as one multicast stanza each, with every recipient seeing
/// what it would see one stanza at a time.
@Suite("Presences coalesced per read")
struct PresenceCoalescingTests {
    static let domain = try! JID("rooms.localhost")

    static func join(_ user: String, nick: String) -> XMLElement {
        XMLElement("presence", namespace: Namespace.client,
                   attributes: ["from": "\(user)@localhost/r", "to": "hall@rooms.localhost/\(nick)"],
                   children: [.element(XMLElement("x", namespace: "http://jabber.org/protocol/muc"))])
    }

    /// Every copy a recipient gets, in order, with multicast stanzas opened up again.
    static func perRecipient(_ outbound: [Outbound]) -> [String: [XMLElement]] {
        var copies: [String: [XMLElement]] = [:]
        for element in outbound.flatMap(\.copies) {
            if let addresses = element.child("addresses", namespace: MulticastRelay.namespace) {
                var copy = element
                copy.removeChildren("addresses", namespace: MulticastRelay.namespace)
                for address in addresses.children("address", namespace: MulticastRelay.namespace) {
                    copy[attribute: "to"] = address[attribute: "jid"]
                    copies[address[attribute: "jid"] ?? "", default: []].append(Self.withoutIDs(copy))
                }
            } else {
                copies[element[attribute: "to"] ?? "", default: []].append(Self.withoutIDs(element))
            }
        }
        return copies
    }

    /// Multicast gives each fan-out an id of its own, and each router's room salts its
    /// occupant ids differently; the rest must be the same.
    static func withoutIDs(_ element: XMLElement) -> XMLElement {
        var copy = element
        copy.removeChildren("occupant-id", namespace: "urn:xmpp:occupant-id:0")
        if copy[attribute: "id"]?.hasPrefix("parley-") == true { copy[attribute: "id"] = nil }
        // `to` first, as unicast writes it, so that equal stanzas compare equal.
        if let to = copy[attribute: "to"] {
            copy[attribute: "to"] = nil
            copy.attributes.insert(XMLAttribute(name: "to", value: to), at: 0)
        }
        return copy
    }

    static func router(multicast: Bool, service: String = "localhost") async -> Router {
        let rooms = RoomHost(domain: domain, store: InMemoryRoomStore(), logger: Logger(label: "test"))
        let router = Router(
            domain: domain, serviceName: "t", rooms: rooms,
            multicast: multicast
                ? MulticastRelay(domain: domain, configuration: MulticastConfiguration(mode: .service(try! JID(service)), server: "localhost"),
                                 logger: Logger(label: "test"))
                : nil,
            logger: Logger(label: "test"))
        _ = await router.linkReady()
        // The owner creates the room and opens it; two more are in before the wave.
        _ = await router.handle(Self.join("owner", nick: "Owner"))
        var submit = XMLElement("iq", namespace: Namespace.client,
                                attributes: ["from": "owner@localhost/r", "to": "hall@rooms.localhost", "id": "c", "type": "set"])
        var query = XMLElement("query", namespace: "http://jabber.org/protocol/muc#owner")
        query.append(XMLElement("x", namespace: "jabber:x:data", attributes: ["type": "submit"]))
        submit.append(query)
        _ = await router.handle(submit)
        _ = await router.handle(Self.join("early1", nick: "Early1"))
        _ = await router.handle(Self.join("early2", nick: "Early2"))
        return router
    }

    @Test("a wave of joins in one read: each existing presence once, every joiner sees the same as one by one")
    func joinWave() async {
        let wave: [ComponentInput] = (1...4).map { .stanza(Self.join("new\($0)", nick: "New\($0)")) }
        let plain = await Self.router(multicast: false).handle(wave)
        let coalesced = await Self.router(multicast: true).handle(wave)
        #expect(Self.perRecipient(plain) == Self.perRecipient(coalesced))
        let plainStanzas = plain.reduce(0) { $0 + $1.deliveries }
        #expect(coalesced.count < plainStanzas / 2, "\(coalesced.count) stanzas for \(plainStanzas) copies")
        // Owner, Early1 and Early2: each one multicast stanza to all four joiners.
        let existing = coalesced.flatMap(\.copies).filter {
            $0[attribute: "from"] == "hall@rooms.localhost/Early1"
                && $0.child("addresses", namespace: MulticastRelay.namespace) != nil
        }
        #expect(existing.count == 1, "Early1's presence goes to the four joiners as one stanza")
    }

    @Test("a service on a domain of its own (ejabberd's) may reorder: presences to joiners stay one by one")
    func separateServiceKeepsUnicast() async {
        let wave: [ComponentInput] = (1...4).map { .stanza(Self.join("new\($0)", nick: "New\($0)")) }
        let outbound = await Self.router(multicast: true, service: "multicast.localhost").handle(wave)
        let merged = outbound.flatMap(\.copies).filter {
            $0[attribute: "from"] == "hall@rooms.localhost/Early1"
                && $0.child("addresses", namespace: MulticastRelay.namespace) != nil
        }
        #expect(merged.isEmpty, "Early1's presence went to the joiners through the separate service")
        let plain = await Self.router(multicast: false).handle(wave)
        #expect(Self.perRecipient(plain) == Self.perRecipient(outbound))
    }

    @Test("a copy does not move ahead of what its recipient got in between")
    func orderKept() {
        let presence = XMLElement("presence", namespace: Namespace.client, attributes: ["from": "r@rooms.localhost/A"])
        func to(_ element: XMLElement, _ address: String) -> Outbound {
            var copy = element
            copy.attributes.insert(XMLAttribute(name: "to", value: address), at: 0)
            return .stanza(copy)
        }
        let message = XMLElement("message", namespace: Namespace.client, attributes: ["from": "r@rooms.localhost"])
        let outbound = [to(presence, "a@localhost"), to(message, "b@localhost"), to(presence, "b@localhost"),
                        to(presence, "c@localhost")]
        let result = PresenceCoalescing.coalesce(outbound)
        // b got the message after a's presence, so b's presence stays after the message
        // (and c, who got nothing, joins b's).
        #expect(result.count == 3)
        guard case .stanza(let first) = result[0], case .fanOut(_, let last) = result[2] else {
            Issue.record("unexpected shape: \(result)")
            return
        }
        #expect(first[attribute: "to"] == "a@localhost")
        #expect(last.map(\.description) == ["b@localhost", "c@localhost"])
        #expect(Self.perRecipient(result) == Self.perRecipient(outbound))
    }
}
