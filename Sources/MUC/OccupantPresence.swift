import XMLStream
import XMPPCore

/// How occupants' presences are built for each recipient (XEP-0045 §7.2.3,
/// §7.2.4): the `muc#user` item with role and affiliation, the real JID only
/// for those allowed to see it, the status codes, and the occupant id.
extension Room {
    /// Extra content for one presence broadcast.
    struct PresenceDetails {
        var type: String? = nil
        var statuses: [StatusCode] = []
        /// `<item nick=…/>` for a nick change (303).
        var newNick: String? = nil
        var reason: String? = nil
        /// The moderator who did it, by nick (XEP-0045 §8.2 `<actor nick=…/>`).
        var actorNick: String? = nil
        var destroy: XMLElement? = nil
        /// Payload to carry instead of the occupant's stored presence (for unavailable).
        var payload: [XMLNode]? = nil
    }

    /// The presence of `occupant` addressed to `recipient`, as a user with `recipientRole` sees it.
    func occupantPresence(
        of occupant: Occupant, to recipient: JID, recipientRole: Role, details: PresenceDetails = PresenceDetails(),
        occupantID: String?
    ) -> XMLElement {
        var stanza = XMLElement.stanza(
            "presence", from: occupantJID(occupant.nick), to: recipient, type: details.type)
        stanza.children += details.payload ?? occupant.presencePayload
        let isSelf = occupant.sessions.contains(recipient)
        // A user always knows its own JID (Prosody says it too; aioxmpp reads it as `room.me.direct_jid`).
        let realJID = isSelf ? recipient : configuration.revealsJIDs(to: recipientRole) ? occupant.sessions.first : nil
        // XEP-0045 §7.6: the unavailable half of a nick change keeps the occupant's role.
        let leaves = details.type == "unavailable" && details.newNick == nil
        var x = XMLElement("x", namespace: MUCNamespace.user)
        var item = XMLElement(
            "item", namespace: MUCNamespace.user,
            attributes: [
                "affiliation": affiliation(of: occupant.bareJID).rawValue,
                "role": (leaves ? Role.none : occupant.role).rawValue,
                "jid": realJID?.description,
                "nick": details.newNick,
            ])
        if let actorNick = details.actorNick {
            item.append(XMLElement("actor", namespace: MUCNamespace.user, attributes: ["nick": actorNick]))
        }
        if let reason = details.reason {
            item.append(XMLElement("reason", namespace: MUCNamespace.user, text: reason))
        }
        x.append(item)
        var statuses = details.statuses
        if isSelf {
            statuses.append(.selfPresence)
        }
        for status in Set(statuses).sorted() {
            x.append(XMLElement("status", namespace: MUCNamespace.user, attributes: ["code": String(status.rawValue)]))
        }
        if let destroy = details.destroy { x.append(destroy) }
        stanza.append(x)
        if let occupantID {
            stanza.append(XMLElement("occupant-id", namespace: MUCNamespace.occupantID, attributes: ["id": occupantID]))
        }
        return stanza
    }

    /// Sends `occupant`'s presence to every session in the room that should
    /// see it (XEP-0045 §7.2.3; `presencebroadcast` limits who is shown to
    /// others, but an occupant always sees itself).
    func broadcastPresence(
        of occupant: Occupant, details: PresenceDetails, into effects: inout RoomEffects, context: RoomContext,
        alsoTo formerSessions: [JID] = []
    ) {
        let occupantID = context.occupantID(self, occupant.bareJID)
        let visible = configuration.presenceBroadcast.contains(occupant.role) || details.type == "unavailable"
        // Everyone else sees one of two presences, with the real JID or without: each is
        // built once and fanned out (one stanza per group through a multicast service).
        var revealing: (role: Role?, sessions: [JID]) = (nil, [])
        var concealing: (role: Role?, sessions: [JID]) = (nil, [])
        for recipient in occupants {
            let isSelf = recipient.bareJID == occupant.bareJID && recipient.nick == occupant.nick
            guard visible || isSelf else { continue }
            for session in recipient.sessions {
                if isSelf || occupant.sessions.contains(session) {
                    effects.send(occupantPresence(
                        of: occupant, to: session, recipientRole: recipient.role, details: details, occupantID: occupantID))
                } else if configuration.revealsJIDs(to: recipient.role) {
                    revealing.role = revealing.role ?? recipient.role
                    revealing.sessions.append(session)
                } else {
                    concealing.role = concealing.role ?? recipient.role
                    concealing.sessions.append(session)
                }
            }
        }
        for group in [revealing, concealing] {
            guard let role = group.role, let first = group.sessions.first else { continue }
            var stanza = occupantPresence(of: occupant, to: first, recipientRole: role, details: details, occupantID: occupantID)
            stanza[attribute: "to"] = nil
            effects.outputs.append(.fanOut(stanza, recipients: group.sessions))
        }
        for session in formerSessions {
            effects.send(occupantPresence(
                of: occupant, to: session, recipientRole: occupant.role, details: details, occupantID: occupantID))
        }
        if visible && !subscribers.isEmpty {
            // Followers see presence as a participant would (no real JIDs unless the room shows them to all).
            let stanza = occupantPresence(
                of: occupant, to: jid, recipientRole: .participant, details: details, occupantID: occupantID)
            notifySubscribers(MucSubNode.presence, stanza: stanza, eventID: nil, context: context, effects: &effects)
        }
    }

    /// The presence payload worth keeping from a client's presence: everything
    /// but the MUC elements, which only the room may set.
    static func payload(of presence: XMLElement) -> [XMLNode] {
        presence.children.filter { node in
            guard case .element(let child) = node else { return false }
            return child.namespace != MUCNamespace.muc && child.namespace != MUCNamespace.user
                && child.namespace != MUCNamespace.occupantID
        }
    }
}

extension RoomContext {
    /// XEP-0421: the occupant id of a user in a room.
    func occupantID(_ room: Room, _ bareJID: JID) -> String {
        makeOccupantID(room.occupantIDSalt, bareJID)
    }
}
