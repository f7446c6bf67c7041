import XMLStream
import XMPPCore

/// XEP-0045 §7.10: registering with a room reserves a nick and makes the user
/// a member. Open rooms accept at once; members-only rooms take members from
/// their admins instead.
extension Room {
    func registrationForm(_ iq: IQ) throws(StanzaError) -> XMLElement {
        var query = XMLElement("query", namespace: MUCNamespace.inBandRegister)
        if let nick = registeredNicks[iq.from.bare] {
            // Already registered (XEP-0077 §3.1): say so, with the nick.
            query.append(XMLElement("registered", namespace: MUCNamespace.inBandRegister))
            query.append(XMLElement("username", namespace: MUCNamespace.inBandRegister, text: nick))
            return query
        }
        typealias F = DataForm.Field
        query.append(XMLElement("instructions", namespace: MUCNamespace.inBandRegister, text: "Reserve a nick in this room."))
        query.append(DataForm(
            type: .form, title: "Room registration",
            fields: [
                F("FORM_TYPE", type: .hidden, values: [MUCNamespace.register]),
                F("muc#register_roomnick", type: .textSingle, label: "Nick", isRequired: true),
            ]).element)
        return query
    }

    mutating func register(
        _ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects
    ) throws(StanzaError) -> XMLElement? {
        let user = iq.from.bare
        if payload.child("remove", namespace: MUCNamespace.inBandRegister) != nil {
            guard registeredNicks[user] != nil else { throw StanzaError(.itemNotFound, text: "you are not registered") }
            registeredNicks[user] = nil
            if affiliation(of: user) == .member {
                setAffiliation(.none, of: user, actorNick: nil, reason: nil, context: context, effects: &effects)
            }
            effects.roomChanged = true
            return nil
        }
        guard let formElement = payload.child("x", namespace: Namespace.dataForms),
              let form = try? DataForm(element: formElement), form.type == .submit,
              let rawNick = form.field("muc#register_roomnick")?.value, !rawNick.isEmpty else {
            throw StanzaError(.badRequest, text: "submit the registration form with muc#register_roomnick")
        }
        guard let nick = try? jid.withResource(rawNick).resourcepart else {
            throw StanzaError(.notAcceptable, text: "'\(rawNick)' cannot be a nick")
        }
        if let problem = Nickname.problem(nick) { throw StanzaError(.notAcceptable, text: problem) }
        let affiliation = effectiveAffiliation(of: user, context: context)
        guard affiliation != .outcast else { throw StanzaError(.forbidden, text: "you are banned from this room") }
        if configuration.isMembersOnly && affiliation < .member {
            throw StanzaError(.notAllowed, text: "members of this room are added by its admins")
        }
        // Membership opens the archive, following and alerts: it must not be a way around
        // the room's password or its lock. Whoever entered (with the password) may register.
        if affiliation < .member && (isLocked || configuration.password != nil) && occupant(session: iq.from) == nil {
            throw StanzaError(
                isLocked ? .itemNotFound : .notAuthorized,
                text: isLocked ? "this room is not open yet" : "enter the room with its password before registering")
        }
        if nickReserved(nick, except: user)
            || nickHeldByOther(nick, than: user) {
            throw StanzaError(.conflict, text: "that nick is taken")
        }
        registeredNicks[user] = nick
        // Registering reserves the nick. In an open room it also makes the user a member
        // (§7.10); in a moderated one membership would give voice on the next entry (members
        // are participants there), so it stays a moderator's or admin's to grant.
        if affiliation < .member && !configuration.isModerated {
            setAffiliation(.member, of: user, actorNick: nil, reason: nil, keepingRoles: true, context: context, effects: &effects)
        }
        effects.roomChanged = true
        return nil
    }
}
