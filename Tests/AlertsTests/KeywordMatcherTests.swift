import Alerts
import Testing
import XMPPCore

@Suite("Keyword matching")
struct KeywordMatcherTests {
    func matcher(_ keywords: [String]) -> KeywordMatcher {
        let matcher = KeywordMatcher()
        for keyword in keywords {
            if let key = KeywordMatcher.key(for: keyword) { matcher.insert(key: key) }
        }
        return matcher
    }

    @Test("case- and diacritic-insensitive, on word boundaries")
    func boundaries() {
        let matcher = matcher(["ops", "Café", "ACME Corp", "release 2.0"])
        #expect(matcher.matches(in: "Ops team, please look") == ["ops"])
        #expect(matcher.matches(in: "the build stops here").isEmpty, "ops is not a word of stops")
        #expect(matcher.matches(in: "meet at the CAFE") == ["cafe"])
        #expect(matcher.matches(in: "Acme   corp\tsigned!") == ["acme corp"], "a phrase matches across runs of whitespace")
        #expect(matcher.matches(in: "acme corporation").isEmpty)
        #expect(matcher.matches(in: "is Release-2.0 out?") == ["release 2 0"])
        #expect(matcher.matches(in: "ops at the café for release 2.0") == ["ops", "cafe", "release 2 0"])
    }

    @Test("keys normalise keywords; keywords without words have none")
    func keys() {
        #expect(KeywordMatcher.key(for: "  Outage  ") == "outage")
        #expect(KeywordMatcher.key(for: "Straße") == "strasse")
        #expect(KeywordMatcher.key(for: "Über   Alles") == "uber alles")
        #expect(KeywordMatcher.key(for: "   ") == nil)
        #expect(KeywordMatcher.key(for: "?!") == nil)
    }

    @Test("removing a keyword keeps the others, including its prefixes")
    func removal() {
        let matcher = matcher(["release", "release 2.0", "release notes"])
        matcher.remove(key: "release 2 0")
        #expect(matcher.matches(in: "release 2.0 and release notes") == ["release", "release notes"])
        matcher.remove(key: "release")
        #expect(matcher.matches(in: "release 2.0 and release notes") == ["release notes"])
        #expect(matcher.count == 1)
    }

    @Test("the index gives each subscriber one entry with all their matches, skips the author, paused and other rooms")
    func index() throws {
        let index = KeywordIndex()
        let alice = try JID("alice@localhost")
        let bob = try JID("bob@localhost")
        let carol = try JID("carol@localhost")
        let lobby = try JID("lobby@rooms.localhost")
        let ops = try JID("ops@rooms.localhost")
        index.add(KeywordSubscription(subscriber: alice, keyword: "outage", key: "outage"))
        index.add(KeywordSubscription(subscriber: alice, keyword: "database", key: "database"))
        index.add(KeywordSubscription(subscriber: bob, keyword: "outage", key: "outage", rooms: [ops]))
        index.add(KeywordSubscription(subscriber: carol, keyword: "Outage", key: "outage", deliver: false))
        let found = index.candidates(room: lobby, body: "Database outage!", author: nil)
        #expect(found.map(\.subscriber) == [alice])
        #expect(found.first?.keywords.map(\.keyword) == ["database", "outage"])
        #expect(Set(index.candidates(room: ops, body: "outage", author: nil).map(\.subscriber)) == [alice, bob])
        #expect(index.candidates(room: ops, body: "outage", author: alice).map(\.subscriber) == [bob])
        index.remove(subscriber: alice, key: "outage")
        index.remove(subscriber: bob, key: "outage")
        index.remove(subscriber: carol, key: "outage")
        #expect(index.candidates(room: ops, body: "outage", author: nil).isEmpty)
        #expect(index.keywordCount == 1)
    }
}
