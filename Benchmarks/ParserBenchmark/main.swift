// Parser benchmark: feeds a component stream of groupchat messages through
// XMLStreamParser in 4 KiB chunks and prints MB/s and stanzas/s.
// Usage: parser-bench generate FILE [MEGABYTES]   — writes the stream
//        parser-bench parse FILE [RUNS]            — measures (best of RUNS)
import Foundation
import XMLStream

let chunkSize = 4096

func generate(path: String, megabytes: Int) throws {
    let words = ["release", "deploy", "outage", "café", "the", "build", "is", "green", "again", "<tag>", "&", "ops",
                 "meeting", "tomorrow", "at", "10:00", "🙂", "please", "review", "PR", "#4711", "thanks"]
    var generator = SystemRandomNumberGenerator()
    var text = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
        + "xmlns:stream='http://etherx.jabber.org/streams' id='bench' from='rooms.localhost'>"
    var index = 0
    let target = megabytes * 1_000_000
    while text.utf8.count < target {
        let body = (0..<Int.random(in: 5...40, using: &generator))
            .map { _ in words.randomElement(using: &generator) ?? "x" }.joined(separator: " ")
        text += "<message from='user\(index % 997)@example.org/device\(index % 7)' to='room\(index % 101)@rooms.localhost' "
            + "type='groupchat' id='msg-\(index)'><body>\(XMLSerializer.escaped(body))</body>"
            + "<active xmlns='http://jabber.org/protocol/chatstates'/><origin-id xmlns='urn:xmpp:sid:0' id='o-\(index)'/></message>"
        index += 1
    }
    text += "</stream:stream>"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    print("wrote \(path): \(text.utf8.count) bytes, \(index) stanzas")
}

func parse(path: String, runs: Int) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let bytes = [UInt8](data)
    var best = Double.infinity
    var stanzas = 0
    for _ in 0..<runs {
        let parser = XMLStreamParser(namespaceAliases: ["jabber:component:accept": "jabber:client"])
        var count = 0
        let start = ContinuousClock.now
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let end = min(offset + chunkSize, buffer.count)
                // Count without copying each event out: the consumer's cost is not the parser's.
                let events = parser.feed(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]))
                for index in events.indices {
                    if case .element = events[index] { count += 1 }
                }
                offset = end
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if let error = parser.error {
            print("parse error: \(error)")
            exit(1)
        }
        best = min(best, seconds)
        stanzas = count
    }
    let megabytes = Double(bytes.count) / 1_048_576
    print(String(format: "parley-xmlstream: %.1f MiB/s, %.0f stanzas/s (%d stanzas, best of %d: %.3f s)",
                 megabytes / best, Double(stanzas) / best, stanzas, runs, best))
}

let arguments = CommandLine.arguments
switch (arguments.count > 1 ? arguments[1] : "", arguments.count > 2 ? arguments[2] : nil) {
case ("generate", .some(let path)):
    try generate(path: path, megabytes: arguments.count > 3 ? Int(arguments[3]) ?? 50 : 50)
case ("parse", .some(let path)):
    try parse(path: path, runs: arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5)
default:
    print("usage: parser-bench generate FILE [MEGABYTES] | parser-bench parse FILE [RUNS]")
    exit(2)
}
