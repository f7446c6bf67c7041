import XMLStream
import XMPPCore

/// XEP-0045 §8.1: the room subject — who may change it, the broadcast, and
/// the subject message every joiner gets last.
extension Room {
    mutating func changeSubject(_ message: Message, context: RoomContext, effects: inout RoomEffects) {
        guard let sender = occupant(session: message.from) else {
            effects.send(StanzaError(.notAcceptable, text: "you are not in this room").reply(to: message.element))
            return
        }
        let allowed = sender.role == .moderator
            || (configuration.occupantsMayChangeSubject && sender.role >= .participant)
        guard allowed else {
            effects.send(StanzaError(.forbidden, text: "only moderators may change the subject here").reply(to: message.element))
            return
        }
        let text = message.subject ?? ""
        subject = RoomSubject(text: text, nick: sender.nick, date: context.now)
        effects.roomChanged = true
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": occupantJID(sender.nick).description, "type": "groupchat", "id": message.id])
        // Like groupchat, the sender's <thread/> and extensions go along; only the room's own elements are not taken.
        for node in message.element.children {
            guard case .element(let child) = node, !Self.isRoomAssigned(child) else { continue }
            stanza.append(child)
        }
        sendToAll(stanza, effects: &effects)
        notifySubscribers(MucSubNode.subject, stanza: stanza, eventID: context.makeStanzaID(), context: context, effects: &effects)
    }

    /// The subject as a joiner receives it: from the nick that set it (or the
    /// room), with an empty `<subject/>` when there is none (§7.2.16).
    func subjectMessage(to session: JID) -> XMLElement {
        let from = subject?.nick.map { occupantJID($0) } ?? jid
        var stanza = XMLElement.stanza("message", from: from, to: session, type: "groupchat")
        stanza[attribute: "id"] = nil
        stanza.append(XMLElement("subject", namespace: Namespace.client, text: subject?.text ?? ""))
        if let subject, subject.nick != nil {
            stanza.append(XMLElement(
                "delay", namespace: Namespace.delay,
                attributes: ["from": jid.description, "stamp": DateTime.format(subject.date)]))
        }
        return stanza
    }
}
