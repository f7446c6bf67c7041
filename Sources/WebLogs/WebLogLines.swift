import Foundation
import Storage

/// A day as JSON Lines (one object per line, https://jsonlines.org): what the day page
/// shows, for scripts. Nicks and text only, never a JID.
enum WebLogLines {
    private struct Line: Encodable {
        var id: String
        var time: String
        var type: String
        var nick: String
        var text: String
    }

    static func encode(_ entries: [WebLogEntry]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for entry in entries {
            let line = Line(id: entry.id, time: UTCDate.clock(entry.time).iso, type: entry.kind.rawValue, nick: entry.nick,
                            text: entry.text)
            guard let data = try? encoder.encode(line) else { continue }
            text += String(decoding: data, as: UTF8.self) + "\n"
        }
        return text
    }
}
