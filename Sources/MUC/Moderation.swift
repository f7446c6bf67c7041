import XMLStream
import XMPPCore

/// A moderator's retraction of an archived message (XEP-0425 with XEP-0424).
public struct Retraction: Sendable, Hashable {
    public var stanzaID: String
    /// The moderator's occupant JID, as the `by` of `<moderated/>`.
    public var moderator: JID
    public var moderatorOccupantID: String
    public var reason: String?
    public var timestamp: Double

    public init(stanzaID: String, moderator: JID, moderatorOccupantID: String, reason: String?, timestamp: Double) {
        self.stanzaID = stanzaID
        self.moderator = moderator
        self.moderatorOccupantID = moderatorOccupantID
        self.reason = reason
        self.timestamp = timestamp
    }

    /// The tombstone that replaces the retracted message's payload in the
    /// archive (XEP-0425 §6): `<moderated by>` with the moderator's occupant id,
    /// `<retracted stamp>` and the reason.
    public func tombstone(of original: XMLElement) -> XMLElement {
        var stanza = XMLElement(original.name, namespace: original.namespace, attributes: original.attributes)
        for node in original.children {
            guard case .element(let child) = node else { continue }
            if child.namespace == Namespace.stanzaID || child.namespace == MUCNamespace.occupantID {
                stanza.append(child)
            }
        }
        var moderated = XMLElement("moderated", namespace: MUCNamespace.moderate0, attributes: ["by": moderator.description])
        moderated.append(XMLElement("occupant-id", namespace: MUCNamespace.occupantID, attributes: ["id": moderatorOccupantID]))
        moderated.append(XMLElement("retracted", namespace: MUCNamespace.retract0, attributes: ["stamp": DateTime.format(timestamp)]))
        if let reason { moderated.append(XMLElement("reason", namespace: MUCNamespace.moderate0, text: reason)) }
        stanza.append(moderated)
        return stanza
    }
}

/// XEP-0425: a moderator asks the room to retract a message by its stanza-id;
/// the archive keeps a tombstone and every occupant is told.
extension Room {
    /// The stanza-id a moderation request names, and the reason, in either protocol version.
    static func moderationRequest(_ payload: XMLElement) -> (id: String, reason: String?)? {
        if payload.name == "moderate", payload.namespace == MUCNamespace.moderate1, let id = payload[attribute: "id"],
           payload.child("retract", namespace: MUCNamespace.retract1) != nil {
            return (id, payload.child("reason", namespace: MUCNamespace.moderate1)?.text)
        }
        if payload.name == "apply-to", payload.namespace == MUCNamespace.fasten, let id = payload[attribute: "id"],
           let moderate = payload.child("moderate", namespace: MUCNamespace.moderate0),
           moderate.child("retract", namespace: MUCNamespace.retract0) != nil {
            return (id, moderate.child("reason", namespace: MUCNamespace.moderate0)?.text)
        }
        return nil
    }

    func moderate(_ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects) throws(StanzaError) {
        guard let (id, reason) = Self.moderationRequest(payload) else {
            throw StanzaError(.badRequest, text: "a moderation request retracts one message by its stanza-id")
        }
        guard let moderator = occupant(session: iq.from), moderator.role == .moderator else {
            throw StanzaError(.forbidden, text: "only moderators may moderate messages")
        }
        let retraction = Retraction(
            stanzaID: id, moderator: occupantJID(moderator.nick),
            moderatorOccupantID: context.occupantID(self, moderator.bareJID), reason: reason, timestamp: context.now)

        // One notice carrying both protocol versions, so that every client understands it.
        var notice = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": jid.description, "type": "groupchat", "id": context.makeStanzaID()])
        var retract = XMLElement("retract", namespace: MUCNamespace.retract1, attributes: ["id": id])
        var moderated1 = XMLElement("moderated", namespace: MUCNamespace.moderate1, attributes: ["by": retraction.moderator.description])
        moderated1.append(XMLElement("occupant-id", namespace: MUCNamespace.occupantID, attributes: ["id": retraction.moderatorOccupantID]))
        retract.append(moderated1)
        if let reason { retract.append(XMLElement("reason", namespace: MUCNamespace.retract1, text: reason)) }
        notice.append(retract)
        var moderated0 = XMLElement("moderated", namespace: MUCNamespace.moderate0, attributes: ["by": retraction.moderator.description])
        moderated0.append(XMLElement("retract", namespace: MUCNamespace.retract0))
        if let reason { moderated0.append(XMLElement("reason", namespace: MUCNamespace.moderate0, text: reason)) }
        notice.append(XMLElement("apply-to", namespace: MUCNamespace.fasten, attributes: ["id": id], children: [.element(moderated0)]))

        effects.outputs.append(.moderation(iq, retraction, notice: notice, recipients: allSessions))
    }
}
