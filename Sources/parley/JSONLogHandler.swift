import Foundation
import Logging

/// `--log-format json`: one JSON object per line on standard error, for log
/// shippers (journald, Loki, Elasticsearch): time (ISO 8601, UTC), level,
/// label, message, and the metadata as strings.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.line(
            time: Date(), level: event.level, label: label, message: event.message.description,
            metadata: merged.mapValues { $0.description })
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One log line (also what the tests check).
    static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: [String: String]) -> String {
        var object: [String: String] = ["time": Self.format(time), "level": level.rawValue, "label": label, "message": message]
        for (key, value) in metadata where object[key] == nil { object[key] = value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(object)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
