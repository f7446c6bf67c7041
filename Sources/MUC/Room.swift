import XMLStream
import XMPPCore

/// One room: its configuration, who is affiliated with it, who is in it. A
/// value: the room's actor owns one and hands stanzas to `handle`, which
/// returns the effects (stanzas to send, messages to archive) without doing any I/O.
public struct Room: Sendable {
    public let jid: JID
    public var configuration: RoomConfiguration
    /// Affiliations other than `none`, by bare JID.
    public var affiliations: [JID: Affiliation]
    /// Nicks reserved by registration (XEP-0045 §7.10), by bare JID.
    public var registeredNicks: [JID: String]
    public var subject: RoomSubject?
    /// XEP-0045 §10.1.1: a new room is locked until its owner configures it.
    public var isLocked: Bool
    /// Occupants in the order they entered.
    public internal(set) var occupants: [Occupant] = []
    /// Users following the room without being in it (MucSub), by bare JID.
    public var subscribers: [JID: RoomSubscriber]
    /// Queries relayed between occupants, by the id they were sent with, oldest first in `relayOrder`.
    var relayedIQs: [String: RelayedIQ] = [:]
    var relayOrder: [String] = []
    /// Invitations not yet declined: invitee (bare JID) → who invited it. Only
    /// these inviters may be sent a decline, so a room is no relay to anyone.
    var invitationsSent: [JID: Set<JID>] = [:]
    /// Flood control: one token bucket per user and kind of action (`RateLimits.swift`).
    var rateBuckets: [RateKey: TokenBucket] = [:]
    /// Secret used to derive occupant ids (XEP-0421), fixed per room.
    public let occupantIDSalt: String

    public init(
        jid: JID, configuration: RoomConfiguration = RoomConfiguration(), affiliations: [JID: Affiliation] = [:],
        registeredNicks: [JID: String] = [:], subject: RoomSubject? = nil, isLocked: Bool = false,
        subscribers: [JID: RoomSubscriber] = [:], occupantIDSalt: String
    ) {
        self.jid = jid.bare
        self.subscribers = subscribers
        self.configuration = configuration
        self.affiliations = affiliations
        self.registeredNicks = registeredNicks
        self.subject = subject
        self.isLocked = isLocked
        self.occupantIDSalt = occupantIDSalt
    }

    public var isEmpty: Bool { occupants.isEmpty }

    /// The user's own affiliation, or else its server's: XEP-0045 §9.1 lets an
    /// admin ban (or otherwise affiliate) a whole server by its JID.
    public func affiliation(of jid: JID) -> Affiliation {
        if let own = affiliations[jid.bare] { return own }
        guard jid.localpart != nil, !affiliations.isEmpty else { return .none }
        return affiliations[jid.domain] ?? .none
    }

    /// Whether an affiliation set for `target` (a user or a whole server) is the one `user` has.
    func affiliationApplies(_ target: JID, to user: JID) -> Bool {
        user == target || (target.localpart == nil && user.domainpart == target.domainpart && affiliations[user] == nil)
    }

    func index(ofNick nick: String) -> Int? {
        occupants.firstIndex { $0.nick == nick }
    }

    /// An occupant of another user whose nick is the same as `nick` once compared the RFC 8266 way.
    func nickHeldByOther(_ nick: String, than user: JID) -> Bool {
        let key = Nickname.key(nick)
        return occupants.contains { $0.nickKey == key && $0.bareJID != user }
    }

    func index(ofSession session: JID) -> Int? {
        occupants.firstIndex { $0.sessions.contains(session) }
    }

    public func occupant(nick: String) -> Occupant? {
        index(ofNick: nick).map { occupants[$0] }
    }

    public func occupant(session: JID) -> Occupant? {
        index(ofSession: session).map { occupants[$0] }
    }

    /// Whether `nick` belongs to a user other than `user`: registered to them
    /// (XEP-0045 §7.10) or the nick they follow the room under (MucSub).
    func nickReserved(_ nick: String, except user: JID) -> Bool {
        let key = Nickname.key(nick)
        return registeredNicks.contains { $0.key != user && Nickname.key($0.value) == key }
            || subscribers.contains { $0.key != user && Nickname.key($0.value.nick) == key }
    }

    /// Every session in the room: where a room-wide stanza goes.
    var allSessions: [JID] { occupants.flatMap(\.sessions) }

    /// Sends `stanza` (without `to`) to every session in the room, as one
    /// fan-out: serialized once on the way out.
    func sendToAll(_ stanza: XMLElement, effects: inout RoomEffects) {
        effects.outputs.append(.fanOut(stanza, recipients: allSessions))
    }

    func occupantJID(_ nick: String) -> JID {
        // The nick was validated as a resourcepart when the occupant entered.
        (try? jid.withResource(nick)) ?? jid
    }

    public var owners: [JID] { affiliations.filter { $0.value == .owner }.map(\.key).sorted() }
    public var admins: [JID] { affiliations.filter { $0.value == .admin }.map(\.key).sorted() }
}

/// What handling one stanza asks the room's owner to do, in order.
public struct RoomEffects: Sendable {
    public enum Output: Sendable {
        case stanza(XMLElement)
        /// One stanza (without `to`) to many sessions: serialized once on the way out.
        case fanOut(XMLElement, recipients: [JID])
        /// Discussion history for a joining session, read from the archive
        /// (XEP-0045 §7.2.15); the owner inserts it here, before what follows.
        case history(to: JID, HistoryRequest, revealJIDs: Bool)
        /// A MAM query the room allowed (XEP-0313): results then the IQ result.
        case archiveQuery(IQ, ArchiveQuery)
        /// A MAM metadata request the room allowed.
        case archiveMetadata(IQ)
        /// The user has read the room up to this message (an XEP-0333 marker: a stanza-id or a message id).
        case readUpTo(user: JID, id: String)
        /// The user has read everything in the room.
        case readAll(user: JID)
        /// A retraction the room allowed: the owner replaces the archived
        /// message with a tombstone, then sends the IQ result and the notice to every recipient,
        /// or `item-not-found` if there is no such message.
        case moderation(IQ, Retraction, notice: XMLElement, recipients: [JID])
    }

    public var outputs: [Output] = []
    /// Messages to commit to the archive before any output is sent.
    public var archive: [ArchivedMessage] = []
    /// The room's persistent state (configuration, affiliations, subject) changed.
    public var roomChanged = false
    /// The room was destroyed and must be removed.
    public var destroyed = false
    /// The stanza was refused by one of the room's limits (for the service's metrics).
    public var refusedBy: LimitRefusal?

    public init() {}

    public mutating func send(_ stanza: XMLElement) {
        outputs.append(.stanza(stanza))
    }

    /// Every stanza to send, fan-outs expanded into their copies.
    public var stanzas: [XMLElement] {
        outputs.flatMap { output -> [XMLElement] in
            switch output {
            case .stanza(let stanza): [stanza]
            case .fanOut(let stanza, let recipients): Outbound.fanOut(stanza, recipients: recipients).copies
            default: []
            }
        }
    }
}

/// What a room needs from outside to handle a stanza: the clock and fresh ids.
public struct RoomContext {
    public var now: Double
    public var makeStanzaID: () -> String
    /// XEP-0421: a stable, opaque id for a user in a room, from the room's salt and the bare JID.
    public var makeOccupantID: (String, JID) -> String
    /// Bare JIDs of service administrators, who act as owners of every room.
    public var serviceAdmins: Set<JID>
    /// What a client may put in a room (sizes, counts).
    public var limits: RoomLimits
    /// Whether and where rooms may publish their archive on the web.
    public var webLogs: WebLogsPolicy

    public init(
        now: Double, makeStanzaID: @escaping () -> String, makeOccupantID: @escaping (String, JID) -> String,
        serviceAdmins: Set<JID> = [], limits: RoomLimits = RoomLimits(), webLogs: WebLogsPolicy = WebLogsPolicy()
    ) {
        self.webLogs = webLogs
        self.now = now
        self.makeStanzaID = makeStanzaID
        self.makeOccupantID = makeOccupantID
        self.serviceAdmins = serviceAdmins
        self.limits = limits
    }
}
