// Archive benchmark (issue: last page ≤ 5 ms, full-text ≤ 25 ms in-process).
// Generates an archive of N messages across R rooms (once; reused if present),
// then measures MAM queries and the export through the real store.
// Usage: archive-bench DATABASE [MESSAGES] [ROOMS]
import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: archive-bench DATABASE [MESSAGES] [ROOMS]")
    exit(2)
}
let path = arguments[1]
let total = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let roomCount = arguments.count > 3 ? Int(arguments[3]) ?? 100 : 100
let rooms = (0..<roomCount).map { try! JID("room\($0)@rooms.localhost") }

let words = ("the release build deploy outage meeting review please thanks tomorrow today server client "
    + "database backup restore monitoring alert latency throughput customer ticket sprint roadmap design "
    + "café naïve résumé über straße").split(separator: " ").map(String.init)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func measure(_ label: String, runs: Int = 20, _ body: () async throws -> Int) async rethrows {
    var times: [Double] = []
    var items = 0
    for _ in 0..<runs {
        let start = ContinuousClock.now
        items = try await body()
        times.append(seconds(ContinuousClock.now - start) * 1000)
    }
    times.sort()
    let median = times[times.count / 2]
    let p95 = times[min(times.count - 1, Int(Double(times.count) * 0.95))]
    print(String(format: "%-44@ median %8.2f ms   p95 %8.2f ms   (%d results)", label as NSString, median, p95, items))
}

let fresh = !FileManager.default.fileExists(atPath: path)
let store = try SQLiteRoomStore(path: path)
if fresh {
    print("generating \(total) messages in \(roomCount) rooms…")
    var generator = SystemRandomNumberGenerator()
    let start = ContinuousClock.now
    var batch: [ArchivedMessage] = []
    batch.reserveCapacity(5000)
    let base = Date().timeIntervalSince1970 - Double(total)
    for index in 0..<total {
        let room = rooms[index % roomCount]
        var body = (0..<Int.random(in: 4...24, using: &generator)).map { _ in words.randomElement(using: &generator)! }
            .joined(separator: " ")
        if index % 10_007 == 0 { body += " zanzibar" }  // a rare word: about one message per room
        let nick = "user\(index % 37)"
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": "\(room)/\(nick)", "type": "groupchat", "id": "m\(index)"])
        stanza.append(XMLElement("body", namespace: Namespace.client, text: body))
        stanza.append(XMLElement("stanza-id", namespace: Namespace.stanzaID, attributes: ["id": "s\(index)", "by": room.description]))
        batch.append(ArchivedMessage(
            stanzaID: "s\(index)", room: room, timestamp: base + Double(index), nick: nick,
            senderJID: try! JID("\(nick)@localhost"), body: body, stanza: stanza))
        if batch.count == 5000 {
            try await store.append(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await store.append(batch)
    // Persistent, public rooms own these archives: a service started on this database keeps
    // them (an archive without its room is an ended room's, and is put aside at start).
    for room in rooms {
        try await store.saveRoom(RoomRecord(room: Room(jid: room, occupantIDSalt: "bench"), created: base))
    }
    let elapsed = seconds(ContinuousClock.now - start)
    print(String(format: "generated in %.1f s (%.0f messages/s, each its own row, FTS indexed)", elapsed, Double(total) / elapsed))
}

let room = rooms[roomCount / 2]
print("archive: \(path), \(total) messages, \(roomCount) rooms; queries on \(room)")
try await measure("MAM last page of 50 (<before/>)") {
    try await store.query(room, ArchiveQuery(page: RSMRequest(max: 50, anchor: .lastPage))).messages.count
}
try await measure("MAM first page of 50") {
    try await store.query(room, ArchiveQuery(page: RSMRequest(max: 50))).messages.count
}
let middle = try await store.query(room, ArchiveQuery(page: RSMRequest(max: 1, index: total / roomCount / 2))).messages.first?.stanzaID ?? "s0"
try await measure("MAM page of 50 after an id in the middle") {
    try await store.query(room, ArchiveQuery(page: RSMRequest(max: 50, anchor: .after(middle)))).messages.count
}
try await measure("full-text, rare word (last page)") {
    try await store.query(room, ArchiveQuery(fulltext: "zanzibar", page: RSMRequest(max: 50, anchor: .lastPage))).messages.count
}
try await measure("full-text, common word (last page)") {
    try await store.query(room, ArchiveQuery(fulltext: "release", page: RSMRequest(max: 50, anchor: .lastPage))).messages.count
}
try await measure("full-text, two common words (last page)") {
    try await store.query(room, ArchiveQuery(fulltext: "server cafe", page: RSMRequest(max: 50, anchor: .lastPage))).messages.count
}
try await measure("history on join (20)") {
    try await store.history(of: room, HistoryRequest(maxStanzas: 20)).count
}
let reader = try ArchiveReader(path: path)
let exportStart = ContinuousClock.now
var exported = 0
var bytes = 0
try reader.export(room: room) { record in
    exported += 1
    bytes += record.stanza.utf8.count + record.body.utf8.count
}
let exportSeconds = seconds(ContinuousClock.now - exportStart)
print(String(format: "export of one room: %d messages in %.3f s = %.0f messages/s", exported, exportSeconds, Double(exported) / exportSeconds))
