import XMLStream
import XMPPCore

/// ejabberd's MucSub (`urn:xmpp:mucsub:0`): a user follows a room without
/// being in it, under a nick, and receives the chosen events as pubsub events
/// at the bare JID. Access follows the rules for entering the room.
public struct RoomSubscriber: Sendable, Hashable, Codable {
    public var nick: String
    public var nodes: Set<String>

    public init(nick: String, nodes: Set<String>) {
        self.nick = nick
        self.nodes = nodes
    }
}

public enum MucSubNode {
    public static let namespace = "urn:xmpp:mucsub:0"
    public static let messages = "urn:xmpp:mucsub:nodes:messages"
    public static let presence = "urn:xmpp:mucsub:nodes:presence"
    public static let subject = "urn:xmpp:mucsub:nodes:subject"
    public static let config = "urn:xmpp:mucsub:nodes:config"
    public static let affiliations = "urn:xmpp:mucsub:nodes:affiliations"
    public static let all: Set<String> = [messages, presence, subject, config, affiliations]
}

extension Room {
    /// `<subscribe/>` (subscribe oneself, or another user as a moderator), `<unsubscribe/>`, `<subscriptions/>`.
    mutating func handleMucSub(
        _ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects
    ) throws(StanzaError) -> XMLElement? {
        let requester = occupant(session: iq.from)
        let isModerator = requester?.role == .moderator || effectiveAffiliation(of: iq.from.bare, context: context) >= .admin
        switch (iq.type, payload.name) {
        case (.set, "subscribe"):
            var user = iq.from.bare
            if let raw = payload[attribute: "jid"] {
                guard let jid = try? JID(raw) else { throw StanzaError(.jidMalformed, text: "'\(raw)' is not a JID") }
                if jid.bare != user {
                    guard isModerator else { throw StanzaError(.forbidden, text: "only moderators may subscribe others") }
                    // Following needs the follower's consent: a moderator may only subscribe
                    // users who already chose to belong to the room (members and above).
                    guard effectiveAffiliation(of: jid.bare, context: context) >= .member else {
                        throw StanzaError(.notAllowed, text: "only members, admins and owners of the room can be subscribed by a moderator")
                    }
                    user = jid.bare
                }
            }
            guard let rawNick = payload[attribute: "nick"], !rawNick.isEmpty,
                  let nick = try? jid.withResource(rawNick).resourcepart else {
                throw StanzaError(.badRequest, text: "a subscription needs a valid nick")
            }
            if let problem = Nickname.problem(nick) { throw StanzaError(.notAcceptable, text: problem) }
            try checkSubscriptionAccess(user, nick: nick, password: payload[attribute: "password"], context: context)
            if subscribers[user] == nil, RoomLimits.exceeds(subscribers.count + 1, context.limits.followersPerRoom) {
                throw StanzaError(.notAllowed, text: "this room has as many followers as the service allows (\(context.limits.followersPerRoom))")
            }
            var nodes = Set(payload.children("event", namespace: MucSubNode.namespace).compactMap { $0[attribute: "node"] })
                .intersection(MucSubNode.all)
            if nodes.isEmpty { nodes = [MucSubNode.messages] }
            subscribers[user] = RoomSubscriber(nick: nick, nodes: nodes)
            effects.roomChanged = true
            var result = XMLElement("subscribe", namespace: MucSubNode.namespace, attributes: ["nick": nick])
            for node in nodes.sorted() {
                result.append(XMLElement("event", namespace: MucSubNode.namespace, attributes: ["node": node]))
            }
            return result
        case (.set, "unsubscribe"):
            var user = iq.from.bare
            if let raw = payload[attribute: "jid"], let jid = try? JID(raw), jid.bare != user {
                guard isModerator else { throw StanzaError(.forbidden, text: "only moderators may unsubscribe others") }
                user = jid.bare
            }
            if subscribers.removeValue(forKey: user) != nil { effects.roomChanged = true }
            return nil
        case (.get, "subscriptions"):
            guard isModerator else { throw StanzaError(.forbidden, text: "only moderators may list the subscribers") }
            var list = XMLElement("subscriptions", namespace: MucSubNode.namespace)
            for (jid, subscriber) in subscribers.sorted(by: { $0.key < $1.key }) {
                var item = XMLElement(
                    "subscription", namespace: MucSubNode.namespace,
                    attributes: [
                        "jid": configuration.revealsJIDs(to: .moderator) ? jid.description : nil, "nick": subscriber.nick,
                    ])
                for node in subscriber.nodes.sorted() {
                    item.append(XMLElement("event", namespace: MucSubNode.namespace, attributes: ["node": node]))
                }
                list.append(item)
            }
            return list
        default:
            throw StanzaError(.badRequest, text: "expected subscribe, unsubscribe or subscriptions")
        }
    }

    /// Following a room needs what entering it needs (XEP-0045 §7.2 checks).
    private func checkSubscriptionAccess(_ user: JID, nick: String, password: String?, context: RoomContext) throws(StanzaError) {
        let affiliation = effectiveAffiliation(of: user, context: context)
        if isLocked { throw StanzaError(.itemNotFound, text: "this room is not open yet") }
        if affiliation == .outcast { throw StanzaError(.forbidden, text: "you are banned from this room") }
        if configuration.isMembersOnly && affiliation < .member {
            throw StanzaError(.registrationRequired, text: "this room is for members only")
        }
        if let required = configuration.password, affiliation < .member, password != required {
            throw StanzaError(.notAuthorized, text: password == nil ? "a password is required" : "wrong password")
        }
        let heldByOther = nickHeldByOther(nick, than: user) || nickReserved(nick, except: user)
        if heldByOther { throw StanzaError(.conflict, text: "that nick is in use") }
    }

    /// Whether a follower may still read the room, asked whenever something is
    /// delivered: what entering would need now, but for the password, which
    /// it gave when it subscribed (a new password ends non-members' follows,
    /// see `pruneFollowers`).
    func followerMayRead(_ user: JID, context: RoomContext) -> Bool {
        let affiliation = effectiveAffiliation(of: user, context: context)
        if affiliation == .outcast || isLocked { return false }
        return affiliation >= .member || !configuration.isMembersOnly
    }

    /// Ends the follows that the room's access no longer allows, after a
    /// configuration or affiliation change: those `followerMayRead` refuses,
    /// and, when the password changed, every follower below member.
    mutating func pruneFollowers(passwordChanged: Bool, context: RoomContext, effects: inout RoomEffects) {
        for user in subscribers.keys {
            let mustGo = !followerMayRead(user, context: context)
                || (passwordChanged && configuration.password != nil && effectiveAffiliation(of: user, context: context) < .member)
            if mustGo {
                subscribers[user] = nil
                effects.roomChanged = true
            }
        }
    }

    /// Sends `stanza` (as the room sent it to occupants) as a MucSub event to
    /// each follower of `node` who is not in the room now (those present got it
    /// directly) and may still read it.
    func notifySubscribers(_ node: String, stanza: XMLElement, eventID: String?, context: RoomContext, effects: inout RoomEffects) {
        guard !subscribers.isEmpty else { return }
        let present = Set(occupants.map(\.bareJID))
        for (user, subscriber) in subscribers
        where subscriber.nodes.contains(node) && !present.contains(user) && followerMayRead(user, context: context) {
            var inner = stanza
            inner[attribute: "to"] = user.description
            var item = XMLElement("item", namespace: "http://jabber.org/protocol/pubsub#event", attributes: ["id": eventID])
            item.append(inner)
            var items = XMLElement("items", namespace: "http://jabber.org/protocol/pubsub#event", attributes: ["node": node])
            items.append(item)
            var event = XMLElement("event", namespace: "http://jabber.org/protocol/pubsub#event")
            event.append(items)
            var message = XMLElement.stanza("message", from: jid, to: user)
            message.append(event)
            effects.send(message)
        }
    }
}
