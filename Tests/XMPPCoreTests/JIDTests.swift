import Testing
import XMPPCore

@Suite("JID (RFC 7622)")
struct JIDTests {
    @Test("parts are split at the first '/' and the '@' before it")
    func parts() throws {
        let jid = try JID("Room@Rooms.Example.ORG/Nick/With@Slash")
        #expect(jid.localpart == "room")
        #expect(jid.domainpart == "rooms.example.org")
        #expect(jid.resourcepart == "Nick/With@Slash")
        #expect(jid.bare.description == "room@rooms.example.org")
        #expect(jid.description == "room@rooms.example.org/Nick/With@Slash")
    }

    @Test("localpart and domain are case-insensitive, the resource is not")
    func caseRules() throws {
        #expect(try JID("ALICE@LocalHost/Phone") == JID("alice@localhost/Phone"))
        #expect(try JID("alice@localhost/Phone") != JID("alice@localhost/phone"))
    }

    @Test("Unicode is normalised to NFC and case-folded where the RFC says")
    func unicode() throws {
        // "é" precomposed vs. "e" + combining acute.
        #expect(try JID("caf\u{e9}@example.org") == JID("cafe\u{301}@example.org"))
        #expect(try JID("\u{c9}LISE@example.org").localpart == "\u{e9}lise")
        #expect(try JID("r@example.org/Ren\u{e9}e") == JID("r@example.org/Rene\u{301}e"))
    }

    @Test("a trailing dot on the domain is dropped")
    func trailingDot() throws {
        #expect(try JID("example.org.") == JID("example.org"))
    }

    @Test(
        "malformed JIDs are rejected with a reason",
        arguments: [
            ("", JIDError.empty),
            ("@example.org", .emptyLocalpart),
            ("user@", .emptyDomain),
            ("user@example.org/", .emptyResource),
            ("us er@example.org", .forbiddenCharacter(part: "localpart", character: " ")),
            ("us\"er@example.org", .forbiddenCharacter(part: "localpart", character: "\"")),
            ("a:b@example.org", .forbiddenCharacter(part: "localpart", character: ":")),
            ("user@exa mple.org", .forbiddenCharacter(part: "domainpart", character: " ")),
            ("user@example..org", .invalidDomainLabel("")),
            ("user@-example.org", .invalidDomainLabel("-example")),
            ("r@example.org/a\u{7}b", .forbiddenCharacter(part: "resourcepart", character: "\u{7}")),
        ])
    func malformed(input: String, expected: JIDError) {
        #expect(throws: expected) { try JID(input) }
    }

    @Test("each part is limited to 1023 bytes")
    func lengthLimits() throws {
        let long = String(repeating: "a", count: 1024)
        #expect(throws: JIDError.tooLong(part: "localpart", limit: 1023)) { try JID("\(long)@example.org") }
        #expect(throws: JIDError.tooLong(part: "resourcepart", limit: 1023)) { try JID("a@example.org/\(long)") }
        _ = try JID(String(repeating: "a", count: 1023) + "@example.org")
    }

    @Test("a resource can be added to a bare JID, and is checked")
    func withResource() throws {
        let room = try JID("room@rooms.localhost")
        #expect(try room.withResource("Nick").description == "room@rooms.localhost/Nick")
        #expect(throws: JIDError.emptyResource) { try room.withResource("") }
    }

    @Test("IPv6 literals are domains")
    func ipv6() throws {
        #expect(try JID("user@[::1]").domainpart == "[::1]")
    }
}
