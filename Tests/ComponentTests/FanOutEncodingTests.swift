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

    @Test("every write ends with as much whitespace as its longest tag, so a server's Expat with reparse deferral parses its end")
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
        // Cut anywhere in the tag, the bytes from the tag's start are at least twice the cut part.
        #expect(padding.count >= stanza.utf8.count)
        #expect(ComponentClient.encode([], allocator: ByteBufferAllocator()).readableBytes == 0)
    }

    @Test("a long body or many copies cost only the longest tag in padding, and a copy's tag counts its own `to`")
    func paddingFollowsTags() throws {
        var message = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": "lobby@rooms.localhost/Al", "type": "groupchat", "id": "m1"])
        message.append(XMLElement("body", namespace: Namespace.client, text: String(repeating: "word <&> ", count: 2_000)))
        let single = ComponentClient.encode([.stanza(message)], allocator: ByteBufferAllocator())
        let stanza = XMLSerializer.serialize(message, inheritedNamespace: Namespace.client)
        let startTag = stanza.prefix { $0 != ">" }.utf8.count + 1
        #expect(String(buffer: single).dropFirst(stanza.count).count == startTag)

        let recipients = try (0..<200).map { try JID("user\($0)@localhost/a-long-resource-\($0)") }
        let fanOut = ComponentClient.encode([.fanOut(message, recipients: recipients)], allocator: ByteBufferAllocator())
        let copies = Outbound.fanOut(message, recipients: recipients).copies
            .map { XMLSerializer.serialize($0, inheritedNamespace: Namespace.client) }.joined()
        let text = String(buffer: fanOut)
        #expect(text.hasPrefix(copies))
        let longestCopyTag = XMLSerializer.longestTag(in: copies.utf8)
        let padding = text.utf8.count - copies.utf8.count
        #expect(padding >= longestCopyTag)
        #expect(padding < longestCopyTag + 16)
    }

    @Test("the longest tag of serialized XML is found whatever the text around it holds")
    func longestTag() {
        #expect(XMLSerializer.longestTag(in: "<a b='1'>text &lt;&gt;</a>".utf8) == 9)
        #expect(XMLSerializer.longestTag(in: "".utf8) == 0)
        #expect(XMLSerializer.longestTag(in: "<x/><yy/>".utf8) == 5)
    }
}
