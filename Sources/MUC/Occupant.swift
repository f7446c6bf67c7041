import XMLStream
import XMPPCore

/// Someone in a room under a nick (XEP-0045 §4.1): one user (bare JID), one or
/// more of that user's sessions (full JIDs), one role.
public struct Occupant: Sendable, Hashable {
    public var nick: String {
        didSet { nickKey = Nickname.key(nick) }
    }
    /// The nick as nicks are compared (`Nickname.key`), kept with it.
    public private(set) var nickKey: String
    public var bareJID: JID
    /// Every session that joined with this nick, in joining order.
    public var sessions: [JID]
    public var role: Role
    /// What the occupant's presence carries to others: show, status, priority
    /// and extensions, without any MUC element the client sent.
    public var presencePayload: [XMLNode]

    public init(nick: String, bareJID: JID, sessions: [JID], role: Role, presencePayload: [XMLNode] = []) {
        self.nick = nick
        self.nickKey = Nickname.key(nick)
        self.bareJID = bareJID
        self.sessions = sessions
        self.role = role
        self.presencePayload = presencePayload
    }
}

/// The current subject of a room (XEP-0045 §8.1).
public struct RoomSubject: Sendable, Hashable, Codable {
    public var text: String
    /// The nick that set it, or nil when set by the room itself.
    public var nick: String?
    public var date: Double

    public init(text: String, nick: String?, date: Double) {
        self.text = text
        self.nick = nick
        self.date = date
    }
}
