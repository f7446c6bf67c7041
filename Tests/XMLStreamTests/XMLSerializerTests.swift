import Testing
import XMLStream

@Suite("XMLSerializer")
struct XMLSerializerTests {
    private func roundTrip(_ element: XMLElement) -> XMLElement? {
        StreamFixtures.element(XMLSerializer.serialize(element, inheritedNamespace: "jabber:client"))
    }

    @Test("markup characters are escaped in text and attributes")
    func escaping() {
        let element = XMLElement(
            "message", namespace: "jabber:client",
            attributes: [XMLAttribute(name: "id", value: "a'b\"c<d>&e\n\tf")],
            children: [.text("1 < 2 & 3 > 2 'q' \"d\" \r\n")])
        let text = XMLSerializer.serialize(element, inheritedNamespace: "jabber:client")
        #expect(text == "<message id='a&apos;b&quot;c&lt;d&gt;&amp;e&#10;&#9;f'>1 &lt; 2 &amp; 3 &gt; 2 'q' \"d\" &#13;\n</message>")
        #expect(roundTrip(element) == element)
    }

    @Test("namespaces are declared only where they change")
    func namespaces() {
        var message = XMLElement("message", namespace: "jabber:client")
        message.append(XMLElement("body", namespace: "jabber:client", text: "hi"))
        var x = XMLElement("x", namespace: "http://jabber.org/protocol/muc#user")
        x.append(XMLElement("item", namespace: "http://jabber.org/protocol/muc#user", attributes: ["role": "moderator"]))
        x.append(XMLElement("plain", namespace: ""))
        message.append(x)
        let text = XMLSerializer.serialize(message, inheritedNamespace: "jabber:client")
        #expect(text == "<message><body>hi</body><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><plain xmlns=''/></x></message>")
        #expect(roundTrip(message) == message)
        #expect(XMLSerializer.serialize(message).hasPrefix("<message xmlns='jabber:client'>"))
    }

    @Test("characters XML forbids become U+FFFD instead of breaking the stream")
    func forbiddenCharacters() {
        let element = XMLElement("body", namespace: "jabber:client", text: "a\u{0}b\u{1B}c\u{FFFE}d")
        let text = XMLSerializer.serialize(element, inheritedNamespace: "jabber:client")
        #expect(text == "<body>a\u{FFFD}b\u{FFFD}c\u{FFFD}d</body>")
    }

    @Test("foreign-namespace attributes round-trip")
    func foreignAttributes() {
        let element = XMLElement(
            "message", namespace: "jabber:client",
            attributes: [XMLAttribute(name: "{urn:example}flag", value: "1"), XMLAttribute(name: "xml:lang", value: "fr")])
        #expect(roundTrip(element) == element)
    }

    @Test("random trees round-trip through serializer and parser")
    func randomTrees() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("aZ09 <>&'\"\n\t\u{e9}\u{1F600}\u{263A}]]>")
        func randomText() -> String {
            String((0..<Int.random(in: 1...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        func randomElement(depth: Int) -> XMLElement {
            var element = XMLElement(
                ["a", "b", "body", "x"].randomElement(using: &generator)!,
                namespace: ["jabber:client", "urn:a", "urn:b", ""].randomElement(using: &generator)!,
                attributes: [XMLAttribute(name: "k", value: randomText())])
            var lastWasText = false
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                if depth < 5 && Bool.random(using: &generator) {
                    element.append(randomElement(depth: depth + 1))
                    lastWasText = false
                } else if !lastWasText {
                    element.append(text: randomText())
                    lastWasText = true
                }
            }
            return element
        }
        for _ in 0..<300 {
            var stanza = XMLElement("message", namespace: "jabber:client")
            stanza.append(randomElement(depth: 0))
            #expect(roundTrip(stanza) == stanza)
        }
    }
}

/// A small deterministic generator so that random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
