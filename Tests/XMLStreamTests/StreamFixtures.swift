import XMLStream

/// Streams and helpers shared by the parser tests.
enum StreamFixtures {
    static let header =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
        + "xmlns:stream='http://etherx.jabber.org/streams' from='rooms.localhost' id='abc123'>"

    /// A recorded server-to-component stream: handshake, stanzas with nesting,
    /// escapes, multi-byte UTF-8, namespaces, whitespace keepalives, close.
    static let recorded = header + """
        <handshake/> \
        <message from='alice@localhost/phone' to='room@rooms.localhost' type='groupchat' id='m1' xml:lang='en'>\
        <body>Caf\u{e9} &amp; cr\u{e8}me &lt;br&gt; \u{1F600} &#x263A;</body>\
        <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/></x>\
        </message>

        <presence from='bob@localhost/laptop' to='room@rooms.localhost/Bob'><show>away</show>\
        <status>lunch \u{1F35C}</status><x xmlns='http://jabber.org/protocol/muc'><password>p&apos;w</password></x></presence>\
        <iq type='get' id='q1' from='carol@localhost/x' to='rooms.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>\
        <message to='r@rooms.localhost' from='d@localhost/y'><body><![CDATA[<not markup>]]></body></message>\
        </stream:stream>
        """

    static func parser(limits: XMLStreamLimits = XMLStreamLimits()) -> XMLStreamParser {
        XMLStreamParser(namespaceAliases: ["jabber:component:accept": "jabber:client"], limits: limits)
    }

    /// Parses one stanza given as text inside a fresh stream and returns it.
    static func element(_ xml: String) -> XMLElement? {
        let events = parser().feed(header + xml)
        for event in events {
            if case .element(let element) = event { return element }
        }
        return nil
    }

    static func feedInChunks(_ bytes: [UInt8], sizes: [Int], into parser: XMLStreamParser) -> [XMLStreamEvent] {
        var events: [XMLStreamEvent] = []
        var offset = 0
        var index = 0
        while offset < bytes.count {
            let size = max(1, sizes[index % sizes.count])
            let end = min(bytes.count, offset + size)
            events += parser.feed(bytes[offset..<end])
            offset = end
            index += 1
        }
        return events
    }
}
