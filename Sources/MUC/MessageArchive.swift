import XMLStream
import XMPPCore

/// XEP-0313 on the room JID: who may read the archive, and how results look.
/// The room decides; its owner runs the query against the store.
extension Room {
    /// The rule, which is XEP-0045's rule for entering: who could join may read.
    /// Members-only rooms: members and above; never outcasts; password rooms:
    /// current occupants and members (a password is not sent with a query).
    public func mayReadArchive(_ requester: JID, context: RoomContext) -> Bool {
        let affiliation = effectiveAffiliation(of: requester.bare, context: context)
        if affiliation == .outcast { return false }
        if affiliation >= .member { return true }
        if configuration.isMembersOnly { return false }
        if configuration.password != nil { return occupant(session: requester) != nil }
        return !isLocked
    }

    func archiveRequest(_ iq: IQ, payload: XMLElement, context: RoomContext, effects: inout RoomEffects) throws(StanzaError) -> Bool {
        guard configuration.isArchived else {
            throw StanzaError(.serviceUnavailable, text: "this room is not archived")
        }
        guard mayReadArchive(iq.from, context: context) else {
            throw StanzaError(.forbidden, text: "you may not read this room's archive")
        }
        switch (iq.type, payload.name) {
        case (.get, "query"):
            effects.send(iq.result(XMLElement(
                "query", namespace: Namespace.mam, children: [.element(ArchiveQuery.form.element)])))
        case (.get, "metadata"):
            effects.outputs.append(.archiveMetadata(iq))
        case (.set, "query"):
            let query = try ArchiveQuery(element: payload, room: jid)
            effects.outputs.append(.archiveQuery(iq, query))
        default:
            throw StanzaError(.badRequest, text: "expected a MAM query or metadata request")
        }
        return true
    }

    /// A result message (XEP-0313 §4.2): the archived stanza forwarded with its delay.
    public static func archiveResult(_ message: ArchivedMessage, to recipient: JID, queryID: String?) -> XMLElement {
        var forwarded = XMLElement("forwarded", namespace: Namespace.forward)
        forwarded.append(XMLElement(
            "delay", namespace: Namespace.delay, attributes: ["stamp": DateTime.format(message.timestamp)]))
        var stanza = message.stanza
        stanza[attribute: "to"] = nil
        forwarded.append(stanza)
        var result = XMLElement(
            "result", namespace: Namespace.mam, attributes: ["queryid": queryID, "id": message.stanzaID])
        result.append(forwarded)
        var envelope = XMLElement.stanza("message", from: message.room, to: recipient)
        envelope.append(result)
        return envelope
    }

    /// The IQ result closing a query (XEP-0313 §4.3).
    public static func archiveFin(_ page: ArchivePage, for iq: IQ) -> XMLElement {
        var fin = XMLElement("fin", namespace: Namespace.mam, attributes: ["complete": page.isComplete ? "true" : nil])
        fin.append(RSMResult(
            first: page.messages.first?.stanzaID, firstIndex: page.messages.isEmpty ? nil : page.firstIndex,
            last: page.messages.last?.stanzaID, count: page.count).element)
        return iq.result(fin)
    }
}
