import Foundation
import Inbox
import MUC
import Storage
import XMLStream
import XMPPCore

/// XEP-0430 at the service JID.
struct InboxHandler: ServiceIQHandler {
    let namespace = InboxProtocol.namespace
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [InboxProtocol.namespace, InboxProtocol.parleyNamespace]
    let inbox: InboxProtocol

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        // Not reached: the inbox answers with several stanzas.
        throw StanzaError(.internalServerError)
    }

    func responses(to iq: IQ) async -> [XMLElement] {
        do {
            return try await inbox.answer(iq, now: Date().timeIntervalSince1970)
        } catch {
            return [iq.error(error)]
        }
    }
}

/// MucSub at the service JID: the rooms the asker follows (ejabberd's
/// `<subscriptions xmlns='urn:xmpp:mucsub:0'/>` sent to the service).
struct FollowedRoomsHandler: ServiceIQHandler {
    let namespace = MucSubNode.namespace
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [MucSubNode.namespace]
    let store: any InboxStore

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        guard iq.payload?.name == "subscriptions" else { throw StanzaError(.badRequest, text: "expected <subscriptions/>") }
        let follows: [(room: JID, nick: String, nodes: [String])]
        do {
            follows = try await store.followedRooms(of: iq.from.bare)
        } catch {
            throw StanzaError(.internalServerError, text: "the subscriptions cannot be read")
        }
        var list = XMLElement("subscriptions", namespace: MucSubNode.namespace)
        for follow in follows {
            var item = XMLElement(
                "subscription", namespace: MucSubNode.namespace, attributes: ["jid": follow.room.description, "nick": follow.nick])
            for node in follow.nodes {
                item.append(XMLElement("event", namespace: MucSubNode.namespace, attributes: ["node": node]))
            }
            list.append(item)
        }
        return list
    }
}
