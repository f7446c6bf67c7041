import ArgumentParser
import Foundation
import Logging
import Service
import Storage
import XMLStream
import XMPPCore

extension Parley {
    /// `parley archive …`: read a room's archive from the command line (DESIGN.md §4).
    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search or export a room's archive (works while the service runs).",
            subcommands: [Search.self, Export.self, Ended.self, Sweep.self])
    }
}

/// Options shared by the archive commands.
struct ArchiveOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    @Option(help: """
        The room: its JID (lobby@rooms.example.org) or its name on this service (lobby); \
        for a destroyed room, the key of its archive as `parley archive ended` lists it \
        (lobby@rooms.example.org/ended-1764321000000).
        """)
    var room: String

    /// Opens the archive and resolves the room, or exits 2 with the reason.
    func open() throws -> (ArchiveReader, JID) {
        common.bootstrapLogging()
        let logger = Logger(label: "parley")
        let configuration = try common.loadConfiguration(logger: logger)
        let text = room.contains("@") ? room : "\(room)@\(configuration.component.domain)"
        guard let jid = try? JID(text), jid.localpart != nil,
              jid.resourcepart == nil || jid.resourcepart?.hasPrefix("ended-") == true else {
            logger.critical("--room: '\(room)' is not a room JID (nor the key of an ended room's archive)")
            throw ExitCode(2)
        }
        return (try openDatabase(configuration, common, logger: logger) { try ArchiveReader(path: $0) }, jid)
    }
}

/// One exported message: what DESIGN.md §4 promises for each record, and
/// its moderation status (null, or who retracted it, when and why).
struct ExportRecord: Encodable {
    struct Moderated: Encodable {
        var by: String
        var time: String
        var reason: String?
    }

    var stanza_id: String
    var time: String
    var nick: String
    var jid: String?
    var body: String
    var moderated: Moderated?

    init(_ record: ArchiveReader.Record) {
        stanza_id = record.stanzaID
        time = DateTime.format(record.timestamp)
        nick = record.nick
        jid = record.senderJID
        body = record.body
        moderated = record.moderation.map { Moderated(by: $0.by, time: DateTime.format($0.timestamp), reason: $0.reason) }
    }

    func encode(to encoder: any Encoder) throws {
        // Explicit nulls: a reader of the export sees every field of every record.
        enum Key: String, CodingKey { case stanza_id, time, nick, jid, body, moderated }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(stanza_id, forKey: .stanza_id)
        try container.encode(time, forKey: .time)
        try container.encode(nick, forKey: .nick)
        try container.encode(jid, forKey: .jid)
        try container.encode(body, forKey: .body)
        try container.encode(moderated, forKey: .moderated)
    }
}

/// Writes lines to standard output through one buffer.
struct Output {
    private var buffer = ""

    mutating func line(_ text: String) {
        buffer += text
        buffer += "\n"
        if buffer.utf8.count >= 64 * 1024 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}

extension Parley.Archive {
    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the messages of a room that match.")

        @OptionGroup var options: ArchiveOptions

        @Option(help: "Words that must all appear (case- and accent-insensitive).")
        var text: String?

        @Option(help: "Only messages at or after this time (ISO 8601, e.g. 2026-11-25T09:00:00Z or 2026-11-25).")
        var since: String?

        @Option(help: "Only messages at or before this time (ISO 8601).")
        var until: String?

        @Option(help: "Print at most this many (the newest).")
        var limit: Int?

        @Flag(help: "One JSON object per line instead of a table.")
        var json = false

        func run() async throws {
            let sinceTime = try parseTime(since, option: "--since")
            let untilTime = try parseTime(until, option: "--until", endOfDay: true)
            let (reader, room) = try options.open()
            var output = Output()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var count = 0
            try reader.search(room: room, text: text, since: sinceTime, until: untilTime, limit: limit) { record in
                count += 1
                if json {
                    output.line(String(decoding: try encoder.encode(ExportRecord(record)), as: UTF8.self))
                } else {
                    let body = record.moderation.map { "(retracted by \($0.by)\($0.reason.map { ": \($0)" } ?? ""))" }
                        ?? record.body.replacingOccurrences(of: "\n", with: " ⏎ ")
                    output.line("\(DateTime.format(record.timestamp))  \(record.nick)  \(body)  [\(record.stanzaID)]")
                }
            }
            if !json { output.line("\(count) message\(count == 1 ? "" : "s") in \(room)") }
            output.flush()
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a room's whole archive to standard output, one record per message.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case jsonl, xml
        }

        @OptionGroup var options: ArchiveOptions

        @Option(help: "jsonl (one JSON object per line) or xml.")
        var format: Format = .jsonl

        func run() async throws {
            let (reader, room) = try options.open()
            var output = Output()
            let progress = ProgressBar(
                "export \(room)", total: try reader.count(room: room), unit: "messages",
                enabled: ProgressBar.wanted(dataOnStandardOutput: true))
            defer { progress.finish() }
            switch format {
            case .jsonl:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                try reader.export(room: room) { record in
                    progress.advance()
                    output.line(String(decoding: try encoder.encode(ExportRecord(record)), as: UTF8.self))
                }
            case .xml:
                output.line("<?xml version='1.0' encoding='UTF-8'?>")
                output.line("<archive xmlns='urn:parley:archive:0' room='\(XMLSerializer.escaped(room.description, inAttribute: true))'>")
                try reader.export(room: room) { record in
                    progress.advance()
                    var attributes = "stanza-id='\(XMLSerializer.escaped(record.stanzaID, inAttribute: true))'"
                        + " time='\(DateTime.format(record.timestamp))'"
                        + " nick='\(XMLSerializer.escaped(record.nick, inAttribute: true))'"
                    if let jid = record.senderJID {
                        attributes += " jid='\(XMLSerializer.escaped(jid, inAttribute: true))'"
                    }
                    if let moderation = record.moderation {
                        attributes += " moderated-by='\(XMLSerializer.escaped(moderation.by, inAttribute: true))'"
                            + " moderated-at='\(DateTime.format(moderation.timestamp))'"
                    }
                    output.line("<record \(attributes)>\(record.stanza)</record>")
                }
                output.line("</archive>")
            }
            output.flush()
        }
    }
}

extension Parley.Archive {
    /// Destroyed rooms whose archive is still kept (until `archive.keep_destroyed_days`).
    struct Ended: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the archives of destroyed rooms that are still kept, with the key that --room takes.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            common.bootstrapLogging()
            let logger = Logger(label: "parley")
            let configuration = try common.loadConfiguration(logger: logger)
            let reader = try openDatabase(configuration, common, logger: logger) { try ArchiveReader(path: $0) }
            var output = Output()
            for archive in try reader.endedArchives() {
                output.line("\(archive.key)  ended \(DateTime.format(archive.ended))  \(archive.messages) messages")
            }
            output.flush()
        }
    }
}

/// Parses an ISO 8601 option (a date alone means the start, or with `endOfDay` the end, of that day, UTC).
func parseTime(_ text: String?, option: String, endOfDay: Bool = false) throws -> Double? {
    guard let text else { return nil }
    if let time = DateTime.parse(text) { return time }
    if text.count == 10, let day = DateTime.parse(text + "T00:00:00Z") {
        return endOfDay ? day + 86_399.999 : day
    }
    Logger(label: "parley").critical("\(option): '\(text)' is not an ISO 8601 time such as 2026-11-25T09:00:00Z")
    throw ExitCode(2)
}
