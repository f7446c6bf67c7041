import Logging
import Service
import Testing
import XMLStream
import XMPPCore

/// XEP-0033 for fan-outs: discovery as §3 says, one stanza per chunk of recipients, and
/// nothing lost when the service refuses.
@Suite("Multicast through the server")
struct MulticastRelayTests {
    static let domain = try! JID("rooms.localhost")

    static func relay(_ mode: MulticastConfiguration.Mode = .auto, maxAddresses: Int = 1000) -> MulticastRelay {
        MulticastRelay(
            domain: domain, configuration: MulticastConfiguration(mode: mode, server: "localhost", maxAddresses: maxAddresses),
            logger: Logger(label: "test"))
    }

    static func answer(_ question: XMLElement, features: [String] = [], items: [String] = []) -> XMLElement {
        let namespace = question.elements.first?.namespace ?? Namespace.discoInfo
        var query = XMLElement("query", namespace: namespace)
        for feature in features {
            query.append(XMLElement("feature", namespace: Namespace.discoInfo, attributes: ["var": feature]))
        }
        for item in items {
            query.append(XMLElement("item", namespace: Namespace.discoItems, attributes: ["jid": item]))
        }
        return XMLElement(
            "iq", namespace: Namespace.client,
            attributes: ["type": "result", "id": question[attribute: "id"], "from": question[attribute: "to"],
                         "to": domain.description],
            children: [.element(query)])
    }

    static func message(id: String = "m1") -> XMLElement {
        XMLElement("message", namespace: Namespace.client,
                   attributes: ["from": "r@rooms.localhost/Alice", "type": "groupchat", "id": id],
                   children: [.element(XMLElement("body", namespace: Namespace.client, text: "hi"))])
    }

    static func recipients(_ count: Int) -> [JID] {
        (1...count).map { try! JID("u\($0)@localhost/r") }
    }

    static func addresses(_ stanza: XMLElement) -> [String] {
        stanza.child("addresses", namespace: MulticastRelay.namespace)?
            .children("address", namespace: MulticastRelay.namespace).compactMap { $0[attribute: "jid"] } ?? []
    }

    @Test("the server's own disco#info names the feature: one stanza with bcc addresses per fan-out")
    func serverItself() async throws {
        let relay = Self.relay()
        let questions = await relay.linkReady()
        let question = try #require(questions.first)
        #expect(question[attribute: "to"] == "localhost")
        #expect(await relay.observe(Self.answer(question, features: [MulticastRelay.namespace]))?.isEmpty == true)
        #expect(await relay.service == (try JID("localhost")))
        let out = await relay.expand([.fanOut(Self.message(), recipients: Self.recipients(3)),
                                      .fanOut(Self.message(id: "m2"), recipients: Self.recipients(1))], maxStanzaBytes: 256 * 1024)
        #expect(out.count == 2)
        guard case .stanza(let multicast) = out[0], case .fanOut(_, let single) = out[1] else {
            Issue.record("expected one multicast and one unchanged fan-out: \(out)")
            return
        }
        #expect(multicast[attribute: "to"] == "localhost")
        #expect(multicast[attribute: "id"] == "m1")
        #expect(Self.addresses(multicast) == Self.recipients(3).map(\.description))
        #expect(multicast.child("addresses", namespace: MulticastRelay.namespace)?.elements.allSatisfy { $0[attribute: "type"] == "bcc" } == true)
        #expect(single.count == 1)
    }

    @Test("else one of its items (ejabberd's multicast.<host>), after disco#items")
    func serverItem() async throws {
        let relay = Self.relay()
        let info = try #require(await relay.linkReady().first)
        let itemsQuestion = try #require(await relay.observe(Self.answer(info, features: [Namespace.discoInfo]))?.stanzas.first)
        #expect(itemsQuestion.elements.first?.namespace == Namespace.discoItems)
        let itemQuestions = try #require(await relay.observe(
            Self.answer(itemsQuestion, items: ["conference.localhost", "multicast.localhost"]))?.stanzas)
        #expect(itemQuestions.count == 2)
        for question in itemQuestions {
            let features = question[attribute: "to"] == "multicast.localhost" ? [MulticastRelay.namespace] : ["http://jabber.org/protocol/muc"]
            _ = await relay.observe(Self.answer(question, features: features))
        }
        #expect(await relay.service == (try JID("multicast.localhost")))
    }

    @Test("not-acceptable: the refused copies go out one by one, and later stanzas carry fewer addresses")
    func tooManyAddresses() async throws {
        let relay = Self.relay(.service(try JID("multicast.localhost")), maxAddresses: 4)
        _ = await relay.linkReady()
        let out = await relay.expand([.fanOut(Self.message(), recipients: Self.recipients(10))], maxStanzaBytes: 256 * 1024)
        #expect(out.stanzas.map { Self.addresses($0).count } == [4, 4, 2])
        var refusal = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["type": "error", "id": "m1", "from": "multicast.localhost", "to": "r@rooms.localhost/Alice"])
        refusal.append(StanzaError(.notAcceptable, text: "Too many receiver fields were specified").element)
        let resent = try #require(await relay.observe(refusal))
        guard case .fanOut(let stanza, let recipients) = try #require(resent.first) else {
            Issue.record("expected the copies one by one")
            return
        }
        #expect(recipients.count == 4)
        #expect(stanza[attribute: "to"] == nil && stanza.child("addresses", namespace: MulticastRelay.namespace) == nil)
        let later = await relay.expand([.fanOut(Self.message(id: "m2"), recipients: Self.recipients(4))], maxStanzaBytes: 256 * 1024)
        #expect(later.stanzas.map { Self.addresses($0).count } == [2, 2])
    }

    @Test("forbidden: the service is given up until the link comes up again")
    func forbidden() async throws {
        let relay = Self.relay(.service(try JID("localhost")))
        _ = await relay.linkReady()
        _ = await relay.expand([.fanOut(Self.message(), recipients: Self.recipients(3))], maxStanzaBytes: 256 * 1024)
        var refusal = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["type": "error", "id": "m1", "from": "localhost", "to": "r@rooms.localhost/Alice"])
        refusal.append(StanzaError(.forbidden).element)
        let resent = try #require(await relay.observe(refusal))
        #expect(resent.first?.deliveries == 3)
        #expect(await relay.service == nil)
        let later = await relay.expand([.fanOut(Self.message(id: "m2"), recipients: Self.recipients(3))], maxStanzaBytes: 256 * 1024)
        #expect(later.first?.deliveries == 3 && later.count == 1)
        if case .stanza = later[0] { Issue.record("sent as multicast after a refusal") }
    }

    @Test("off: no discovery, nothing changes")
    func off() async {
        let relay = Self.relay(.off)
        #expect(await relay.linkReady().isEmpty)
        let out = await relay.expand([.fanOut(Self.message(), recipients: Self.recipients(3))], maxStanzaBytes: 256 * 1024)
        if case .stanza = out[0] { Issue.record("multicast while off") }
    }
}
