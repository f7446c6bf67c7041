import Logging
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

@Suite("Router at the service JID")
struct RouterTests {
    let router = Router(
        domain: try! JID("rooms.localhost"), serviceName: "Test rooms",
        rooms: RoomHost(domain: try! JID("rooms.localhost"), store: InMemoryRoomStore(), logger: Logger(label: "test")),
        logger: Logger(label: "test"))

    private func iq(_ type: String, to: String = "rooms.localhost", id: String = "q1", _ payload: XMLElement?) -> XMLElement {
        var iq = XMLElement("iq", namespace: Namespace.client,
                            attributes: ["from": "alice@localhost/phone", "to": to, "id": id, "type": type])
        if let payload { iq.append(payload) }
        return iq
    }

    private func condition(_ reply: XMLElement?) -> StanzaError? {
        reply.flatMap { StanzaError(errorStanza: $0) }
    }

    @Test("disco#info: conference/text identity and the features of every handler")
    func discoInfo() async throws {
        let replies = await router.handle(iq("get", XMLElement("query", namespace: Namespace.discoInfo))).stanzas
        let reply = try #require(replies.first)
        #expect(replies.count == 1)
        #expect(reply[attribute: "type"] == "result")
        #expect(reply[attribute: "from"] == "rooms.localhost")
        #expect(reply[attribute: "to"] == "alice@localhost/phone")
        let query = try #require(reply.child("query", namespace: Namespace.discoInfo))
        let identity = try #require(query.child("identity", namespace: Namespace.discoInfo))
        #expect(identity[attribute: "category"] == "conference")
        #expect(identity[attribute: "type"] == "text")
        #expect(identity[attribute: "name"] == "Test rooms")
        let features = Set(query.children("feature", namespace: Namespace.discoInfo).compactMap { $0[attribute: "var"] })
        #expect(features == [Namespace.discoInfo, Namespace.discoItems, Namespace.ping, Namespace.version,
                             "http://jabber.org/protocol/muc"])
    }

    @Test("disco#info on an unknown node is item-not-found")
    func discoNode() async {
        let replies = await router.handle(iq("get", XMLElement("query", namespace: Namespace.discoInfo, attributes: ["node": "x"]))).stanzas
        #expect(condition(replies.first)?.condition == .itemNotFound)
    }

    @Test("disco#items lists no rooms when there are none")
    func discoItems() async throws {
        let replies = await router.handle(iq("get", XMLElement("query", namespace: Namespace.discoItems))).stanzas
        let query = try #require(replies.first?.child("query", namespace: Namespace.discoItems))
        #expect(query.elements.isEmpty)
    }

    @Test("ping is answered with an empty result")
    func ping() async throws {
        let replies = await router.handle(iq("get", XMLElement("ping", namespace: Namespace.ping))).stanzas
        let reply = try #require(replies.first)
        #expect(reply[attribute: "type"] == "result")
        #expect(reply[attribute: "id"] == "q1")
        #expect(reply.elements.isEmpty)
    }

    @Test("version says Parley and its version, and no OS")
    func version() async throws {
        let replies = await router.handle(iq("get", XMLElement("query", namespace: Namespace.version))).stanzas
        let query = try #require(replies.first?.child("query", namespace: Namespace.version))
        #expect(query.child("name", namespace: Namespace.version)?.text == "Parley")
        #expect(query.child("version", namespace: Namespace.version)?.text == ParleyVersion.current)
        #expect(query.child("os", namespace: Namespace.version) == nil)
    }

    @Test("an IQ nobody understands is service-unavailable", arguments: ["get", "set"])
    func unknownIQ(type: String) async {
        let replies = await router.handle(iq(type, XMLElement("query", namespace: "urn:example:unknown"))).stanzas
        #expect(condition(replies.first) == StanzaError(.serviceUnavailable, type: .cancel, by: "rooms.localhost"))
        #expect(replies.first?.child("query", namespace: "urn:example:unknown") != nil, "the request is echoed")
    }

    @Test("a known payload with the wrong IQ type is service-unavailable")
    func wrongType() async {
        let replies = await router.handle(iq("set", XMLElement("ping", namespace: Namespace.ping))).stanzas
        #expect(condition(replies.first)?.condition == .serviceUnavailable)
    }

    @Test("an IQ get without a child is bad-request")
    func noChild() async {
        let replies = await router.handle(iq("get", nil)).stanzas
        #expect(condition(replies.first)?.condition == .badRequest)
        #expect(replies.first?[attribute: "id"] == "q1")
    }

    @Test("IQ results and errors are never answered")
    func resultsIgnored() async {
        #expect(await router.handle(iq("result", nil)).stanzas.isEmpty)
        #expect(await router.handle(iq("error", nil)).stanzas.isEmpty)
    }

    @Test("a malformed 'to' is answered with jid-malformed from the service")
    func malformedTo() async throws {
        let replies = await router.handle(iq("get", to: "a@@b", XMLElement("ping", namespace: Namespace.ping))).stanzas
        let reply = try #require(replies.first)
        #expect(condition(reply)?.condition == .jidMalformed)
        #expect(reply[attribute: "from"] == "rooms.localhost")
        #expect(reply[attribute: "to"] == "alice@localhost/phone")
    }

    @Test("a malformed 'from' cannot be answered and is dropped")
    func malformedFrom() async {
        let stanza = XMLElement("iq", namespace: Namespace.client,
                                attributes: ["from": "not a jid@x", "to": "rooms.localhost", "id": "1", "type": "get"],
                                children: [.element(XMLElement("ping", namespace: Namespace.ping))])
        #expect(await router.handle(stanza).stanzas.isEmpty)
    }

    @Test("a chat message to the service gets service-unavailable; an error message gets nothing")
    func messages() async {
        let message = XMLElement("message", namespace: Namespace.client,
                                 attributes: ["from": "alice@localhost/phone", "to": "rooms.localhost", "type": "chat"],
                                 children: [.element(XMLElement("body", namespace: Namespace.client, text: "hello?"))])
        #expect(condition(await router.handle(message).stanzas.first)?.condition == .serviceUnavailable)
        var error = message
        error[attribute: "type"] = "error"
        #expect(await router.handle(error).stanzas.isEmpty)
    }

    @Test("presence to the service is ignored")
    func presence() async {
        let presence = XMLElement("presence", namespace: Namespace.client,
                                  attributes: ["from": "alice@localhost/phone", "to": "rooms.localhost"])
        #expect(await router.handle(presence).stanzas.isEmpty)
    }

    @Test("a stanza skipped for breaking a limit is refused with policy-violation, errors are not")
    func rejected() async throws {
        let shell = XMLElement("iq", namespace: Namespace.client,
                               attributes: ["from": "alice@localhost/phone", "to": "rooms.localhost", "id": "x", "type": "get"])
        let replies = await router.handleRejected(shell, reason: .tooDeep(limit: 32)).stanzas
        let reply = try #require(replies.first)
        #expect(condition(reply)?.condition == .policyViolation)
        #expect(reply[attribute: "id"] == "x")
        #expect(reply[attribute: "from"] == "rooms.localhost")
        var error = shell
        error[attribute: "type"] = "error"
        #expect(await router.handleRejected(error, reason: .tooDeep(limit: 32)).stanzas.isEmpty)
        var result = shell
        result[attribute: "type"] = "result"
        #expect(await router.handleRejected(result, reason: .tooDeep(limit: 32)).stanzas.isEmpty)
    }

    @Test("addresses are classified as service, room, occupant or elsewhere")
    func destinations() throws {
        #expect(router.destination(of: try JID("rooms.localhost")) == .service)
        #expect(router.destination(of: try JID("lobby@rooms.localhost")) == .room(try JID("lobby@rooms.localhost")))
        #expect(router.destination(of: try JID("lobby@rooms.localhost/Al")) == .occupant(try JID("lobby@rooms.localhost/Al")))
        #expect(router.destination(of: try JID("rooms.localhost/x")) == .elsewhere)
        #expect(router.destination(of: try JID("other.localhost")) == .elsewhere)
    }
}
