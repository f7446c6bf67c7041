import Storage
import XMPPCore

/// What a path under `/logs/` asks for, checked before anything is read: a room is
/// a JID localpart of the service, a day a real `YYYY-MM-DD`, an id a stanza-id.
public enum WebLogPath: Sendable, Hashable {
    case index
    case stylesheet
    case script
    case calendar(room: JID)
    case day(room: JID, day: WebLogDay)
    case dayLines(room: JID, day: WebLogDay)
    case search(room: JID)
    case message(room: JID, id: String)

    /// The room a path names, if any.
    public var room: JID? {
        switch self {
        case .index, .stylesheet, .script: nil
        case .calendar(let room), .day(let room, _), .dayLines(let room, _), .search(let room), .message(let room, _): room
        }
    }

    /// Parses the path after `/logs`; nil for anything else (answered 404).
    public init?(_ path: Substring, service: JID) {
        guard path.hasPrefix("/") else { return nil }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        switch segments.count {
        case 1 where segments[0].isEmpty: self = .index
        case 1 where segments[0] == "style.css": self = .stylesheet
        case 1 where segments[0] == "time.js": self = .script
        case 2, 3:
            guard let room = Self.room(segments[0], service: service) else { return nil }
            if segments.count == 2 {
                let page = segments[1]
                if page.isEmpty {
                    self = .calendar(room: room)
                } else if page == "search" {
                    self = .search(room: room)
                } else if page.hasSuffix(".jsonl"), let date = UTCDate(text: page.dropLast(6)) {
                    self = .dayLines(room: room, day: date.webLogDay)
                } else if let date = UTCDate(text: page) {
                    self = .day(room: room, day: date.webLogDay)
                } else {
                    return nil
                }
            } else {
                guard segments[1] == "message", let id = Self.decoded(segments[2]), !id.isEmpty, id.utf8.count <= 256 else {
                    return nil
                }
                self = .message(room: room, id: id)
            }
        default:
            return nil
        }
    }

    /// A room segment: percent-decoded, and a localpart the JID rules accept (so no
    /// "..", no "/", nothing that is not a room of this service).
    static func room(_ segment: Substring, service: JID) -> JID? {
        guard let localpart = decoded(segment), !localpart.isEmpty, localpart != ".", localpart != "..",
              localpart.utf8.count <= 1023,
              !localpart.contains("@"), !localpart.contains("/"),
              let jid = try? JID("\(localpart)@\(service.domainpart)"), jid.localpart == localpart
        else { return nil }
        return jid
    }

    /// Percent-decoding of one segment; nil when it is malformed or not UTF-8.
    static func decoded(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
