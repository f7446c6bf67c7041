// What `[storage] durability` costs: messages archived per second through the
// store's group commit (one transaction per batch, as the router commits one
// read from the server), with synchronous=FULL ("power") and NORMAL ("crash").
//
//   swift build -c release --product durability-bench
//   .build/release/durability-bench [DIRECTORY] [BATCHES] [BATCH SIZE]
import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : NSTemporaryDirectory() + "parley-durability-bench"
let batches = arguments.count > 2 ? Int(arguments[2]) ?? 2000 : 2000
let batchSizes = arguments.count > 3 ? [Int(arguments[3]) ?? 1] : [1, 10, 50]
let room = try JID("bench@rooms.localhost")

func message(_ index: Int) -> ArchivedMessage {
    let text = "message number \(index) about the release plan"
    var stanza = XMLElement(
        "message", namespace: Namespace.client, attributes: ["from": "\(room)/Bob", "type": "groupchat", "id": "m\(index)"])
    stanza.append(XMLElement("body", namespace: Namespace.client, text: text))
    return ArchivedMessage(
        stanzaID: "id-\(index)", room: room, timestamp: 1_700_000_000 + Double(index), nick: "Bob",
        senderJID: try? JID("bob@localhost"), body: text, stanza: stanza)
}

try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
print("durability   batch  batches  messages/s  commits/s  µs/commit")
for batchSize in batchSizes {
    for durability in Durability.allCases {
        let path = "\(directory)/\(durability.rawValue)-\(batchSize).sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try SQLiteRoomStore(path: path, durability: durability)
        var next = 0
        let started = Date()
        for _ in 0..<batches {
            try await store.append((0..<batchSize).map { _ in defer { next += 1 }; return message(next) })
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(
            format: "%-10@  %5d  %7d  %10.0f  %9.0f  %9.0f", durability.rawValue as NSString, batchSize, batches,
            Double(next) / seconds, Double(batches) / seconds, seconds / Double(batches) * 1e6))
    }
}
