import XMLStream
import XMPPCore

/// XEP-0045 §7.4: a message to all occupants, echoed to the sender too, with
/// the sender's id kept, a stanza-id (XEP-0359) and occupant-id (XEP-0421)
/// added, and archived before anyone sees it.
extension Room {
    mutating func broadcastGroupchat(_ message: Message, context: RoomContext, effects: inout RoomEffects) {
        guard let sender = occupant(session: message.from) else {
            // A follower who is not in the room may still mark what it has read (XEP-0333).
            if subscribers[message.from.bare] != nil, message.body == nil,
               let marker = message.element.child("displayed", namespace: Self.chatMarkers), let id = marker[attribute: "id"] {
                effects.outputs.append(.readUpTo(user: message.from.bare, id: id))
                return
            }
            effects.send(StanzaError(.notAcceptable, text: "you are not in this room").reply(to: message.element))
            return
        }
        // §7.4 / §8.3: in a moderated room, visitors have no voice.
        guard sender.role.hasVoice || (!configuration.isModerated && sender.role != .none) else {
            effects.send(StanzaError(.forbidden, text: "you have no voice in this room").reply(to: message.element))
            return
        }
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": occupantJID(sender.nick).description, "type": "groupchat", "id": message.id])
        for node in message.element.children {
            guard case .element(let child) = node else { continue }
            if Self.isRoomAssigned(child) { continue }
            stanza.append(child)
        }
        let stanzaID = context.makeStanzaID()
        // XEP-0359 §4: a stanza-id promises that the archive has the message, so only
        // what is archived gets one (a client catches up from it with MAM `after-id`).
        let isArchived = configuration.isArchived && message.body != nil
        if isArchived {
            stanza.append(XMLElement(
                "stanza-id", namespace: Namespace.stanzaID, attributes: ["id": stanzaID, "by": jid.description]))
        }
        stanza.append(XMLElement(
            "occupant-id", namespace: MUCNamespace.occupantID,
            attributes: ["id": context.occupantID(self, sender.bareJID)]))

        // XEP-0333: a displayed marker moves the sender's read position.
        if let marker = message.element.child("displayed", namespace: Self.chatMarkers), let id = marker[attribute: "id"] {
            effects.outputs.append(.readUpTo(user: sender.bareJID, id: id))
        }
        if isArchived, let body = message.body {
            effects.archive.append(ArchivedMessage(
                stanzaID: stanzaID, room: jid, timestamp: context.now, nick: sender.nick,
                senderJID: sender.bareJID, body: body, stanza: stanza,
                mentioned: followersMentioned(in: body, except: sender.bareJID)))
        }
        sendToAll(stanza, effects: &effects)
        if message.body != nil {
            notifySubscribers(MucSubNode.messages, stanza: stanza, eventID: stanzaID, context: context, effects: &effects)
        }
    }

    static let chatMarkers = "urn:xmpp:chat-markers:0"

    /// Followers whose follow nick occurs in `body` as words (so "Bob" is named
    /// by "hi bob!" but not by "Bobsleigh").
    func followersMentioned(in body: String, except author: JID) -> [JID] {
        guard !subscribers.isEmpty else { return [] }
        let words = Words.words(body)
        guard !words.isEmpty else { return [] }
        let present = Set(words)
        var mentioned: [JID] = []
        for (user, subscriber) in subscribers where user != author {
            let nick = Words.words(subscriber.nick)
            guard let first = nick.first, present.contains(first) else { continue }
            if nick.count == 1 || words.indices.contains(where: { start in
                start + nick.count <= words.count && Array(words[start..<(start + nick.count)]) == nick
            }) {
                mentioned.append(user)
            }
        }
        return mentioned
    }

    /// Elements only the room may put on a message: a sender must not be able
    /// to forge its stanza-id, occupant-id or MUC user data.
    static func isRoomAssigned(_ element: XMLElement) -> Bool {
        switch element.namespace {
        case Namespace.stanzaID: element.name == "stanza-id"
        case MUCNamespace.occupantID, MUCNamespace.user: true
        case Namespace.delay: true
        default: false
        }
    }
}
