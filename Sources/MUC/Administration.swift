import XMLStream
import XMPPCore

/// XEP-0045 §8 (moderators change roles: kick, voice), §9 (admins change
/// affiliations: ban, membership, moderator status) and §10.3–10.7 (owners
/// manage admins and owners), all through `muc#admin` items.
extension Room {
    /// One requested change, validated before any is applied (the request is all or nothing).
    private enum Change {
        case role(nick: String, role: Role, reason: String?)
        case affiliation(jid: JID, affiliation: Affiliation, reason: String?)
    }

    /// §9.5, §9.8, §10.5, §10.8, §8.5: the lists of users with an affiliation or occupants with a role.
    func adminList(_ iq: IQ, payload: XMLElement, context: RoomContext) throws(StanzaError) -> XMLElement {
        let items = payload.children("item", namespace: MUCNamespace.admin)
        guard items.count == 1, let item = items.first else {
            throw StanzaError(.badRequest, text: "ask for one list: <item affiliation='…'/> or <item role='…'/>")
        }
        let requesterAffiliation = effectiveAffiliation(of: iq.from.bare, context: context)
        var query = XMLElement("query", namespace: MUCNamespace.admin)
        if let raw = item[attribute: "affiliation"] {
            guard let affiliation = Affiliation(rawValue: raw), affiliation != .none else {
                throw StanzaError(.badRequest, text: "no list for affiliation '\(raw)'")
            }
            guard requesterAffiliation >= .admin else {
                throw StanzaError(.forbidden, text: "only admins and owners may see affiliation lists")
            }
            // §10.5, §10.8: in semi-anonymous rooms only owners see who the owners and admins are.
            if affiliation >= .admin && requesterAffiliation < .owner && !configuration.isNonAnonymous {
                throw StanzaError(.forbidden, text: "only owners may see the \(affiliation.rawValue) list of this room")
            }
            for (jid, value) in affiliations.sorted(by: { $0.key < $1.key }) where value == affiliation {
                query.append(XMLElement(
                    "item", namespace: MUCNamespace.admin,
                    attributes: ["affiliation": value.rawValue, "jid": jid.description, "nick": registeredNicks[jid]]))
            }
            return query
        }
        if let raw = item[attribute: "role"] {
            guard let role = Role(rawValue: raw), role != .none else {
                throw StanzaError(.badRequest, text: "no list for role '\(raw)'")
            }
            guard let requester = occupant(session: iq.from), requester.role == .moderator else {
                throw StanzaError(.forbidden, text: "only moderators may see role lists")
            }
            for occupant in occupants where occupant.role == role {
                query.append(XMLElement(
                    "item", namespace: MUCNamespace.admin,
                    attributes: [
                        "role": role.rawValue, "nick": occupant.nick,
                        "affiliation": affiliation(of: occupant.bareJID).rawValue,
                        "jid": configuration.revealsJIDs(to: requester.role) ? occupant.sessions.first?.description : nil,
                    ]))
            }
            return query
        }
        throw StanzaError(.badRequest, text: "an item needs an affiliation or a role")
    }

    /// Applies the items of an admin `set`. Returns the notices about users who
    /// are not in the room, which go out before the IQ result (as Prosody sends them).
    mutating func adminChange(
        _ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects
    ) throws(StanzaError) -> [RoomEffects.Output] {
        let items = payload.children("item", namespace: MUCNamespace.admin)
        guard !items.isEmpty else { throw StanzaError(.badRequest, text: "no items") }
        // Every item may send a courtesy message to someone outside: a request is no mass mailing.
        guard items.count <= Self.maximumAdminItems else {
            throw StanzaError(.policyViolation, text: "at most \(Self.maximumAdminItems) items per request")
        }
        let actor = occupant(session: iq.from)
        let actorAffiliation = effectiveAffiliation(of: iq.from.bare, context: context)
        var changes: [Change] = []
        for item in items {
            let reason = item.child("reason", namespace: MUCNamespace.admin)?.text
            if let raw = item[attribute: "role"] {
                guard let role = Role(rawValue: raw) else { throw StanzaError(.badRequest, text: "unknown role '\(raw)'") }
                guard let nick = item[attribute: "nick"] else { throw StanzaError(.badRequest, text: "a role change needs a nick") }
                try checkRoleChange(nick: nick, to: role, actor: actor, actorAffiliation: actorAffiliation)
                changes.append(.role(nick: nick, role: role, reason: reason))
            } else if let raw = item[attribute: "affiliation"] {
                guard let affiliation = Affiliation(rawValue: raw) else {
                    throw StanzaError(.badRequest, text: "unknown affiliation '\(raw)'")
                }
                let target: JID
                if let rawJID = item[attribute: "jid"] {
                    guard let jid = try? JID(rawJID) else { throw StanzaError(.jidMalformed, text: "'\(rawJID)' is not a JID") }
                    target = jid.bare
                } else if let nick = item[attribute: "nick"], let occupant = occupant(nick: nick) {
                    target = occupant.bareJID
                } else {
                    throw StanzaError(.badRequest, text: "an affiliation change needs a jid (or the nick of an occupant)")
                }
                if affiliation == .outcast && target == iq.from.bare {
                    // §9.1: an admin or owner cannot ban himself.
                    throw StanzaError(.conflict, text: "you cannot ban yourself")
                }
                try checkAffiliationChange(of: target, to: affiliation, actorAffiliation: actorAffiliation)
                changes.append(.affiliation(jid: target, affiliation: affiliation, reason: reason))
            } else {
                throw StanzaError(.badRequest, text: "an item needs a role or an affiliation")
            }
        }
        try checkOwnersRemain(after: changes)
        var notices: [RoomEffects.Output] = []
        for change in changes {
            switch change {
            case .role(let nick, let role, let reason):
                applyRole(role, toNick: nick, actorNick: actor?.nick, reason: reason, context: context, effects: &effects)
            case .affiliation(let jid, let affiliation, let reason):
                let isPresent = occupants.contains { affiliationApplies(jid, to: $0.bareJID) }
                let changed = affiliations[jid] ?? .none != affiliation
                setAffiliation(affiliation, of: jid, actorNick: actor?.nick, reason: reason, context: context, effects: &effects)
                if !isPresent && changed {
                    notices += affiliationNotices(jid: jid, affiliation: affiliation, reason: reason)
                }
            }
        }
        return notices
    }

    static let maximumAdminItems = 50

    /// The affiliation of a user who is not in the room changed: the occupants
    /// who may see real JIDs are told with a message from the room, and the user
    /// gets the courtesy message with status 101 at its bare JID (XEP-0045 §17.1, item 2).
    private func affiliationNotices(jid: JID, affiliation: Affiliation, reason: String?) -> [RoomEffects.Output] {
        func userData(statuses: [StatusCode], reason: String?) -> XMLElement {
            var item = XMLElement(
                "item", namespace: MUCNamespace.user, attributes: ["jid": jid.description, "affiliation": affiliation.rawValue])
            if let reason { item.append(XMLElement("reason", namespace: MUCNamespace.user, text: reason)) }
            var x = XMLElement("x", namespace: MUCNamespace.user, children: [.element(item)])
            for status in statuses {
                x.append(XMLElement("status", namespace: MUCNamespace.user, attributes: ["code": String(status.rawValue)]))
            }
            return x
        }
        var outputs: [RoomEffects.Output] = []
        let witnesses = occupants.filter { configuration.revealsJIDs(to: $0.role) }.flatMap(\.sessions)
        if !witnesses.isEmpty {
            let notice = XMLElement(
                "message", namespace: Namespace.client, attributes: ["from": self.jid.description],
                children: [.element(userData(statuses: [], reason: reason))])
            outputs.append(.fanOut(notice, recipients: witnesses))
        }
        var courtesy = XMLElement.stanza("message", from: self.jid, to: jid)
        courtesy.append(XMLElement(
            "body", namespace: Namespace.client,
            text: "Your affiliation with the room \(self.jid) is now \(affiliation.rawValue)."))
        // The actor's reason is not passed to someone outside the room: a room is no relay.
        courtesy.append(userData(statuses: [.affiliationChanged], reason: nil))
        outputs.append(.stanza(courtesy))
        return outputs
    }

    /// §8.2–8.5, §9.6–9.7: who may give or take which role.
    private func checkRoleChange(nick: String, to role: Role, actor: Occupant?, actorAffiliation: Affiliation) throws(StanzaError) {
        guard let actor, actor.role == .moderator else {
            throw StanzaError(.notAllowed, text: "only moderators may change roles")
        }
        guard let target = occupant(nick: nick) else {
            throw StanzaError(.itemNotFound, text: "nobody in the room is called \(nick)")
        }
        let targetAffiliation = affiliation(of: target.bareJID)
        if role == .moderator || target.role == .moderator {
            // Granting or revoking moderator status is for admins and owners (§9.6, §9.7).
            guard actorAffiliation >= .admin else {
                throw StanzaError(.notAllowed, text: "only admins and owners may grant or revoke moderator status")
            }
        }
        if targetAffiliation >= .admin && role != .moderator {
            // §8.2, §9.7: admins and owners cannot be kicked or demoted from moderator.
            throw StanzaError(.notAllowed, text: "\(nick) is an \(targetAffiliation.rawValue) of this room")
        }
    }

    /// §9, §10.3–10.7: admins manage members and outcasts below them; owners manage everyone.
    private func checkAffiliationChange(of target: JID, to affiliation: Affiliation, actorAffiliation: Affiliation) throws(StanzaError) {
        guard actorAffiliation >= .admin else {
            throw StanzaError(.notAllowed, text: "only admins and owners may change affiliations")
        }
        let current = self.affiliation(of: target)
        if actorAffiliation == .admin && (current >= .admin || affiliation >= .admin) {
            throw StanzaError(.notAllowed, text: "only owners may change admins and owners")
        }
    }

    /// §10.7: a room always keeps at least one owner.
    private func checkOwnersRemain(after changes: [Change]) throws(StanzaError) {
        var owners = Set(affiliations.filter { $0.value == .owner }.map(\.key))
        guard !owners.isEmpty else { return }
        for case .affiliation(let jid, let affiliation, _) in changes {
            if affiliation == .owner { owners.insert(jid) } else { owners.remove(jid) }
        }
        if owners.isEmpty {
            throw StanzaError(.conflict, text: "the room must keep at least one owner")
        }
    }

    private mutating func applyRole(
        _ role: Role, toNick nick: String, actorNick: String?, reason: String?, context: RoomContext,
        effects: inout RoomEffects
    ) {
        guard let index = index(ofNick: nick) else { return }
        if role == .none {
            removeOccupant(
                at: index,
                details: PresenceDetails(type: "unavailable", statuses: [.kicked], reason: reason, actorNick: actorNick, payload: []),
                context: context, effects: &effects)
            return
        }
        occupants[index].role = role
        broadcastPresence(
            of: occupants[index], details: PresenceDetails(reason: reason, actorNick: actorNick), into: &effects, context: context)
    }

    /// Records an affiliation and carries out what it means for the user's occupants now in the room.
    mutating func setAffiliation(
        _ affiliation: Affiliation, of jid: JID, actorNick: String?, reason: String?, keepingRoles: Bool = false,
        context: RoomContext, effects: inout RoomEffects
    ) {
        if affiliation == .none {
            affiliations[jid] = nil
        } else {
            affiliations[jid] = affiliation
        }
        if affiliation < .member { registeredNicks[jid] = nil }
        // A banned user stops following the room, as does a non-member of a members-only
        // room, or of a password room (it would read it without the password); every user
        // of a server, when it is the server that is affiliated.
        if affiliation == .outcast || (affiliation < .member && (configuration.isMembersOnly || configuration.password != nil)) {
            for follower in subscribers.keys where affiliationApplies(jid, to: follower) {
                subscribers[follower] = nil
            }
        }
        effects.roomChanged = true
        for index in occupants.indices.reversed() where affiliationApplies(jid, to: occupants[index].bareJID) {
            if affiliation == .outcast {
                // §9.1: banned, status 301.
                removeOccupant(
                    at: index,
                    details: PresenceDetails(type: "unavailable", statuses: [.banned], reason: reason, actorNick: actorNick, payload: []),
                    context: context, effects: &effects)
            } else if configuration.isMembersOnly && affiliation < .member {
                // §9.4: no longer a member of a members-only room, status 321.
                removeOccupant(
                    at: index,
                    details: PresenceDetails(type: "unavailable", statuses: [.removedAffiliationChange], reason: reason,
                                             actorNick: actorNick, payload: []),
                    context: context, effects: &effects)
            } else {
                if !keepingRoles {
                    occupants[index].role = affiliation.defaultRole(moderated: configuration.isModerated)
                }
                broadcastPresence(
                    of: occupants[index], details: PresenceDetails(reason: reason, actorNick: actorNick),
                    into: &effects, context: context)
            }
        }
    }

    /// §9.3/§10.2: when a room becomes members-only, non-members present leave with 322.
    mutating func removeNonMembers(context: RoomContext, effects: inout RoomEffects) {
        for index in occupants.indices.reversed() where effectiveAffiliation(of: occupants[index].bareJID, context: context) < .member {
            removeOccupant(
                at: index, details: PresenceDetails(type: "unavailable", statuses: [.removedMembersOnly], payload: []),
                context: context, effects: &effects)
        }
    }
}
