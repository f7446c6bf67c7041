// libFuzzer entry point: bytes from a server's component stream in, stanzas and
// room effects out. Built by Fuzz/run-fuzzer.sh with `swiftc -sanitize=fuzzer,address`
// over XMLStream, XMPPCore and MUC (the parser, the typed stanzas and the rooms: what
// every byte from the server meets before any I/O). See Docs/security.md, "Fuzzing".
import MUC
import XMLStream
import XMPPCore

private let header = Array("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='rooms.localhost' id='fuzz'>".utf8)
private let roomJID = try! JID("fuzz@rooms.localhost")
private let owner = try! JID("owner@localhost/desk")

/// A fresh room each input, with its owner already in it, so that the stanzas reach
/// moderation, configuration and the rest rather than only entering.
private func populatedRoom(context: RoomContext) -> Room {
    var room = Room(jid: roomJID, affiliations: [owner.bare: .owner], occupantIDSalt: "salt")
    var join = XMLElement(
        "presence", namespace: Namespace.client,
        attributes: ["from": owner.description, "to": "fuzz@rooms.localhost/Owner"])
    join.append(XMLElement("x", namespace: MUCNamespace.muc))
    if let stanza = try? Stanza(parsing: join) { _ = room.handle(stanza, context: context) }
    return room
}

@_cdecl("LLVMFuzzerTestOneInput")
public func parleyFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var counter = 0
    var limits = RoomLimits()
    limits.messageBurst = 0  // the fuzzer's clock stands still: no rate limits
    let context = RoomContext(
        now: 1_800_000_000,
        makeStanzaID: { counter += 1; return "id\(counter)" },
        makeOccupantID: { salt, jid in salt + jid.description }, limits: limits)
    let parser = XMLStreamParser(
        namespaceAliases: [Namespace.componentAccept: Namespace.client],
        limits: XMLStreamLimits(maxStanzaBytes: 64 * 1024, maxDepth: 32))
    var room = populatedRoom(context: context)
    var events = parser.feed(header)
    // The first byte picks where the read is cut, as a socket would cut it.
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let cut = size > 1 ? Int(bytes[0]) % size : size
    events += parser.feed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[0..<cut]))
    events += parser.feed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[cut..<size]))
    var handled = 0
    for event in events {
        guard case .element(let element) = event, handled < 32 else { continue }
        handled += 1
        guard let stanza = try? Stanza(parsing: element) else { continue }
        let effects = room.handle(stanza, context: context)
        // Everything the room would send is serialized, as the link would.
        for output in effects.stanzas {
            _ = XMLSerializer.serialize(output, inheritedNamespace: Namespace.client)
        }
        for message in effects.archive {
            _ = XMLSerializer.serialize(message.stanza, inheritedNamespace: Namespace.client)
        }
    }
    return 0
}
