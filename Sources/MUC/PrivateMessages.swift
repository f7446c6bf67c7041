import XMLStream
import XMPPCore

/// XEP-0045 §7.5: a private message from one occupant to another, through
/// their occupant JIDs, subject to the room's `allowpm` setting.
extension Room {
    mutating func sendPrivateMessage(_ message: Message, to nick: String, context: RoomContext, effects: inout RoomEffects) {
        guard let sender = occupant(session: message.from) else {
            effects.send(StanzaError(.notAcceptable, text: "you are not in this room").reply(to: message.element))
            return
        }
        guard let recipient = occupant(nick: nick) else {
            effects.send(StanzaError(.itemNotFound, text: "nobody in the room is called \(nick)").reply(to: message.element))
            return
        }
        let allowed: Bool
        switch configuration.privateMessages {
        case .anyone: allowed = true
        case .participants: allowed = sender.role >= .participant
        case .moderators: allowed = sender.role == .moderator
        case .none: allowed = false
        }
        guard allowed else {
            effects.send(StanzaError(.forbidden, text: "private messages are not allowed for you here").reply(to: message.element))
            return
        }
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": occupantJID(sender.nick).description, "type": message.element[attribute: "type"],
                         "id": message.id])
        for node in message.element.children {
            guard case .element(let child) = node, !Self.isRoomAssigned(child) else { continue }
            stanza.append(child)
        }
        // §7.5: mark it as coming through the room, so clients do not take it for a direct chat.
        stanza.append(XMLElement("x", namespace: MUCNamespace.user))
        stanza.append(XMLElement(
            "occupant-id", namespace: MUCNamespace.occupantID,
            attributes: ["id": context.occupantID(self, sender.bareJID)]))
        for session in recipient.sessions {
            var copy = stanza
            copy[attribute: "to"] = session.description
            effects.send(copy)
        }
    }
}
