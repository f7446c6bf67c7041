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

    @Test("every write ends with as much whitespace as its longest stanza, so a server's Expat with reparse deferral parses its end")
    func parserFlush() throws {
        let longID = String(repeating: "x", count: 10_000)
        let answer = XMLElement(
            "iq", namespace: Namespace.client,
            attributes: ["from": "rooms.localhost", "to": "a@localhost/x", "id": longID, "type": "result"])
        let buffer = ComponentClient.encode([.stanza(answer)], allocator: ByteBufferAllocator())
        let text = String(buffer: buffer)
        let stanza = XMLSerializer.serialize(answer, inheritedNamespace: Namespace.client)
        #expect(text.hasPrefix(stanza))
        let padding = text.dropFirst(stanza.count)
        #expect(padding.allSatisfy { $0 == " " })
        // Cut anywhere in the stanza, the bytes after the cut's token start are at least twice the cut part.
        #expect(padding.count >= stanza.utf8.count)
        #expect(ComponentClient.encode([], allocator: ByteBufferAllocator()).readableBytes == 0)
    }
}
