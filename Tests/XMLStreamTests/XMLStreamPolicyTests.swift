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

    @Test("a stanza larger than the limit is a policy violation")
    func stanzaTooLarge() {
        let body = String(repeating: "x", count: 2000)
        let error = failure(after: "<message><body>\(body)</body></message>", limits: XMLStreamLimits(maxStanzaBytes: 1024))
        #expect(error == .stanzaTooLarge(limit: 1024))
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

    @Test("nesting deeper than the limit is a policy violation")
    func tooDeep() {
        let open = String(repeating: "<a>", count: 10)
        let close = String(repeating: "</a>", count: 10)
        #expect(failure(after: "<message>\(open)\(close)</message>", limits: XMLStreamLimits(maxDepth: 8)) == .tooDeep(limit: 8))
        #expect(failure(after: "<message>\(open)\(close)</message>", limits: XMLStreamLimits(maxDepth: 11)) == nil)
    }
}
