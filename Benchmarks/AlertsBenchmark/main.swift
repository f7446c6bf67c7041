// Keyword alert benchmark (issue: ≥ 200,000 messages/s at 100,000 keywords on
// one core; ≤ 10 % fan-out throughput loss with 10,000 keywords subscribed).
// Usage: alerts-bench
import Alerts
import Foundation
import Logging
import MUC
import Service
import Storage
import XMLStream
import XMPPCore

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

var generator = SystemRandomNumberGenerator()
// A vocabulary of 50,000 made-up words plus common English ones: keywords are
// drawn from the made-up words and the common ones, bodies mostly from common words.
let syllables = ["ka", "lo", "mi", "ne", "ro", "ta", "vu", "zi", "pe", "do", "sa", "fi", "gu", "ha", "je", "xo"]
var rare = Set<String>()
while rare.count < 50_000 {
    rare.insert((0..<Int.random(in: 2...4, using: &generator)).map { _ in syllables.randomElement(using: &generator)! }.joined())
}
let rareWords = Array(rare)
let common = ("the a to of and in is it you that he was for on are with as his they be at one have this from or had by "
    + "deploy release outage server client database backup please review build test fix bug meeting tomorrow today "
    + "customer ticket latency error warning alert migration schema index query cache network disk memory cpu").split(separator: " ").map(String.init)

func body() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<Int.random(in: 8...30, using: &generator)).map { _ in
        Int.random(in: 0..<100, using: &generator) < 97 ? common.randomElement(using: &generator)! : rareWords.randomElement(using: &generator)!
    }.joined(separator: " ")
}

let bodies = (0..<20_000).map { _ in body() }
let lobby = try JID("lobby@rooms.localhost")

print("keyword matching, one core, \(bodies.count) realistic bodies (8–30 words)")
for keywordCount in [100, 10_000, 100_000] {
    let index = KeywordIndex()
    for number in 0..<keywordCount {
        // Mostly single words, some two-word phrases; a few common words so that matches happen.
        let keyword = number % 10 == 0 ? "\(rareWords[number % rareWords.count]) \(common.randomElement(using: &generator)!)"
            : number % 1000 == 1 ? common[number % common.count] : rareWords[number % rareWords.count]
        let key = KeywordMatcher.key(for: keyword)!
        index.add(KeywordSubscription(subscriber: try JID("user\(number % 5000)@localhost"), keyword: keyword, key: key))
    }
    // The matcher alone: normalise and walk the trie.
    let matcher = KeywordMatcher()
    for number in 0..<keywordCount {
        let keyword = number % 10 == 0 ? "\(rareWords[number % rareWords.count]) \(common[number % common.count])"
            : rareWords[number % rareWords.count]
        matcher.insert(key: KeywordMatcher.key(for: keyword)!)
    }
    var hits = 0
    let matchStart = ContinuousClock.now
    var matchRounds = 0
    while seconds(ContinuousClock.now - matchStart) < 2 {
        for text in bodies { hits += matcher.matches(in: text).count }
        matchRounds += 1
    }
    let matchElapsed = seconds(ContinuousClock.now - matchStart)
    print(String(format: "  %7d keywords, matcher alone:          %9.0f messages/s  (%.2f matches per message)",
                 keywordCount, Double(matchRounds * bodies.count) / matchElapsed, Double(hits) / Double(matchRounds * bodies.count)))

    var matched = 0
    let start = ContinuousClock.now
    var rounds = 0
    while seconds(ContinuousClock.now - start) < 2 {
        for text in bodies { matched += index.candidates(room: lobby, body: text, author: nil).count }
        rounds += 1
    }
    let elapsed = seconds(ContinuousClock.now - start)
    print(String(format: "  %7d keywords (%6d distinct), with subscribers: %9.0f messages/s  (%.2f alerted users per message)",
                 keywordCount, index.keywordCount, Double(rounds * bodies.count) / elapsed,
                 Double(matched) / Double(rounds * bodies.count)))
}

// The fan-out path: a room of 50 occupants, groupchat through the room host
// with the archive in memory, without alerts and with 10,000 keywords subscribed.
func fanOut(keywords: Int) async throws -> Double {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let store = InMemoryRoomStore()
    let alerts = AlertService(store: store, maxKeywordsPerUser: 100_000)
    for number in 0..<keywords {
        _ = try await alerts.subscribe(
            try JID("watcher\(number % 1000)@localhost"), keyword: rareWords[number % rareWords.count] + (number % 997 == 0 ? "" : ""),
            rooms: nil, deliver: true)
    }
    let host = RoomHost(domain: try JID("rooms.localhost"), store: store, alerts: keywords > 0 ? alerts : nil, logger: logger)
    func stanza(_ xml: String) -> Stanza {
        try! Stanza(parsing: XMLStreamParser.parseElement(xml)!)
    }
    _ = await host.handle(stanza("<presence xmlns='jabber:client' from='u0@localhost/r' to='lobby@rooms.localhost/u0'><x xmlns='http://jabber.org/protocol/muc'/></presence>"))
    _ = await host.handle(stanza("<iq xmlns='jabber:client' from='u0@localhost/r' to='lobby@rooms.localhost' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"))
    for user in 1..<50 {
        _ = await host.handle(stanza("<presence xmlns='jabber:client' from='u\(user)@localhost/r' to='lobby@rooms.localhost/u\(user)'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>"))
    }
    let messages = (0..<3000).map { number in
        stanza("<message xmlns='jabber:client' from='u\(number % 50)@localhost/r' to='lobby@rooms.localhost' type='groupchat' id='m\(number)'><body>\(XMLSerializer.escaped(bodies[number % bodies.count]))</body></message>")
    }
    let start = ContinuousClock.now
    var delivered = 0
    for message in messages { delivered += await host.handle(message).reduce(0) { $0 + $1.deliveries } }
    let elapsed = seconds(ContinuousClock.now - start)
    precondition(delivered >= messages.count * 50)
    return Double(messages.count) / elapsed
}

print("fan-out through the room host (50 occupants, archive in memory), messages/s")
var without: [Double] = []
var with: [Double] = []
for _ in 0..<3 {
    without.append(try await fanOut(keywords: 0))
    with.append(try await fanOut(keywords: 10_000))
}
let best = (without.max() ?? 0, with.max() ?? 0)
print(String(format: "  no alerts: %8.0f   10,000 keywords: %8.0f   loss: %.1f %% (best of 3 each)",
             best.0, best.1, (1 - best.1 / best.0) * 100))
