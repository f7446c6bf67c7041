import XMLStream
import XMPPCore

/// XEP-0045 §7.2: entering a room — the checks, then the roster, the
/// self-presence, the history and the subject, in that order.
extension Room {
    mutating func enter(_ presence: Presence, nick: String, context: RoomContext, effects: inout RoomEffects) {
        let session = presence.from
        let bareJID = session.bare
        let affiliation = effectiveAffiliation(of: bareJID, context: context)
        let mucElement = presence.element.child("x", namespace: MUCNamespace.muc)

        func refuse(_ error: StanzaError) {
            effects.send(error.reply(to: presence.element))
        }

        // §10.1.1: a locked room admits only its owners.
        if isLocked && affiliation != .owner {
            return refuse(StanzaError(.itemNotFound, text: "this room is being created and is not open yet"))
        }
        // §7.2.8: banned users may not enter.
        if affiliation == .outcast {
            return refuse(StanzaError(.forbidden, text: "you are banned from this room"))
        }
        // §7.2.7: members-only rooms admit members and above.
        if configuration.isMembersOnly && affiliation < .member {
            return refuse(StanzaError(.registrationRequired, text: "this room is for members only"))
        }
        // §7.2.6: the password, unless the room is still being set up by its owner.
        if let password = configuration.password, !isLocked {
            let given = mucElement?.child("password", namespace: MUCNamespace.muc)?.text
            guard given == password else {
                return refuse(StanzaError(.notAuthorized, text: given == nil ? "a password is required" : "wrong password"))
            }
        }
        let existing = index(ofNick: nick)
        if nickHeldByOther(nick, than: bareJID) {
            // §7.2.9: the nick belongs to someone else.
            return refuse(StanzaError(.conflict, text: "that nick is in use"))
        }
        if nickReserved(nick, except: bareJID) {
            // §7.10: a registered nick (or one a follower uses) is reserved for its owner.
            return refuse(StanzaError(.conflict, text: "that nick is reserved for another user"))
        }
        // §7.2.10: a full room turns away all but admins and owners.
        if existing == nil, let maxUsers = configuration.maxUsers, occupants.count >= maxUsers, affiliation < .admin {
            return refuse(StanzaError(.serviceUnavailable, type: .wait, text: "the room is full"))
        }
        // The service's own ceiling holds for everyone, admins too: it protects the service.
        if existing == nil, RoomLimits.exceeds(occupants.count + 1, context.limits.occupantsPerRoom) {
            return refuse(StanzaError(.serviceUnavailable, type: .wait, text: "the room is full (the service allows \(context.limits.occupantsPerRoom) occupants)"))
        }

        let payload = Self.payload(of: presence.element)
        let isNewSession: Bool
        let occupantIndex: Int
        if let existing {
            // Another session of the same user joins under the same nick.
            occupants[existing].sessions.append(session)
            occupants[existing].presencePayload = payload
            occupantIndex = existing
            isNewSession = false
        } else {
            let role = affiliation.defaultRole(moderated: configuration.isModerated)
            occupants.append(Occupant(nick: nick, bareJID: bareJID, sessions: [session], role: role, presencePayload: payload))
            occupantIndex = occupants.count - 1
            isNewSession = true
        }
        let occupant = occupants[occupantIndex]

        // §7.2.3: first the presence of everyone already there…
        for other in occupants where other.nick != nick && configuration.presenceBroadcast.contains(other.role) {
            effects.send(occupantPresence(
                of: other, to: session, recipientRole: occupant.role,
                occupantID: context.occupantID(self, other.bareJID)))
        }
        // …then the newcomer's presence to everyone else, and to itself with its status codes (§7.2.4).
        var selfStatuses: [StatusCode] = []
        if configuration.isNonAnonymous { selfStatuses.append(.nonAnonymous) }
        if configuration.isArchived { selfStatuses.append(.loggingEnabled) }
        if isLocked { selfStatuses.append(.roomCreated) }
        let occupantID = context.occupantID(self, bareJID)
        if isNewSession && configuration.presenceBroadcast.contains(occupant.role) {
            for other in occupants where other.nick != nick {
                for otherSession in other.sessions {
                    effects.send(occupantPresence(
                        of: occupant, to: otherSession, recipientRole: other.role, occupantID: occupantID))
                }
            }
        }
        effects.send(occupantPresence(
            of: occupant, to: session, recipientRole: occupant.role,
            details: PresenceDetails(statuses: selfStatuses), occupantID: occupantID))

        // §7.2.15: the history, then §7.2.16: the subject.
        if let request = historyRequest(mucElement, context: context) {
            effects.outputs.append(.history(
                to: session, request, revealJIDs: configuration.revealsJIDs(to: occupant.role)))
        }
        effects.send(subjectMessage(to: session))
    }

    /// §7.2.1: a session already in the room that sends an entering presence
    /// again gets exactly what a new joiner gets; nobody else hears of it.
    mutating func resendState(to presence: Presence, occupantIndex: Int, context: RoomContext, effects: inout RoomEffects) {
        let session = presence.from
        occupants[occupantIndex].presencePayload = Self.payload(of: presence.element)
        let occupant = occupants[occupantIndex]
        for other in occupants where other.nick != occupant.nick && configuration.presenceBroadcast.contains(other.role) {
            effects.send(occupantPresence(
                of: other, to: session, recipientRole: occupant.role, occupantID: context.occupantID(self, other.bareJID)))
        }
        var statuses: [StatusCode] = []
        if configuration.isNonAnonymous { statuses.append(.nonAnonymous) }
        if configuration.isArchived { statuses.append(.loggingEnabled) }
        effects.send(occupantPresence(
            of: occupant, to: session, recipientRole: occupant.role, details: PresenceDetails(statuses: statuses),
            occupantID: context.occupantID(self, occupant.bareJID)))
        if let request = historyRequest(presence.element.child("x", namespace: MUCNamespace.muc), context: context) {
            effects.outputs.append(.history(to: session, request, revealJIDs: configuration.revealsJIDs(to: occupant.role)))
        }
        effects.send(subjectMessage(to: session))
    }

    /// The affiliation that counts for access: service administrators are owners everywhere.
    func effectiveAffiliation(of bareJID: JID, context: RoomContext) -> Affiliation {
        if context.serviceAdmins.contains(bareJID) { return .owner }
        return affiliation(of: bareJID)
    }

    /// XEP-0045 §7.2.15: what history the joiner asked for, within the room's limit.
    func historyRequest(_ mucElement: XMLElement?, context: RoomContext) -> HistoryRequest? {
        let limit = configuration.historyLength
        guard limit > 0 else { return nil }
        guard let history = mucElement?.child("history", namespace: MUCNamespace.muc) else {
            return HistoryRequest(maxStanzas: limit)
        }
        var request = HistoryRequest(maxStanzas: limit)
        if let raw = history[attribute: "maxstanzas"], let value = Int(raw), value >= 0 {
            request.maxStanzas = min(value, limit)
        }
        if let raw = history[attribute: "maxchars"], let value = Int(raw), value >= 0 {
            request.maxChars = value
        }
        if let raw = history[attribute: "seconds"], let value = Double(raw), value >= 0 {
            request.since = context.now - value
        }
        if let raw = history[attribute: "since"], let since = DateTime.parse(raw) {
            request.since = max(request.since ?? since, since)
        }
        if request.maxStanzas == 0 || request.maxChars == 0 { return nil }
        return request
    }
}
