// Web logs benchmark (issue "Read the archive in a browser": a day page of 2,000 messages
// renders in ≤ 20 ms, a search over a 1,000,000-message archive answers in ≤ 50 ms).
// Generates one published room of N messages, P per UTC day (once; reused if present),
// then measures the site in-process: no sockets, the real store, read connections and pages.
// Usage: weblogs-bench DATABASE [MESSAGES] [PER_DAY]     (prints figures, asserts nothing)
import Foundation
import MUC
import NIOCore
import Storage
import WebLogs
import XMLStream
import XMPPCore

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: weblogs-bench DATABASE [MESSAGES] [PER_DAY]")
    exit(2)
}
let path = arguments[1]
let total = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let perDay = arguments.count > 3 ? Int(arguments[3]) ?? 2000 : 2000
let room = try! JID("bench@rooms.localhost")
let service = try! JID("rooms.localhost")
let dayLength = 86_400.0 / Double(perDay)
// Day 20,000 (2024-10-04) onwards: whole days, so that each holds exactly PER_DAY messages.
let firstDay = 20_000.0 * 86_400

let words = ("the release build deploy outage meeting review please thanks tomorrow today server client "
    + "database backup restore monitoring alert latency throughput customer ticket sprint roadmap design "
    + "café naïve résumé über straße https://example.org/notes <script> & \"quoted\"").split(separator: " ").map(String.init)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func measure(_ label: String, runs: Int = 20, _ body: () async throws -> Int) async rethrows {
    var times: [Double] = []
    var size = 0
    for _ in 0..<runs {
        let start = ContinuousClock.now
        size = try await body()
        times.append(seconds(ContinuousClock.now - start) * 1000)
    }
    times.sort()
    let median = times[times.count / 2]
    let p95 = times[min(times.count - 1, Int(Double(times.count) * 0.95))]
    print(String(format: "%-52@ median %8.2f ms   p95 %8.2f ms   (%d)", label as NSString, median, p95, size))
}

let fresh = !FileManager.default.fileExists(atPath: path)
let store = try SQLiteRoomStore(path: path)
if fresh {
    print("generating \(total) messages, \(perDay) a day, in \(room)…")
    var generator = SystemRandomNumberGenerator()
    let start = ContinuousClock.now
    var configuration = RoomConfiguration()
    configuration.name = "Benchmark room"
    configuration.webLogs = true
    try await store.saveRoom(RoomRecord(room: Room(jid: room, configuration: configuration, occupantIDSalt: "bench"), created: firstDay))
    var batch: [ArchivedMessage] = []
    batch.reserveCapacity(5000)
    for index in 0..<total {
        var body = (0..<Int.random(in: 4...24, using: &generator)).map { _ in words.randomElement(using: &generator)! }
            .joined(separator: " ")
        if index % 10_007 == 0 { body += " zanzibar" }  // a rare word: about 100 messages in a million
        if index % 50 == 0 { body = "/me " + body }
        let nick = "user\(index % 37)"
        var stanza = XMLElement(
            "message", namespace: Namespace.client, attributes: ["from": "\(room)/\(nick)", "type": "groupchat", "id": "m\(index)"])
        stanza.append(XMLElement("body", namespace: Namespace.client, text: body))
        batch.append(ArchivedMessage(
            stanzaID: "s\(index)", room: room, timestamp: firstDay + Double(index) * dayLength, nick: nick,
            senderJID: try! JID("\(nick)@localhost"), body: body, stanza: stanza))
        if batch.count == 5000 {
            try await store.append(batch, occupancy: [])
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await store.append(batch, occupancy: [])
    let elapsed = seconds(ContinuousClock.now - start)
    print(String(format: "generated in %.1f s (%.0f messages/s)", elapsed, Double(total) / elapsed))
}

let days = (total + perDay - 1) / perDay
let lastTime = firstDay + Double(total) * dayLength
let readers = try ArchiveReaders(path: path, count: 2, budget: 5)
func site(cacheBytes: Int = 64 << 20) -> WebLogSite {
    WebLogSite(
        settings: .init(service: service, policy: WebLogsPolicy(isEnabled: true), searchesPerMinute: 0, cacheBytes: cacheBytes),
        published: store.published, readers: readers, occupants: { _ in [:] }, now: { lastTime + 86_400 })
}
func day(_ number: Int) -> String { UTCDate(WebLogDay(number: 20_000 + number)).text }
func get(_ site: WebLogSite, _ path: String) async -> Int {
    let parts = path.split(separator: "?", maxSplits: 1)
    let response = await site.respond(to: WebRequest(
        path: parts[0], query: WebRequest.parseQuery(parts.count > 1 ? String(parts[1]) : "")))
    precondition(response.status == 200, "\(path): \(response.status)")
    return response.body.readableBytes
}

print("archive: \(total) messages in one published room, \(perDay) a day, \(days) days")
let uncached = site(cacheBytes: 0)
var next = 0
await measure("day page, \(perDay) messages: read + render (no cache)") {
    next += 1
    return await get(uncached, "/bench/\(day(next % (days - 1)))")
}
let entries = try await readers.connection.webLogEntries(room, on: WebLogDay(number: 20_001), limit: 20_000)
let pages = WebLogPages(base: "/logs", service: service)
let published = store.published.room(room)!
await measure("day page, \(perDay) messages: render only") {
    pages.day(published, day: WebLogDay(number: 20_001), entries: entries, previous: nil, next: nil).utf8.count
}
await measure("day page, \(perDay) messages: read only") {
    try! await readers.connection.webLogEntries(room, on: WebLogDay(number: 20_002), limit: 20_000).count
}
let cached = site()
_ = await get(cached, "/bench/\(day(3))")
await measure("day page, \(perDay) messages: from the cache", runs: 200) { await get(cached, "/bench/\(day(3))") }
await measure("calendar, \(days) days (no cache)") { await get(uncached, "/bench/") }
await measure("JSON Lines of a day (no cache)") { await get(uncached, "/bench/\(day(5)).jsonl") }
for (label, query) in [("rare word 'zanzibar' (~100 hits)", "zanzibar"), ("common word 'deploy' (~1 in 2 messages)", "deploy"),
                       ("two words 'backup restore'", "backup+restore"), ("accent-free 'resume' for 'résumé'", "resume"),
                       ("no hit 'kubernetes'", "kubernetes")] {
    await measure("search, \(label)") { await get(uncached, "/bench/search?q=\(query)") }
}
await measure("search, 'deploy', page 100 (before= an old hit)") {
    await get(uncached, "/bench/search?q=deploy&before=\(total / 2)")
}
