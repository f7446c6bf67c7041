import Testing
import XMLStream

@Suite("XMLStreamParser")
struct XMLStreamParserTests {
    @Test("a recorded stream yields header, each stanza and the close")
    func recordedStream() throws {
        let parser = StreamFixtures.parser()
        let events = parser.feed(StreamFixtures.recorded)
        #expect(parser.error == nil)
        #expect(events.count == 7)
        guard case .streamOpen(let header) = events.first else {
            Issue.record("first event is not the stream header")
            return
        }
        #expect(header.name == "stream")
        #expect(header.namespace == "http://etherx.jabber.org/streams")
        #expect(header.contentNamespace == "jabber:component:accept")
        #expect(header[attribute: "id"] == "abc123")
        #expect(events.last == .streamClose)

        guard case .element(let message) = events[2] else {
            Issue.record("third event is not the message")
            return
        }
        #expect(message.name == "message")
        #expect(message.namespace == "jabber:client", "the component namespace is reported as jabber:client")
        #expect(message[attribute: "xml:lang"] == "en")
        let body = try #require(message.child("body", namespace: "jabber:client"))
        #expect(body.text == "Caf\u{e9} & cr\u{e8}me <br> \u{1F600} \u{263A}")
        let item = message.child("x", namespace: "http://jabber.org/protocol/muc#user")?
            .child("item", namespace: "http://jabber.org/protocol/muc#user")
        #expect(item?[attribute: "affiliation"] == "member")

        guard case .element(let presence) = events[3] else {
            Issue.record("fourth event is not the presence")
            return
        }
        #expect(presence.child("status", namespace: "jabber:client")?.text == "lunch \u{1F35C}")
        #expect(presence.child("x", namespace: "http://jabber.org/protocol/muc")?
            .child("password", namespace: "http://jabber.org/protocol/muc")?.text == "p'w")

        guard case .element(let cdata) = events[5] else {
            Issue.record("sixth event is not the CDATA message")
            return
        }
        #expect(cdata.child("body", namespace: "jabber:client")?.text == "<not markup>")
    }

    @Test("every split point of the recorded stream gives the same events")
    func everySplitPoint() {
        let bytes = Array(StreamFixtures.recorded.utf8)
        let expected = StreamFixtures.parser().feed(bytes)
        for split in 1..<bytes.count {
            let parser = StreamFixtures.parser()
            let events = parser.feed(bytes[..<split]) + parser.feed(bytes[split...])
            #expect(parser.error == nil)
            if events != expected {
                Issue.record("split at byte \(split) gave different events")
                return
            }
        }
    }

    @Test("byte-at-a-time and uneven chunkings give the same events", arguments: [[1], [2, 3], [7], [4096], [13, 1, 64]])
    func chunkings(sizes: [Int]) {
        let bytes = Array(StreamFixtures.recorded.utf8)
        let expected = StreamFixtures.parser().feed(bytes)
        let parser = StreamFixtures.parser()
        #expect(StreamFixtures.feedInChunks(bytes, sizes: sizes, into: parser) == expected)
        #expect(parser.error == nil)
    }

    @Test("the header is reported as soon as it is complete")
    func headerAtOnce() {
        let parser = StreamFixtures.parser()
        let events = parser.feed(StreamFixtures.header)
        #expect(events.count == 1)
        if case .streamOpen = events.first {} else { Issue.record("no header event") }
    }

    @Test("whitespace keepalives between stanzas are not content and never hit the size limit")
    func keepalives() {
        let parser = StreamFixtures.parser(limits: XMLStreamLimits(maxStanzaBytes: 64))
        _ = parser.feed(StreamFixtures.header)
        for _ in 0..<1000 {
            #expect(parser.feed(" ").isEmpty)
        }
        let events = parser.feed("<message to='a@b' from='c@d'/>")
        #expect(parser.error == nil)
        #expect(events.count == 1)
    }

    @Test("attributes in foreign namespaces keep their namespace")
    func attributeNamespaces() {
        let element = StreamFixtures.element(
            "<message xmlns:e='urn:example' e:flag='1' xml:lang='de' plain='x' to='a@b' from='c@d'/>")
        #expect(element?[attribute: "{urn:example}flag"] == "1")
        #expect(element?[attribute: "xml:lang"] == "de")
        #expect(element?[attribute: "plain"] == "x")
    }
}
