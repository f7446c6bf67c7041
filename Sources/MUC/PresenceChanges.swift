import XMLStream
import XMPPCore

/// XEP-0045 §7.6 (nick change), §7.7 (status change), §7.14 (exit), and the
/// removal of occupants whose client has gone away.
extension Room {
    /// §7.7: a new show/status is broadcast to everyone.
    mutating func updatePresence(_ presence: Presence, occupantIndex: Int, context: RoomContext, effects: inout RoomEffects) {
        occupants[occupantIndex].presencePayload = Self.payload(of: presence.element)
        broadcastPresence(of: occupants[occupantIndex], details: PresenceDetails(), into: &effects, context: context)
    }

    /// §7.6: unavailable under the old nick with 303 and the new nick, then
    /// available under the new one.
    mutating func changeNick(
        _ presence: Presence, occupantIndex: Int, newNick: String, context: RoomContext, effects: inout RoomEffects
    ) {
        let occupant = occupants[occupantIndex]
        if nickHeldByOther(newNick, than: occupant.bareJID) {
            effects.send(StanzaError(.conflict, text: "that nick is in use").reply(to: presence.element))
            return
        }
        if nickReserved(newNick, except: occupant.bareJID) {
            effects.send(StanzaError(.conflict, text: "that nick is reserved for another user").reply(to: presence.element))
            return
        }
        if index(ofNick: newNick) != nil {
            // The user already has another occupant under that nick: keep it simple and refuse.
            effects.send(StanzaError(.conflict, text: "you are already in the room under that nick").reply(to: presence.element))
            return
        }
        broadcastPresence(
            of: occupant,
            details: PresenceDetails(type: "unavailable", statuses: [.nickChanged], newNick: newNick, payload: []),
            into: &effects, context: context)
        occupants[occupantIndex].nick = newNick
        occupants[occupantIndex].presencePayload = Self.payload(of: presence.element)
        broadcastPresence(of: occupants[occupantIndex], details: PresenceDetails(), into: &effects, context: context)
    }

    /// RFC 6121 §4.3 in a room (as Prosody does): an occupant refreshing one
    /// other occupant gets that occupant's current presence, as it may see it;
    /// a nick nobody has answers `unavailable`. Non-occupants learn nothing.
    func answerProbe(_ presence: Presence, nick: String, context: RoomContext, effects: inout RoomEffects) {
        guard let prober = occupant(session: presence.from) else {
            effects.send(StanzaError(.notAcceptable, text: "you are not in this room").reply(to: presence.element))
            return
        }
        let isSelf = prober.nick == nick
        guard let target = occupant(nick: nick), isSelf || configuration.presenceBroadcast.contains(target.role) else {
            effects.send(XMLElement.stanza("presence", from: occupantJID(nick), to: presence.from, type: "unavailable"))
            return
        }
        effects.send(occupantPresence(
            of: target, to: presence.from, recipientRole: prober.role, occupantID: context.occupantID(self, target.bareJID)))
    }

    /// §7.14: the leaver and everyone else get unavailable presence, with the
    /// leaver's status text. A user with other sessions stays in the room.
    mutating func exit(_ presence: Presence, context: RoomContext, effects: inout RoomEffects) {
        guard let index = index(ofSession: presence.from) else { return }
        let payload = presence.status.map { [XMLNode.element(XMLElement("status", namespace: Namespace.client, text: $0))] } ?? []
        removeSession(
            presence.from, occupantIndex: index,
            details: PresenceDetails(type: "unavailable", payload: payload), context: context, effects: &effects)
    }

    /// The server bounced something we sent to an occupant's session: the
    /// client is gone, so the occupant leaves with status 333 instead of
    /// haunting the room (XEP-0045 §15.6.2). Errors that do not mean the
    /// client is gone (a full offline store, a policy) are ignored.
    mutating func removeGhost(_ session: JID, error: StanzaError?, context: RoomContext, effects: inout RoomEffects) {
        guard let index = index(ofSession: session) else { return }
        let gone: Set<StanzaError.Condition> = [
            .recipientUnavailable, .serviceUnavailable, .itemNotFound, .remoteServerNotFound,
            .remoteServerTimeout, .gone, .redirect, .jidMalformed,
        ]
        guard let error, gone.contains(error.condition) else { return }
        removeSession(
            session, occupantIndex: index,
            details: PresenceDetails(type: "unavailable", statuses: [.removedError], reason: "the client went away", payload: []),
            context: context, effects: &effects)
    }

    /// Removes one session; when it was the occupant's last, the occupant
    /// leaves and everyone is told. The removed session is told either way.
    mutating func removeSession(
        _ session: JID, occupantIndex: Int, details: PresenceDetails, context: RoomContext, effects: inout RoomEffects
    ) {
        var occupant = occupants[occupantIndex]
        occupant.sessions.removeAll { $0 == session }
        let selfCopy = Occupant(
            nick: occupant.nick, bareJID: occupant.bareJID, sessions: [session], role: occupant.role,
            presencePayload: occupant.presencePayload)
        if occupant.sessions.isEmpty {
            occupants.remove(at: occupantIndex)
            broadcastPresence(of: selfCopy, details: details, into: &effects, context: context, alsoTo: [session])
        } else {
            occupants[occupantIndex] = occupant
            effects.send(occupantPresence(
                of: selfCopy, to: session, recipientRole: occupant.role, details: details,
                occupantID: context.occupantID(self, occupant.bareJID)))
        }
        if occupants.isEmpty && !configuration.isPersistent {
            effects.destroyed = true
        }
    }

    /// Removes every session of an occupant (kick, ban, membership loss).
    mutating func removeOccupant(at index: Int, details: PresenceDetails, context: RoomContext, effects: inout RoomEffects) {
        let occupant = occupants.remove(at: index)
        broadcastPresence(of: occupant, details: details, into: &effects, context: context, alsoTo: occupant.sessions)
        if occupants.isEmpty && !configuration.isPersistent {
            effects.destroyed = true
        }
    }
}
