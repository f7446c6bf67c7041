import XMLStream
import XMPPCore

/// How much of a room's traffic a client controls, in UTF-8 bytes or counts;
/// past a limit the stanza is refused with a text that names it. `0` turns a
/// limit off. Set under `[limits]` (Docs/configuration.md).
public struct RoomLimits: Sendable, Hashable {
    public var nickBytes = 128
    public var statusBytes = 1024
    /// Everything a presence carries besides the MUC elements (show, status, caps, avatar hash…).
    public var presencePayloadBytes = 16 * 1024
    public var subjectBytes = 4096
    public var bodyBytes = 64 * 1024
    public var roomNameBytes = 256
    public var roomDescriptionBytes = 4096
    public var invitationsPerMessage = 5
    /// Flood control per user and room (token buckets): a burst, then a rate per minute.
    public var messageBurst = 1000
    public var messagesPerMinute = 1200
    public var presenceBurst = 100
    public var presencePerMinute = 120
    public var subjectBurst = 20
    public var subjectChangesPerMinute = 12
    /// Occupants of one room (a room's own `maxusers` may be lower) and of the whole service.
    public var occupantsPerRoom = 5000
    public var occupantsPerService = 100_000
    /// Rooms one user may own, and create: a burst, then a rate per hour.
    public var roomsPerUser = 1000
    public var roomCreationBurst = 300
    public var roomCreationsPerHour = 600
    /// Followers (MucSub) of one room, and rooms one user may follow.
    public var followersPerRoom = 10_000
    public var followsPerUser = 1000
    /// Expensive reads per user across the service (full-text MAM, alert `items`, the inbox):
    /// a burst, then a rate per minute.
    public var queryBurst = 60
    public var queriesPerMinute = 120
    /// Expensive reads started and not yet answered, service-wide.
    public var queuedQueries = 64
    /// Of those, the ones one address (a bare JID) may have waiting for their answers.
    public var queuedQueriesPerUser = 8
    /// How long one full-text search may run on its read connection.
    public var queryMilliseconds = 5000

    public init() {}

    /// Whether `size` is past `limit` (never, when the limit is 0: off).
    public static func exceeds(_ size: Int, _ limit: Int) -> Bool {
        limit > 0 && size > limit
    }
}

/// The checks, made once at the room's door, before any feature sees the stanza.
extension Room {
    /// Nil when the stanza is within every limit; otherwise the error to refuse it with.
    func limitViolation(_ stanza: Stanza, limits: RoomLimits) -> StanzaError? {
        switch stanza {
        case .presence(let presence):
            guard presence.type == .available else { return nil }
            if let nick = presence.to.resourcepart {
                // XEP-0045 §7.2.9: a nick the service's policy does not allow.
                if RoomLimits.exceeds(nick.utf8.count, limits.nickBytes) {
                    return StanzaError(.notAcceptable, text: "nicks are limited to \(limits.nickBytes) bytes")
                }
                if let problem = Nickname.problem(nick) {
                    return StanzaError(.notAcceptable, text: problem)
                }
            }
            if let status = presence.status, RoomLimits.exceeds(status.utf8.count, limits.statusBytes) {
                return StanzaError(.policyViolation, text: "a status is limited to \(limits.statusBytes) bytes")
            }
            if limits.presencePayloadBytes > 0 {
                let size = Self.payload(of: presence.element).reduce(0) { size, node in
                    if case .element(let child) = node { return size + child.approximateSize(upTo: limits.presencePayloadBytes) }
                    return size
                }
                if size > limits.presencePayloadBytes {
                    return StanzaError(.policyViolation, text: "a presence may carry at most \(limits.presencePayloadBytes) bytes")
                }
            }
        case .message(let message):
            guard message.type != .error else { return nil }
            // Every <body/> and <subject/> counts (one per xml:lang is allowed, and all are relayed).
            func total(_ name: String) -> Int {
                message.element.children(name, namespace: Namespace.client).reduce(0) { $0 + $1.text.utf8.count }
            }
            if RoomLimits.exceeds(total("body"), limits.bodyBytes) {
                return StanzaError(.policyViolation, text: "a message body is limited to \(limits.bodyBytes) bytes")
            }
            if RoomLimits.exceeds(total("subject"), limits.subjectBytes) {
                return StanzaError(.policyViolation, text: "a subject is limited to \(limits.subjectBytes) bytes")
            }
            if let user = message.element.child("x", namespace: MUCNamespace.user),
               RoomLimits.exceeds(user.children("invite", namespace: MUCNamespace.user).count, limits.invitationsPerMessage) {
                return StanzaError(.policyViolation, text: "at most \(limits.invitationsPerMessage) invitations per message")
            }
        case .iq:
            return nil
        }
        return nil
    }

    /// §10.2: the configuration form's free text fields.
    func checkConfigurationLimits(_ configuration: RoomConfiguration, limits: RoomLimits) throws(StanzaError) {
        if RoomLimits.exceeds(configuration.name.utf8.count, limits.roomNameBytes) {
            throw StanzaError(.notAcceptable, text: "a room name is limited to \(limits.roomNameBytes) bytes")
        }
        if RoomLimits.exceeds(configuration.description.utf8.count, limits.roomDescriptionBytes) {
            throw StanzaError(.notAcceptable, text: "a room description is limited to \(limits.roomDescriptionBytes) bytes")
        }
    }
}
