import XMLStream
import XMPPCore

/// A query one occupant sent to another's occupant JID, waiting for its answer.
public struct RelayedIQ: Sendable, Hashable {
    public var originalID: String
    /// The asker's real session, where the answer goes.
    public var requester: JID
    /// The address the query went to, the only one whose answer counts.
    public var target: JID
    /// The occupant the asker addressed: the answer comes back from its occupant JID.
    public var targetNick: String
}

/// XEP-0045 §7.6-ish relaying of IQs between occupants (vCard avatars, version,
/// pings of another occupant): the query goes to the target's session from the
/// asker's occupant JID with a fresh id, and the answer comes back the same
/// way. Nobody learns the other's real JID. XEP-0410 self-pings are answered
/// by the room itself.
extension Room {
    static let maximumPendingRelays = 1000
    static let vCardNamespace = "vcard-temp"

    /// Handles a query to an occupant JID: answered here (self-ping) or relayed.
    /// Returns true when the query was relayed (its answer comes later).
    mutating func relayQuery(_ iq: IQ, toNick nick: String, payload: XMLElement, context: RoomContext, effects: inout RoomEffects) throws(StanzaError) -> Bool {
        guard let sender = occupant(session: iq.from) else {
            // XEP-0410 §4: a non-occupant is told with not-acceptable, type cancel.
            throw StanzaError(.notAcceptable, type: .cancel, text: "you are not in this room")
        }
        if sender.nick == nick, iq.type == .get, payload.name == "ping", payload.namespace == Namespace.ping {
            return false  // XEP-0410: the room answers for the sender's own occupant JID.
        }
        guard let target = occupant(nick: nick), let session = target.sessions.first else {
            throw StanzaError(.itemNotFound, text: "nobody in the room is called \(nick)")
        }
        // vCards live on the user's server, at the bare JID: there the server answers
        // from its store (avatars in Conversations, Dino, Gajim), as with Prosody's MUC.
        let isVCard = iq.type == .get && payload.name == "vCard" && payload.namespace == Self.vCardNamespace
        let destination = isVCard ? target.bareJID : session
        let relayID = "relay-" + context.makeStanzaID()
        if relayedIQs.count >= Self.maximumPendingRelays, let oldest = relayOrder.first {
            relayedIQs[oldest] = nil
            relayOrder.removeFirst()
        }
        relayedIQs[relayID] = RelayedIQ(originalID: iq.id, requester: iq.from, target: destination, targetNick: target.nick)
        relayOrder.append(relayID)
        var forwarded = iq.element
        forwarded[attribute: "from"] = occupantJID(sender.nick).description
        forwarded[attribute: "to"] = destination.description
        forwarded[attribute: "id"] = relayID
        effects.send(forwarded)
        return true
    }

    /// An answer to a relayed query goes back to the asker, from the answerer's
    /// occupant JID and with the asker's own id. False if it answers nothing relayed.
    mutating func relayAnswer(_ iq: IQ, effects: inout RoomEffects) -> Bool {
        guard let relay = relayedIQs[iq.id], relay.target == iq.from else { return false }
        relayedIQs[iq.id] = nil
        relayOrder.removeAll { $0 == iq.id }
        var answer = iq.element
        answer[attribute: "from"] = occupantJID(relay.targetNick).description
        answer[attribute: "to"] = relay.requester.description
        answer[attribute: "id"] = relay.originalID
        effects.send(answer)
        return true
    }
}
