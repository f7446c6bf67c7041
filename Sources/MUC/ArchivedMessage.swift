import XMLStream
import XMPPCore

/// One groupchat message as the archive keeps it: the stanza as occupants
/// received it (without `to`), and the facts needed to search and filter it.
public struct ArchivedMessage: Sendable, Hashable {
    /// XEP-0359 stanza-id, unique per room, also the archive's key.
    public var stanzaID: String
    public var room: JID
    /// Seconds since 1970, UTC.
    public var timestamp: Double
    public var nick: String
    /// The sender's bare JID, kept even in semi-anonymous rooms: who may see it is decided on reading.
    public var senderJID: JID?
    public var body: String
    /// The message as broadcast, from room@service/nick, without `to`.
    public var stanza: XMLElement
    /// Followers whose nick the body names (for their inbox's mention count).
    public var mentioned: [JID]

    public init(
        stanzaID: String, room: JID, timestamp: Double, nick: String, senderJID: JID?, body: String, stanza: XMLElement,
        mentioned: [JID] = []
    ) {
        self.mentioned = mentioned
        self.stanzaID = stanzaID
        self.room = room
        self.timestamp = timestamp
        self.nick = nick
        self.senderJID = senderJID
        self.body = body
        self.stanza = stanza
    }
}

/// Which history a joining occupant asked for (XEP-0045 §7.2.15), already
/// capped by the room's history length.
public struct HistoryRequest: Sendable, Hashable {
    public var maxStanzas: Int
    public var maxChars: Int?
    /// Only messages newer than this (seconds since 1970).
    public var since: Double?

    public init(maxStanzas: Int, maxChars: Int? = nil, since: Double? = nil) {
        self.maxStanzas = maxStanzas
        self.maxChars = maxChars
        self.since = since
    }
}
