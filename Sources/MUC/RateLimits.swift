import XMPPCore

/// A token bucket: a burst, then a steady rate. The clock is the room's
/// (`RoomContext.now`), so tests drive it.
public struct TokenBucket: Sendable, Hashable {
    var tokens: Double
    /// When a token was last asked for.
    public private(set) var updated: Double

    public init(tokens: Double, updated: Double) {
        self.tokens = tokens
        self.updated = updated
    }

    /// Takes one token if there is one; a `burst` or `perSecond` of 0 means no limit.
    public mutating func take(now: Double, burst: Int, perSecond: Double) -> Bool {
        guard burst > 0, perSecond > 0 else { return true }
        tokens = min(Double(burst), tokens + max(0, now - updated) * perSecond)
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

/// What a user does in a room that has its own rate (per bare JID, across its sessions).
public enum RatedAction: Sendable, Hashable {
    /// Groupchat, private messages, invitations.
    case message
    /// Presence changes of an occupant (show, status, nick), and entering.
    case presence
    case subjectChange
}

/// Flood control at the room's door, after the size limits: a human or a CI
/// bot never meets it, a flood does (`[limits]`, Docs/configuration.md).
extension Room {
    static let maximumRateBuckets = 4096

    /// Nil when the stanza may go on; otherwise the rate it broke and the error to refuse it with.
    mutating func rateViolation(_ stanza: Stanza, context: RoomContext) -> (RatedAction, StanzaError)? {
        guard let action = ratedAction(stanza) else { return nil }
        let limits = context.limits
        let (burst, perMinute): (Int, Int) = switch action {
        case .message: (limits.messageBurst, limits.messagesPerMinute)
        case .presence: (limits.presenceBurst, limits.presencePerMinute)
        case .subjectChange: (limits.subjectBurst, limits.subjectChangesPerMinute)
        }
        guard burst > 0, perMinute > 0 else { return nil }
        let key = RateKey(user: stanza.from.bare, action: action)
        var bucket = rateBuckets[key] ?? TokenBucket(tokens: Double(burst), updated: context.now)
        let allowed = bucket.take(now: context.now, burst: burst, perSecond: Double(perMinute) / 60)
        if rateBuckets[key] == nil && rateBuckets.count >= Self.maximumRateBuckets {
            // Forget users who have been quiet a while; a full bucket is what a new one would be.
            rateBuckets = rateBuckets.filter { context.now - $0.value.updated < 600 }
            if rateBuckets.count >= Self.maximumRateBuckets { rateBuckets.removeAll() }
        }
        rateBuckets[key] = bucket
        guard !allowed else { return nil }
        let what = switch action {
        case .message: "messages"
        case .presence: "presence changes"
        case .subjectChange: "subject changes"
        }
        return (action, StanzaError(.resourceConstraint, type: .wait, text: "too many \(what) in this room: slow down"))
    }

    private func ratedAction(_ stanza: Stanza) -> RatedAction? {
        switch stanza {
        case .message(let message):
            guard message.type != .error else { return nil }
            if message.type == .groupchat && message.subject != nil && message.body == nil { return .subjectChange }
            return .message
        case .presence(let presence):
            // Leaving is never refused.
            return presence.type == .available ? .presence : nil
        case .iq:
            return nil
        }
    }
}

/// One user's bucket for one kind of action.
struct RateKey: Sendable, Hashable {
    var user: JID
    var action: RatedAction
}

/// Which of a room's limits refused a stanza.
public enum LimitRefusal: Sendable, Hashable {
    /// A size or count of `[limits]` (a body, a nick, occupants of the room…).
    case roomLimits
    case rate(RatedAction)
}
