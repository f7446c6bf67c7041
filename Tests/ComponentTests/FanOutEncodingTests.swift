@testable import Component
import NIOCore
import Testing
import XMLStream
import XMPPCore

@Suite("Writing fan-outs")
struct FanOutEncodingTests {
    @Test("a fan-out is written as one copy per recipient, each with its own escaped `to`, in order")
    func copies() throws {
        var message = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": "lobby@rooms.localhost/Al", "type": "groupchat", "id": "m1"])
        message.append(XMLElement("body", namespace: Namespace.client, text: "hi <all> & 'you'"))
        let recipients = [try JID("a@localhost/x"), try JID("b@localhost/it's")]
        var single = XMLElement("presence", namespace: Namespace.client, attributes: ["to": "c@localhost/y"])
        single[attribute: "from"] = "lobby@rooms.localhost"
        let buffer = ComponentClient.encode(
            [.stanza(single), .fanOut(message, recipients: recipients)], allocator: ByteBufferAllocator())
        let text = String(buffer: buffer)
        let parser = XMLStreamParser(namespaceAliases: ["jabber:component:accept": "jabber:client"])
        let events = parser.feed(
            "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>" + text)
        #expect(parser.error == nil)
        let elements = events.compactMap { event -> XMLElement? in
            if case .element(let element) = event { return element }
            return nil
        }
        #expect(elements == [single] + Outbound.fanOut(message, recipients: recipients).copies)
        #expect(elements.last?[attribute: "to"] == "b@localhost/it's")
    }
}
