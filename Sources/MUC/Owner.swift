import XMLStream
import XMPPCore

/// XEP-0045 §10: the owner's configuration form, instant and reserved rooms,
/// and destroying a room.
extension Room {
    /// §10.1.3, §10.2: the configuration form, for owners only.
    func configurationForm(_ iq: IQ, context: RoomContext) throws(StanzaError) -> XMLElement {
        guard effectiveAffiliation(of: iq.from.bare, context: context) == .owner else {
            throw StanzaError(.forbidden, text: "only owners may configure the room")
        }
        return XMLElement(
            "query", namespace: MUCNamespace.owner,
            children: [.element(configuration.form(admins: admins, owners: owners).element)])
    }

    mutating func ownerRequest(
        _ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects
    ) throws(StanzaError) -> XMLElement? {
        guard effectiveAffiliation(of: iq.from.bare, context: context) == .owner else {
            throw StanzaError(.forbidden, text: "only owners may configure or destroy the room")
        }
        if let destroy = payload.child("destroy", namespace: MUCNamespace.owner) {
            self.destroy(destroy, context: context, effects: &effects)
            return nil
        }
        guard let formElement = payload.child("x", namespace: Namespace.dataForms) else {
            throw StanzaError(.badRequest, text: "send a data form or <destroy/>")
        }
        let form: DataForm
        do {
            form = try DataForm(element: formElement)
        } catch {
            throw StanzaError(.badRequest, text: "bad form: \(error)")
        }
        switch form.type {
        case .cancel:
            // §10.1.3: cancelling the initial configuration destroys the new room.
            if isLocked {
                for index in occupants.indices.reversed() {
                    removeOccupant(at: index, details: PresenceDetails(type: "unavailable", payload: []), context: context, effects: &effects)
                }
                effects.destroyed = true
            }
            return nil
        case .submit:
            try applyConfiguration(form, context: context, effects: &effects)
            return nil
        case .form, .result:
            throw StanzaError(.badRequest, text: "submit the form with type='submit' or 'cancel'")
        }
    }

    /// Applies a submitted form (an empty one makes an instant room, §10.1.2)
    /// and tells the occupants what changed (§10.2.1: 104, 170–173).
    private mutating func applyConfiguration(_ form: DataForm, context: RoomContext, effects: inout RoomEffects) throws(StanzaError) {
        let submission = try configuration.applying(form)
        if submission.configuration.webLogs == true && configuration.webLogs != true
            && (!context.webLogs.allows(jid) || configuration.webLogsHidden == true) {
            throw StanzaError(.notAllowed, text: "web logs are off for this room by the service's administrators")
        }
        try checkConfigurationLimits(submission.configuration, limits: context.limits)
        let old = configuration
        if let owners = submission.owners, owners.isEmpty {
            throw StanzaError(.conflict, text: "the room must keep at least one owner")
        }
        configuration = submission.configuration
        let wasLocked = isLocked
        isLocked = false
        effects.roomChanged = true
        if let owners = submission.owners {
            for (jid, affiliation) in affiliations where affiliation == .owner && !owners.contains(jid) {
                affiliations[jid] = nil
            }
            for owner in owners { affiliations[owner] = .owner }
        }
        if let admins = submission.admins {
            for (jid, affiliation) in affiliations where affiliation == .admin && !admins.contains(jid) {
                affiliations[jid] = nil
            }
            for admin in admins where affiliations[admin] != .owner { affiliations[admin] = .admin }
        }
        // Occupants whose affiliation changed get the role that goes with it.
        for index in occupants.indices {
            let role = effectiveAffiliation(of: occupants[index].bareJID, context: context)
                .defaultRole(moderated: configuration.isModerated)
            if occupants[index].role != role && (occupants[index].role == .moderator || role == .moderator) {
                occupants[index].role = role
                broadcastPresence(of: occupants[index], details: PresenceDetails(), into: &effects, context: context)
            }
        }
        if configuration.isMembersOnly && !old.isMembersOnly {
            removeNonMembers(context: context, effects: &effects)
        }
        pruneFollowers(passwordChanged: configuration.password != old.password, context: context, effects: &effects)
        guard !wasLocked else { return }
        // §10.2.1: 104 says something other than privacy changed; logging and
        // anonymity have codes of their own (170–173), all in one message.
        var statuses: [StatusCode] = []
        var withOldPrivacy = configuration
        withOldPrivacy.isArchived = old.isArchived
        withOldPrivacy.whois = old.whois
        if withOldPrivacy != old {
            statuses.append(.configurationChanged)
        }
        if configuration.isArchived != old.isArchived {
            statuses.append(configuration.isArchived ? .loggingEnabled : .loggingDisabled)
        }
        if configuration.whois != old.whois {
            statuses.append(configuration.isNonAnonymous ? .nowNonAnonymous : .nowSemiAnonymous)
        }
        guard !statuses.isEmpty else { return }
        var message = XMLElement("message", namespace: Namespace.client, attributes: ["from": jid.description, "type": "groupchat"])
        var x = XMLElement("x", namespace: MUCNamespace.user)
        for status in statuses {
            x.append(XMLElement("status", namespace: MUCNamespace.user, attributes: ["code": String(status.rawValue)]))
        }
        message.append(x)
        sendToAll(message, effects: &effects)
    }

    /// §10.9: everyone leaves with the `<destroy/>` (alternate venue and reason) in their presence.
    private mutating func destroy(_ request: XMLElement, context: RoomContext, effects: inout RoomEffects) {
        var destroy = XMLElement("destroy", namespace: MUCNamespace.user, attributes: ["jid": request[attribute: "jid"]])
        if let reason = request.child("reason", namespace: MUCNamespace.owner)?.text {
            destroy.append(XMLElement("reason", namespace: MUCNamespace.user, text: reason))
        }
        if let password = request.child("password", namespace: MUCNamespace.owner)?.text {
            destroy.append(XMLElement("password", namespace: MUCNamespace.user, text: password))
        }
        // Each occupant is told once, about itself: the room is gone for everyone at once.
        let details = PresenceDetails(type: "unavailable", destroy: destroy, payload: [])
        for occupant in occupants {
            for session in occupant.sessions {
                effects.send(occupantPresence(
                    of: occupant, to: session, recipientRole: occupant.role, details: details,
                    occupantID: context.occupantID(self, occupant.bareJID)))
            }
        }
        occupants.removeAll()
        effects.destroyed = true
    }
}
