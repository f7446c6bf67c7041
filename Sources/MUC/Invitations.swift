import XMLStream
import XMPPCore

/// XEP-0045 §7.8.2: mediated invitations, and declines (§7.8.2 end).
extension Room {
    mutating func invite(_ message: Message, user: XMLElement, context: RoomContext, effects: inout RoomEffects) {
        guard let inviter = occupant(session: message.from) else {
            effects.send(StanzaError(.notAcceptable, text: "join the room before inviting others").reply(to: message.element))
            return
        }
        let inviterAffiliation = effectiveAffiliation(of: inviter.bareJID, context: context)
        let mayInvite = inviter.role == .moderator || inviterAffiliation >= .admin
            || (configuration.occupantsMayInvite && inviter.role >= .participant)
        guard mayInvite else {
            effects.send(StanzaError(.forbidden, text: "you may not invite others to this room").reply(to: message.element))
            return
        }
        for invitation in user.children("invite", namespace: MUCNamespace.user) {
            guard let rawTo = invitation[attribute: "to"], let invitee = try? JID(rawTo) else {
                effects.send(StanzaError(.jidMalformed, text: "an invitation needs a valid 'to'").reply(to: message.element))
                return
            }
            // In a members-only room an invitation from an admin makes the invitee a member (§7.8.2).
            if configuration.isMembersOnly && inviterAffiliation >= .admin && affiliation(of: invitee) < .member
                && affiliation(of: invitee) != .outcast {
                affiliations[invitee.bare] = .member
                effects.roomChanged = true
            }
            let reason = invitation.child("reason", namespace: MUCNamespace.user)?.text
            var x = XMLElement("x", namespace: MUCNamespace.user)
            var forwarded = XMLElement("invite", namespace: MUCNamespace.user, attributes: ["from": message.from.description])
            if let reason { forwarded.append(XMLElement("reason", namespace: MUCNamespace.user, text: reason)) }
            x.append(forwarded)
            if let password = configuration.password {
                x.append(XMLElement("password", namespace: MUCNamespace.user, text: password))
            }
            if invitationsSent[invitee.bare] == nil && invitationsSent.count >= Self.maximumPendingInvitations,
               let oldest = invitationsSent.keys.first {
                invitationsSent[oldest] = nil
            }
            invitationsSent[invitee.bare, default: []].insert(message.from)
            var stanza = XMLElement.stanza("message", from: jid, to: invitee, id: message.id)
            stanza.append(x)
            stanza.append(XMLElement(
                "body", namespace: Namespace.client,
                text: "\(message.from.bare) invites you to the room \(jid)" + (reason.map { ": \($0)" } ?? "")))
            effects.send(stanza)
        }
    }

    static let maximumPendingInvitations = 1000

    /// The invitee declines: the room passes it on to the inviter — only to
    /// someone who did invite it, so a decline cannot carry text to anyone.
    mutating func decline(_ message: Message, user: XMLElement, effects: inout RoomEffects) {
        guard let decline = user.child("decline", namespace: MUCNamespace.user),
              let rawTo = decline[attribute: "to"], let inviter = try? JID(rawTo) else {
            effects.send(StanzaError(.badRequest, text: "a decline needs a valid 'to'").reply(to: message.element))
            return
        }
        let invitee = message.from.bare
        guard let inviters = invitationsSent[invitee],
              let invitation = inviters.first(where: { $0 == inviter || $0.bare == inviter }) else {
            effects.send(StanzaError(.notAcceptable, text: "\(inviter) did not invite you to this room")
                .reply(to: message.element))
            return
        }
        invitationsSent[invitee]?.remove(invitation)
        if invitationsSent[invitee]?.isEmpty == true { invitationsSent[invitee] = nil }
        var forwarded = XMLElement("decline", namespace: MUCNamespace.user, attributes: ["from": message.from.bare.description])
        if let reason = decline.child("reason", namespace: MUCNamespace.user)?.text {
            forwarded.append(XMLElement("reason", namespace: MUCNamespace.user, text: reason))
        }
        var stanza = XMLElement.stanza("message", from: jid, to: inviter, id: message.id)
        stanza.append(XMLElement("x", namespace: MUCNamespace.user, children: [.element(forwarded)]))
        effects.send(stanza)
    }
}
