// Hibernation benchmark (issue: after a restart with 10,000 persistent rooms,
// memory does not grow with the number of rooms until they are used).
// Usage: rooms-bench DATABASE [ROOMS]
import Foundation
import Logging
import MUC
import Service
import Storage
import XMLStream
import XMPPCore

func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
    return -1
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: rooms-bench DATABASE [ROOMS]")
    exit(2)
}
let path = arguments[1]
let count = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
let fresh = !FileManager.default.fileExists(atPath: path)
do {
    let seeding = try SQLiteRoomStore(path: path)
    if fresh {
        print("creating \(count) persistent rooms…")
        for number in 0..<count {
            var configuration = RoomConfiguration()
            configuration.name = "Room \(number)"
            configuration.description = "A persistent room for topic \(number)"
            try await seeding.saveRoom(RoomRecord(
                jid: try JID("room\(number)@rooms.localhost"), configuration: configuration,
                affiliations: [try JID("owner\(number % 100)@localhost"): .owner, try JID("member\(number % 300)@localhost"): .member],
                registeredNicks: [:], subject: RoomSubject(text: "Subject of room \(number)", nick: "o", date: 0),
                occupantIDSalt: "salt\(number)", created: 0))
        }
    }
}

var logger = Logger(label: "bench")
logger.logLevel = .critical
let before = residentKiB()
let store = try SQLiteRoomStore(path: path)
let host = RoomHost(domain: try JID("rooms.localhost"), store: store, logger: logger)
let started = residentKiB()
print("resident memory: before opening \(before) KiB; service started over \(count) rooms: \(started) KiB; rooms in memory: \(await host.loadedRoomCount)")

func stanza(_ xml: String) -> Stanza { try! Stanza(parsing: XMLStreamParser.parseElement(xml)!) }

// Every room is asked for its disco#info once: each wakes up, answers, and goes back to sleep.
let start = ContinuousClock.now
for number in 0..<count {
    let reply = await host.handle(stanza(
        "<iq xmlns='jabber:client' from='visitor@localhost/x' to='room\(number)@rooms.localhost' type='get' id='d\(number)'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))
    precondition(reply.stanzas.first?[attribute: "type"] == "result")
}
let touched = seconds(ContinuousClock.now - start)
print(String(format: "disco#info on all %d rooms: %.0f rooms/s; resident memory after: %d KiB; rooms in memory: %d",
             count, Double(count) / touched, residentKiB(), await host.loadedRoomCount))

// 100 rooms with an occupant each stay in memory; the rest still sleep.
for number in 0..<100 {
    _ = await host.handle(stanza(
        "<presence xmlns='jabber:client' from='user\(number)@localhost/x' to='room\(number)@rooms.localhost/u'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>"))
}
print("100 rooms occupied: resident memory \(residentKiB()) KiB; rooms in memory: \(await host.loadedRoomCount)")
