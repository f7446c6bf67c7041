import XMPPCore

/// The service's side of web logs (`[weblogs]`): whether rooms may publish at all,
/// the rooms a service admin took off the web, and where the pages live.
public struct WebLogsPolicy: Sendable, Hashable {
    /// Off: no room is served, and no owner may turn web logs on.
    public var isEnabled: Bool
    /// What a new room's `parley#roomconfig_weblogs` starts as.
    public var defaultForNewRooms: Bool
    /// Rooms a service admin forced off, whatever their owners say.
    public var hiddenRooms: Set<JID>
    /// Where the pages are for readers (`[weblogs] base_url`), e.g. `https://chat.example.org/logs`;
    /// nil when unknown, and then disco#info names no URL.
    public var baseURL: String?

    public init(isEnabled: Bool = false, defaultForNewRooms: Bool = false, hiddenRooms: Set<JID> = [], baseURL: String? = nil) {
        self.isEnabled = isEnabled
        self.defaultForNewRooms = defaultForNewRooms
        self.hiddenRooms = hiddenRooms
        self.baseURL = baseURL
    }

    /// Whether the room may be turned on by its owner.
    public func allows(_ room: JID) -> Bool {
        isEnabled && !hiddenRooms.contains(room.bare)
    }

    /// Whether the room's pages are served now.
    public func serves(_ room: JID, _ configuration: RoomConfiguration) -> Bool {
        allows(room) && configuration.publishesWebLogs
    }

    /// The room's web log address (XEP-0045 `muc#roominfo_logs`), when served and known.
    public func url(of room: JID, _ configuration: RoomConfiguration) -> String? {
        guard serves(room, configuration), let baseURL, let localpart = room.localpart else { return nil }
        return baseURL + "/" + Self.pathSegment(localpart) + "/"
    }

    /// A room's localpart as one URL path segment: unreserved characters stay, the rest
    /// is percent-encoded UTF-8 (RFC 3986 §2.3).
    public static func pathSegment(_ text: String) -> String {
        var segment = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                segment.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                segment.unicodeScalars.append("%")
                segment.unicodeScalars.append(hex[Int(byte >> 4)])
                segment.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return segment
    }
}
