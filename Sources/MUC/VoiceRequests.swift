import XMLStream
import XMPPCore

/// XEP-0045 §7.13 and §8.6: a visitor asks for voice; moderators get an
/// approval form; an approved form grants the participant role.
extension Room {
    mutating func handleVoiceRequestForm(_ message: Message, form: DataForm, context: RoomContext, effects: inout RoomEffects) {
        guard let sender = occupant(session: message.from) else {
            effects.send(StanzaError(.notAcceptable, text: "you are not in this room").reply(to: message.element))
            return
        }
        if sender.role == .moderator, let allow = form.field("muc#request_allow")?.booleanValue {
            // §8.6: a moderator's answer.
            guard allow, let nick = form.field("muc#roomnick")?.value, let index = index(ofNick: nick),
                  occupants[index].role == .visitor else { return }
            occupants[index].role = .participant
            broadcastPresence(of: occupants[index], details: PresenceDetails(actorNick: sender.nick), into: &effects, context: context)
            return
        }
        guard form.field("muc#role")?.value == Role.participant.rawValue else {
            effects.send(StanzaError(.badRequest, text: "a voice request asks for muc#role participant").reply(to: message.element))
            return
        }
        guard sender.role == .visitor else { return }
        typealias F = DataForm.Field
        let approval = DataForm(
            type: .form, title: "Voice request",
            instructions: ["To approve this request for voice, select the \"Grant voice\" checkbox and submit this form."],
            fields: [
                F("FORM_TYPE", type: .hidden, values: [MUCNamespace.request]),
                F("muc#role", type: .listSingle, label: "Requested role", values: [Role.participant.rawValue]),
                F("muc#jid", type: .jidSingle, label: "User ID",
                  values: configuration.revealsJIDs(to: .moderator) ? [message.from.description] : []),
                F("muc#roomnick", type: .textSingle, label: "Room nickname", values: [sender.nick]),
                F("muc#request_allow", type: .boolean, label: "Grant voice", values: ["0"]),
            ])
        for moderator in occupants where moderator.role == .moderator {
            for session in moderator.sessions {
                var stanza = XMLElement.stanza("message", from: jid, to: session)
                stanza.append(approval.element)
                effects.send(stanza)
            }
        }
    }
}
