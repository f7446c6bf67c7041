import Testing
import XMLStream

@Suite("Restricted XML and limits (RFC 6120 §11)")
struct XMLStreamPolicyTests {
    private func failure(after xml: String, limits: XMLStreamLimits = XMLStreamLimits()) -> XMLStreamError? {
        let parser = StreamFixtures.parser(limits: limits)
        _ = parser.feed(StreamFixtures.header + xml)
        return parser.error
    }

    private func isRestricted(_ error: XMLStreamError?) -> Bool {
        if case .restrictedXML = error { return true }
        return false
    }

    @Test("a comment is restricted")
    func comment() {
        #expect(isRestricted(failure(after: "<message to='a@b'><!-- hi --></message>")))
    }

    @Test("a processing instruction is restricted")
    func processingInstruction() {
        #expect(isRestricted(failure(after: "<?php echo 1; ?>")))
    }

    @Test("a document type declaration is restricted, before any entity can expand")
    func doctype() {
        let parser = StreamFixtures.parser()
        _ = parser.feed(
            "<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]>"
                + "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>")
        #expect(isRestricted(parser.error))
    }

    @Test("an entity reference other than the predefined five is restricted")
    func undefinedEntity() {
        #expect(isRestricted(failure(after: "<message to='a@b'><body>&nbsp;</body></message>")))
    }

    @Test("the predefined entities and character references are fine")
    func predefinedEntities() {
        let element = StreamFixtures.element("<message><body>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;</body></message>")
        #expect(element?.child("body", namespace: "jabber:client")?.text == "<>&'\"AB")
    }

    @Test("an encoding other than UTF-8 is refused")
    func encoding() {
        let parser = StreamFixtures.parser()
        _ = parser.feed("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>")
        if case .unsupportedEncoding = parser.error {} else { Issue.record("got \(String(describing: parser.error))") }
    }

    @Test("a root element other than stream:stream is an invalid namespace")
    func wrongRoot() {
        let parser = StreamFixtures.parser()
        _ = parser.feed("<stream xmlns='jabber:client'>")
        if case .invalidNamespace = parser.error {} else { Issue.record("got \(String(describing: parser.error))") }
    }

    @Test("broken XML is not well-formed, and the stanzas before it are still delivered")
    func notWellFormed() {
        let parser = StreamFixtures.parser()
        let events = parser.feed(StreamFixtures.header + "<message to='a@b'/><message><body></message>")
        if case .notWellFormed = parser.error {} else { Issue.record("got \(String(describing: parser.error))") }
        #expect(events.count == 2)
        // The error is sticky: later input is ignored.
        #expect(parser.feed("<message/>").isEmpty)
    }

    @Test("an unbound prefix is not well-formed")
    func unboundPrefix() {
        if case .notWellFormed = failure(after: "<foo:message/>") {} else { Issue.record("unbound prefix accepted") }
    }

    @Test("a stanza larger than the limit is skipped and reported, and the stream goes on")
    func stanzaTooLarge() throws {
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxStanzaBytes: 1024))
        _ = parser.feed(StreamFixtures.header)
        let body = String(repeating: "x", count: 2000)
        let events = parser.feed(
            "<message from='a@b/c' to='r@rooms.b' id='big' type='groupchat' extra='dropped'><body>\(body)</body>"
                + "<x xmlns='urn:x'><y/></x></message><message to='r@rooms.b' from='a@b/c' id='next'/>")
        #expect(parser.error == nil)
        #expect(events.count == 2)
        let shell = XMLElement(
            "message", namespace: "jabber:client",
            attributes: ["from": "a@b/c", "to": "r@rooms.b", "id": "big", "type": "groupchat"])
        #expect(events.first == .rejected(shell, reason: .stanzaTooLarge(limit: 1024)))
        guard case .element(let next) = events.last else {
            Issue.record("the stanza after the rejected one was lost")
            return
        }
        #expect(next[attribute: "id"] == "next")
    }

    @Test("a stanza of any size is skipped in constant memory")
    func hugeStanzaSkipped() {
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxStanzaBytes: 4096))
        _ = parser.feed(StreamFixtures.header + "<message from='a@b/c' to='r@b'><body>")
        let chunk = String(repeating: "z", count: 4096)
        for _ in 0..<2500 {  // 10 MB of body
            #expect(parser.feed(chunk).isEmpty)
        }
        let events = parser.feed("</body></message><iq type='get' id='1'/>")
        #expect(parser.error == nil)
        #expect(events.count == 2)
        if case .rejected(let shell, .stanzaTooLarge) = events.first {
            #expect(shell.children.isEmpty)
        } else {
            Issue.record("got \(events)")
        }
    }

    @Test("a huge start tag is stopped without being buffered whole")
    func hugeStartTag() {
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxStanzaBytes: 4096))
        _ = parser.feed(StreamFixtures.header + "<message to='")
        let chunk = String(repeating: "a", count: 1024)
        var fed = 0
        while parser.error == nil && fed < 1_000_000 {
            _ = parser.feed(chunk)
            fed += chunk.utf8.count
        }
        #expect(parser.error == .stanzaTooLarge(limit: 4096))
        #expect(fed <= 8192)
    }

    @Test("a stanza just under the limit passes, and the limit applies to each stanza separately")
    func limitIsPerStanza() {
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxStanzaBytes: 1024))
        _ = parser.feed(StreamFixtures.header)
        let stanza = "<message><body>" + String(repeating: "y", count: 900) + "</body></message>"
        for _ in 0..<20 {
            #expect(parser.feed(stanza).count == 1)
        }
        #expect(parser.error == nil)
    }

    @Test("nesting deeper than the limit is skipped and reported; the limit itself is fine")
    func tooDeep() {
        let open = String(repeating: "<a>", count: 10)
        let close = String(repeating: "</a>", count: 10)
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxDepth: 8))
        _ = parser.feed(StreamFixtures.header)
        let events = parser.feed("<iq id='deep' type='get'>\(open)\(close)</iq><iq id='ok' type='get'/>")
        #expect(parser.error == nil)
        #expect(events.count == 2)
        let shell = XMLElement("iq", namespace: "jabber:client", attributes: ["id": "deep", "type": "get"])
        #expect(events.first == .rejected(shell, reason: .tooDeep(limit: 8)))
        #expect(failure(after: "<message>\(open)\(close)</message>", limits: XMLStreamLimits(maxDepth: 11)) == nil)
        // Exactly at the limit: the stanza (depth 1) plus 7 nested elements.
        let atLimit = StreamFixtures.parser(limits: XMLStreamLimits(maxDepth: 8))
        let allowed = atLimit.feed(StreamFixtures.header + "<iq>" + String(repeating: "<a>", count: 7)
            + String(repeating: "</a>", count: 7) + "</iq>")
        if case .element = allowed.last {} else { Issue.record("depth 8 was refused: \(allowed)") }
    }
}
