// Inbox benchmark (issue: 200 followed rooms answer in ≤ 20 ms in-process),
// and the cost on the fan-out path of 1,000 followers of one room.
// Usage: inbox-bench DATABASE [ROOMS] [MESSAGES_PER_ROOM]
import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: inbox-bench DATABASE [ROOMS] [MESSAGES_PER_ROOM]")
    exit(2)
}
let path = arguments[1]
let roomCount = arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000
let perRoom = arguments.count > 3 ? Int(arguments[3]) ?? 1000 : 1000
let rooms = (0..<roomCount).map { try! JID("inbox\($0)@rooms.localhost") }
let reader = try JID("reader@localhost")
let fresh = !FileManager.default.fileExists(atPath: path)
let store = try SQLiteRoomStore(path: path)
let now = Date().timeIntervalSince1970

if fresh && perRoom > 10_000 {
    // Large archives are generated in SQL: the inbox never reads the full-text
    // index, so its insert trigger is left out here to save most of the time.
    print("generating \(roomCount) rooms × \(perRoom) messages in bulk (no full-text index)…")
    let start = ContinuousClock.now
    let database = try SQLiteDatabase(path: path)
    try database.execute("DROP TRIGGER archive_fts_insert")
    for (index, room) in rooms.enumerated() {
        try await store.saveRoom(RoomRecord(
            jid: room, configuration: RoomConfiguration(), affiliations: [:], registeredNicks: [:], subject: nil,
            subscribers: [reader: RoomSubscriber(nick: "Reader", nodes: [MucSubNode.messages])],
            occupantIDSalt: "s", created: 0))
        let stanzaSQL = "'<message xmlns=''jabber:client'' from=''\(room)/user' || (i % 23) || ''' type=''groupchat''><body>status update ' || i || '</body></message>'"
        try database.transaction { () throws(StorageError) in
            try database.execute("""
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(perRoom - 1))
                INSERT INTO archive (room, stanza_id, timestamp, nick, sender_jid, body, stanza, room_ordinal)
                SELECT '\(room)', '\(index)-' || i, \(now) - (\(perRoom) - i) * 10, 'user' || (i % 23),
                       'user' || (i % 23) || '@localhost', 'status update ' || i, \(stanzaSQL), i + 1
                FROM n;
                INSERT OR REPLACE INTO room_activity (room, nick, last_time)
                    SELECT room, nick, max(timestamp) FROM archive WHERE room = '\(room)' GROUP BY nick;
                INSERT INTO mentions (room, user, seq)
                    SELECT room, 'reader@localhost', seq FROM archive WHERE room = '\(room)' AND room_ordinal % 50 = 0;
                """)
        }
        _ = try await store.markRead(room, user: reader, upTo: "\(index)-\(perRoom / 2)")
    }
    print(String(format: "generated in %.1f s", seconds(ContinuousClock.now - start)))
} else if fresh {
    print("generating \(roomCount) rooms × \(perRoom) messages…")
    let start = ContinuousClock.now
    for (index, room) in rooms.enumerated() {
        try await store.saveRoom(RoomRecord(
            jid: room, configuration: RoomConfiguration(), affiliations: [:], registeredNicks: [:], subject: nil,
            subscribers: [reader: RoomSubscriber(nick: "Reader", nodes: [MucSubNode.messages])],
            occupantIDSalt: "s", created: 0))
        var batch: [ArchivedMessage] = []
        for number in 0..<perRoom {
            let nick = "user\(number % 23)"
            let body = number % 50 == 0 ? "ping Reader, look at this" : "status update number \(number) for room \(index)"
            var stanza = XMLElement("message", namespace: Namespace.client, attributes: ["from": "\(room)/\(nick)", "type": "groupchat"])
            stanza.append(XMLElement("body", namespace: Namespace.client, text: body))
            batch.append(ArchivedMessage(
                stanzaID: "\(index)-\(number)", room: room, timestamp: now - Double(perRoom - number) * 10, nick: nick,
                senderJID: try JID("\(nick)@localhost"), body: body, stanza: stanza))
        }
        try await store.append(batch)
        // The reader has read half of each room.
        _ = try await store.markRead(room, user: reader, upTo: "\(index)-\(perRoom / 2)")
    }
    print(String(format: "generated in %.1f s", seconds(ContinuousClock.now - start)))
}

// Inboxes of 10, 200 and 1,000 followed rooms: the reader follows them all, so
// smaller inboxes use other readers that follow a prefix.
for follows in [10, 200, 1000] where follows <= roomCount {
    let user = try JID("reader\(follows)@localhost")
    for room in rooms.prefix(follows) {
        guard var record = try await store.loadRoom(room) else { continue }
        if record.subscribers[user] == nil {
            record.subscribers[user] = RoomSubscriber(nick: "Reader", nodes: [MucSubNode.messages])
            try await store.saveRoom(record)
            _ = try await store.markRead(room, user: user, upTo: "\(rooms.firstIndex(of: room)!)-\(perRoom / 2)")
        }
    }
    var times: [Double] = []
    var unread = 0
    for _ in 0..<15 {
        let start = ContinuousClock.now
        let inbox = try await store.inbox(of: user, now: now)
        times.append(seconds(ContinuousClock.now - start) * 1000)
        unread = inbox.reduce(0) { $0 + $1.unread }
    }
    times.sort()
    print(String(format: "inbox of %4d followed rooms (%d messages each): median %7.2f ms, p95 %7.2f ms (%d unread)",
                 follows, perRoom, times[times.count / 2], times[min(times.count - 1, times.count * 95 / 100)], unread))
}

// The fan-out path: a groupchat message in a room of 20 occupants, with 0 and 1,000 followers not in the room.
func fanOut(followers: Int) -> Double {
    var subscribers: [JID: RoomSubscriber] = [:]
    for number in 0..<followers {
        subscribers[try! JID("follower\(number)@localhost")] = RoomSubscriber(nick: "f\(number)", nodes: [MucSubNode.messages])
    }
    var room = Room(jid: try! JID("busy@rooms.localhost"), subscribers: subscribers, occupantIDSalt: "s")
    var counter = 0
    let context = RoomContext(
        now: now, makeStanzaID: { counter += 1; return "id\(counter)" }, makeOccupantID: { salt, jid in salt + jid.description })
    func stanza(_ xml: String) -> Stanza { try! Stanza(parsing: XMLStreamParser.parseElement(xml)!) }
    for user in 0..<20 {
        _ = room.handle(stanza("<presence xmlns='jabber:client' from='u\(user)@localhost/r' to='busy@rooms.localhost/u\(user)'/>"), context: context)
    }
    let message = stanza("<message xmlns='jabber:client' from='u1@localhost/r' to='busy@rooms.localhost' type='groupchat'><body>hello everyone</body></message>")
    let start = ContinuousClock.now
    var sent = 0
    for _ in 0..<500 { sent += room.handle(message, context: context).stanzas.count }
    let elapsed = seconds(ContinuousClock.now - start)
    precondition(sent == 500 * (20 + followers))
    return elapsed / 500 * 1_000_000
}
let base = fanOut(followers: 0)
let followed = fanOut(followers: 1000)
print(String(format: "one groupchat message, 20 occupants: %.0f µs; with 1,000 followers: %.0f µs (%.1f µs per follower delivery)",
             base, followed, (followed - base) / 1000))
