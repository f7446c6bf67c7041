import Alerts
import XMLStream
import XMPPCore

/// XEP-0030 disco#info at the service JID: the `conference/text` identity and
/// the features of every handler the service was assembled with.
struct ServiceDiscoInfo: ServiceIQHandler {
    let namespace = Namespace.discoInfo
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [Namespace.discoInfo]
    let info: DiscoInfo
    /// The admins' ad-hoc commands, whose nodes answer disco#info (XEP-0050 §2.3).
    var commands: AdminCommands?

    init(name: String, features: [String], pubsub: Bool) {
        var identities = [DiscoIdentity(category: "conference", type: "text", name: name)]
        if pubsub { identities.append(DiscoIdentity(category: "pubsub", type: "service", name: "\(name): keyword alerts")) }
        info = DiscoInfo(identities: identities, features: [Namespace.discoInfo, Namespace.discoItems] + features)
    }

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        if let node = iq.payload?[attribute: "node"] {
            if let answer = commands?.info(node: node, for: iq.from) { return answer }
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
    let alerts: AlertService?
    var commands: AdminCommands?

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        if let node = iq.payload?[attribute: "node"], node == Namespace.commands {
            // XEP-0050 §2.2: the commands this asker may run (none for anyone but an admin).
            return commands?.items(for: iq.from) ?? XMLElement("query", namespace: Namespace.discoItems, attributes: ["node": node])
        }
        if let node = iq.payload?[attribute: "node"] {
            // The asker's keyword nodes (Docs/protocol.md, keyword alerts).
            guard node == PubSubNamespace.alerts, let alerts else {
                throw StanzaError(.itemNotFound, text: "no such node: \(node)")
            }
            var query = XMLElement("query", namespace: Namespace.discoItems, attributes: ["node": node])
            for subscription in await alerts.subscriptions(of: iq.from.bare) {
                query.append(DiscoItem(jid: iq.to, node: subscription.node, name: subscription.keyword).element)
            }
            return query
        }
        // XEP-0059: a service may have more public rooms than one stanza can carry, so the
        // list comes in pages of at most `maximumPage`, asked for or not.
        var page = RSMRequest()
        if let set = iq.payload?.child("set", namespace: Namespace.rsm) {
            do {
                page = try RSMRequest(element: set)
            } catch {
                throw StanzaError(.badRequest, text: "\(error)")
            }
        }
        let all = await rooms.publicRooms()
        let size = min(page.max ?? Self.maximumPage, Self.maximumPage)
        var range = 0..<all.count
        switch page.anchor {
        case .after(let jid):
            guard let index = all.firstIndex(where: { $0.jid.description == jid }) else {
                throw StanzaError(.itemNotFound, text: "no room \(jid) in the list")
            }
            range = (index + 1)..<min(all.count, index + 1 + size)
        case .before(let jid):
            guard let index = all.firstIndex(where: { $0.jid.description == jid }) else {
                throw StanzaError(.itemNotFound, text: "no room \(jid) in the list")
            }
            range = max(0, index - size)..<index
        case .lastPage:
            range = max(0, all.count - size)..<all.count
        case .none:
            let start = min(page.index ?? 0, all.count)
            range = start..<min(all.count, start + size)
        }
        var query = XMLElement("query", namespace: Namespace.discoItems)
        for listing in all[range] {
            query.append(DiscoItem(jid: listing.jid, name: listing.name.isEmpty ? nil : listing.name).element)
        }
        if page != RSMRequest() || range.count < all.count {
            let shown = all[range]
            query.append(RSMResult(
                first: shown.first?.jid.description, firstIndex: shown.isEmpty ? nil : range.lowerBound,
                last: shown.last?.jid.description, count: all.count).element)
        }
        return query
    }

    static let maximumPage = 250
}
