import XMLStream
import XMPPCore

/// XEP-0030 disco#info at the service JID: the `conference/text` identity and
/// the features of every handler the service was assembled with.
struct ServiceDiscoInfo: ServiceIQHandler {
    let namespace = Namespace.discoInfo
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [Namespace.discoInfo]
    let info: DiscoInfo

    init(name: String, features: [String]) {
        info = DiscoInfo(
            identities: [DiscoIdentity(category: "conference", type: "text", name: name)],
            features: [Namespace.discoInfo, Namespace.discoItems] + features)
    }

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        if let node = iq.payload?[attribute: "node"] {
            throw StanzaError(.itemNotFound, text: "no such node: \(node)")
        }
        return info.element
    }
}

/// XEP-0030 disco#items at the service JID: the public rooms (XEP-0045 §6.3),
/// never the hidden ones.
struct ServiceDiscoItems: ServiceIQHandler {
    let namespace = Namespace.discoItems
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures: [String] = []
    let rooms: RoomHost

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        if let node = iq.payload?[attribute: "node"] {
            throw StanzaError(.itemNotFound, text: "no such node: \(node)")
        }
        var query = XMLElement("query", namespace: Namespace.discoItems)
        for listing in await rooms.publicRooms() {
            query.append(DiscoItem(jid: listing.jid, name: listing.name.isEmpty ? nil : listing.name).element)
        }
        return query
    }
}
