import Testing
import XMLStream
import XMPPCore

@Suite("Stanzas and stanza errors (RFC 6120 §8)")
struct StanzaTests {
    private func element(_ name: String, _ attributes: KeyValuePairs<String, String?>, _ children: [XMLElement] = []) -> XMLElement {
        XMLElement(name, namespace: Namespace.client, attributes: attributes, children: children.map { .element($0) })
    }

    @Test("an IQ get is typed, with its payload")
    func iq() throws {
        let query = XMLElement("query", namespace: Namespace.discoInfo)
        let stanza = try Stanza(parsing: element("iq", ["from": "a@b/c", "to": "rooms.b", "id": "1", "type": "get"], [query]))
        guard case .iq(let iq) = stanza else {
            Issue.record("not an IQ")
            return
        }
        #expect(iq.type == .get)
        #expect(iq.payload == query)
        #expect(iq.from == (try JID("a@b/c")))
        let result = iq.result()
        #expect(result[attribute: "from"] == "rooms.b")
        #expect(result[attribute: "to"] == "a@b/c")
        #expect(result[attribute: "id"] == "1")
        #expect(result[attribute: "type"] == "result")
    }

    @Test("an IQ get or set needs exactly one child", arguments: [0, 2])
    func iqChildren(count: Int) {
        let children = Array(repeating: XMLElement("query", namespace: Namespace.ping), count: count)
        let iq = element("iq", ["from": "a@b/c", "to": "rooms.b", "id": "1", "type": "set"], children)
        do {
            _ = try Stanza(parsing: iq)
            Issue.record("accepted an IQ with \(count) children")
        } catch {
            #expect(error.error.condition == .badRequest)
            #expect(error.canReply)
        }
    }

    @Test("an IQ without id or with an unknown type is a bad request")
    func iqHeader() {
        for attributes: KeyValuePairs<String, String?> in [
            ["from": "a@b/c", "to": "rooms.b", "type": "get"],
            ["from": "a@b/c", "to": "rooms.b", "id": "1", "type": "fetch"],
        ] {
            #expect(throws: Stanza.ParseFailure.self) {
                try Stanza(parsing: element("iq", attributes, [XMLElement("ping", namespace: Namespace.ping)]))
            }
        }
    }

    @Test("a malformed 'to' is jid-malformed and can be answered; a malformed 'from' cannot")
    func malformedAddresses() {
        do {
            _ = try Stanza(parsing: element("message", ["from": "a@b/c", "to": "x@@y"]))
        } catch {
            #expect(error.error.condition == .jidMalformed)
            #expect(error.canReply)
        }
        do {
            _ = try Stanza(parsing: element("message", ["from": "a b@c", "to": "room@rooms.b"]))
        } catch {
            #expect(error.error.condition == .jidMalformed)
            #expect(!error.canReply)
        }
    }

    @Test("an error stanza is never answered with an error")
    func errorsAreNotAnswered() {
        do {
            _ = try Stanza(parsing: element("message", ["from": "a@b/c", "to": "x@@y", "type": "error"]))
        } catch {
            #expect(!error.canReply)
        }
    }

    @Test("message types: unknown counts as normal")
    func messageType() throws {
        guard case .message(let message) = try Stanza(parsing: element("message", ["from": "a@b/c", "to": "r@b", "type": "weird"])) else {
            Issue.record("not a message")
            return
        }
        #expect(message.type == .normal)
    }

    @Test("presence show and status are read; an unknown type is refused")
    func presence() throws {
        let show = XMLElement("show", namespace: Namespace.client, text: "dnd")
        let status = XMLElement("status", namespace: Namespace.client, text: "busy")
        guard case .presence(let presence) = try Stanza(parsing: element("presence", ["from": "a@b/c", "to": "r@b/n"], [show, status])) else {
            Issue.record("not a presence")
            return
        }
        #expect(presence.type == .available)
        #expect(presence.show == .dnd)
        #expect(presence.status == "busy")
        #expect(throws: Stanza.ParseFailure.self) {
            try Stanza(parsing: element("presence", ["from": "a@b/c", "to": "r@b/n", "type": "available"]))
        }
    }

    @Test("an error reply swaps addresses, keeps the id, and carries condition, type and text")
    func errorReply() {
        var message = element("message", ["from": "a@b/c", "to": "room@rooms.b", "id": "m7", "type": "groupchat"])
        message.append(XMLElement("body", namespace: Namespace.client, text: "hi"))
        let reply = StanzaError(.forbidden, text: "you are banned").reply(to: message)
        #expect(reply[attribute: "from"] == "room@rooms.b")
        #expect(reply[attribute: "to"] == "a@b/c")
        #expect(reply[attribute: "id"] == "m7")
        #expect(reply[attribute: "type"] == "error")
        #expect(reply.child("body", namespace: Namespace.client)?.text == "hi")
        let error = reply.child("error", namespace: Namespace.client)
        #expect(error?[attribute: "type"] == "auth")
        #expect(error?.child("forbidden", namespace: Namespace.stanzaErrors) != nil)
        #expect(error?.child("text", namespace: Namespace.stanzaErrors)?.text == "you are banned")
        // RFC 6120 §8.3.2: the room says it refused (as Prosody's rooms do).
        #expect(StanzaError(errorStanza: reply) == StanzaError(.forbidden, type: .auth, text: "you are banned", by: "room@rooms.b"))
    }

    @Test("every condition has the RFC's default type and survives a round trip")
    func conditions() {
        for condition in StanzaError.Condition.allCases {
            let error = StanzaError(condition)
            let stanza = error.reply(to: element("iq", ["from": "a@b/c", "to": "r@b", "id": "1", "type": "get"]))
            #expect(StanzaError(errorStanza: stanza)?.condition == condition)
            #expect(StanzaError(errorStanza: stanza)?.type == condition.defaultType)
        }
        #expect(StanzaError.Condition.serviceUnavailable.defaultType == .cancel)
        #expect(StanzaError.Condition.badRequest.defaultType == .modify)
        #expect(StanzaError.Condition.notAuthorized.defaultType == .auth)
        #expect(StanzaError.Condition.resourceConstraint.defaultType == .wait)
    }

    @Test("gone and redirect carry the new address")
    func redirect() {
        let error = StanzaError(.gone, alternateAddress: "xmpp:new@rooms.b?join").element
        #expect(error.child("gone", namespace: Namespace.stanzaErrors)?.text == "xmpp:new@rooms.b?join")
    }

    @Test("stream errors map parser failures to RFC 6120 conditions")
    func streamErrors() {
        #expect(StreamError(XMLStreamError.restrictedXML("comment")).condition == .restrictedXML)
        #expect(StreamError(XMLStreamError.notWellFormed("x")).condition == .notWellFormed)
        #expect(StreamError(XMLStreamError.stanzaTooLarge(limit: 1)).condition == .policyViolation)
        #expect(StreamError(XMLStreamError.tooDeep(limit: 1)).condition == .policyViolation)
        #expect(StreamError(XMLStreamError.unsupportedEncoding("x")).condition == .unsupportedEncoding)
        let element = StreamError(.conflict, text: "replaced").element
        #expect(StreamError(element: element) == StreamError(.conflict, text: "replaced"))
    }
}
