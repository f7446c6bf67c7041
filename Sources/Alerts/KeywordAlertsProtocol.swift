import MUC
import Storage
import XMLStream
import XMPPCore

/// XEP-0060 at the service JID for keyword nodes (`keywords/<keyword>`):
/// subscribe (auto-creating the node), unsubscribe, subscriptions, subscription
/// options (`parley#rooms`, `pubsub#deliver`) and items (the latest matches the
/// asker may read, newest first, with RSM). Nothing else of XEP-0060 is offered.
public struct KeywordAlertsProtocol: Sendable {
    public let service: JID
    public let alerts: AlertService
    /// Where `items` finds past matches: the service passes read connections, off the writer.
    private let archive: any AlertArchive
    /// Whether a user may read a room now (the room decides).
    private let mayRead: @Sendable (JID, JID) async -> Bool

    public init(
        service: JID, alerts: AlertService, archive: any AlertArchive,
        mayRead: @escaping @Sendable (_ room: JID, _ user: JID) async -> Bool
    ) {
        self.service = service
        self.alerts = alerts
        self.archive = archive
        self.mayRead = mayRead
    }

    public func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        guard let pubsub = iq.payload, let request = pubsub.elements.first else {
            throw StanzaError(.badRequest, text: "empty pubsub request")
        }
        let user = iq.from.bare
        switch (iq.type, request.name) {
        case (.set, "subscribe"):
            return try await subscribe(request, options: pubsub.child("options", namespace: PubSubNamespace.pubsub), user: iq.from)
        case (.set, "unsubscribe"):
            let keyword = try keyword(of: request)
            try checkOwnJID(request, sender: iq.from)
            try await alerts.unsubscribe(user, keyword: keyword)
            return nil
        case (.get, "subscriptions"):
            var list = XMLElement("subscriptions", namespace: PubSubNamespace.pubsub)
            for subscription in await alerts.subscriptions(of: user)
            where request[attribute: "node"] == nil || request[attribute: "node"] == subscription.node {
                list.append(Self.subscriptionElement(subscription))
            }
            return XMLElement("pubsub", namespace: PubSubNamespace.pubsub, children: [.element(list)])
        case (.get, "options"):
            let keyword = try keyword(of: request)
            try checkOwnJID(request, sender: iq.from)
            guard let subscription = try await alerts.subscription(of: user, keyword: keyword) else {
                throw Self.notSubscribed(keyword)
            }
            var options = XMLElement(
                "options", namespace: PubSubNamespace.pubsub, attributes: ["node": subscription.node, "jid": user.description])
            options.append(Self.optionsForm(subscription, type: .form).element)
            return XMLElement("pubsub", namespace: PubSubNamespace.pubsub, children: [.element(options)])
        case (.set, "options"):
            let keyword = try keyword(of: request)
            try checkOwnJID(request, sender: iq.from)
            guard try await alerts.subscription(of: user, keyword: keyword) != nil else { throw Self.notSubscribed(keyword) }
            let (rooms, deliver) = try Self.parseOptions(request)
            _ = try await alerts.subscribe(user, keyword: keyword, rooms: rooms, deliver: deliver)
            return nil
        case (.get, "items"):
            return try await items(request, pubsub: pubsub, user: user)
        default:
            throw StanzaError(
                .featureNotImplemented, text: "keyword nodes support subscribe, unsubscribe, subscriptions, options and items",
                applicationCondition: XMLElement(
                    "unsupported", namespace: PubSubNamespace.errors, attributes: ["feature": request.name]))
        }
    }

    // MARK: - Requests

    private func subscribe(_ request: XMLElement, options: XMLElement?, user: JID) async throws(StanzaError) -> XMLElement {
        let keyword = try keyword(of: request)
        try checkOwnJID(request, sender: user)
        var rooms: Set<JID>?? = nil
        var deliver: Bool? = nil
        if let options { (rooms, deliver) = try Self.parseOptions(options) }
        let subscription = try await alerts.subscribe(user.bare, keyword: keyword, rooms: rooms, deliver: deliver)
        return XMLElement(
            "pubsub", namespace: PubSubNamespace.pubsub, children: [.element(Self.subscriptionElement(subscription))])
    }

    /// The most an `items` page carries, in bytes (roughly).
    static let maximumPageBytes = 192 * 1024

    /// The latest matches the asker may read, newest first (XEP-0060 §6.5 with XEP-0059).
    private func items(_ request: XMLElement, pubsub: XMLElement, user: JID) async throws(StanzaError) -> XMLElement {
        let keyword = try keyword(of: request)
        let key = try AlertService.validatedKey(keyword)
        var page = RSMRequest()
        if let set = pubsub.child("set", namespace: Namespace.rsm) {
            do {
                page = try RSMRequest(element: set)
            } catch {
                throw StanzaError(.badRequest, text: "\(error)")
            }
        }
        var limit = min(page.max ?? 20, 100)
        if let raw = request[attribute: "max_items"], let value = Int(raw), value >= 0 { limit = min(limit, value) }
        var before: String? = nil
        if case .before(let id) = page.anchor { before = id }
        if case .after(let id) = page.anchor { before = id }  // newest first: "after" continues towards older items

        var found: [ArchivedMessage] = []
        var readable: [JID: Bool] = [:]
        var exhausted = false
        // Filter by access after the search; keep fetching until the page is full.
        for _ in 0..<20 where found.count < limit && !exhausted {
            let batch: [ArchivedMessage]
            do {
                batch = try await archive.searchAllRooms(phrase: key, beforeID: before, limit: 200)
            } catch .unknownID(let id) {
                throw StanzaError(.itemNotFound, text: "no item \(id)")
            } catch {
                throw StanzaError(.internalServerError, text: "the archive cannot be searched")
            }
            exhausted = batch.count < 200
            for message in batch where found.count < limit {
                if readable[message.room] == nil { readable[message.room] = await mayRead(message.room, user) }
                if readable[message.room] == true && message.senderJID != user { found.append(message) }
            }
            before = batch.last?.stanzaID
            if batch.isEmpty { exhausted = true }
        }
        var items = XMLElement("items", namespace: PubSubNamespace.pubsub, attributes: ["node": KeywordSubscription.nodePrefix + keyword])
        // The page also stops at a size the server's link takes (Prosody's component limit is
        // 512 KiB): the client pages on from the last item, as RSM lets it.
        var size = 0
        var sent: [ArchivedMessage] = []
        for message in found {
            var item = XMLElement("item", namespace: PubSubNamespace.pubsub, attributes: ["id": message.stanzaID])
            item.append(AlertNotification.alert(for: message, keywords: [keyword]))
            size += item.approximateSize(upTo: Self.maximumPageBytes)
            if size > Self.maximumPageBytes && !sent.isEmpty { break }
            items.append(item)
            sent.append(message)
        }
        var pubsubResult = XMLElement("pubsub", namespace: PubSubNamespace.pubsub, children: [.element(items)])
        pubsubResult.append(RSMResult(first: sent.first?.stanzaID, last: sent.last?.stanzaID).element)
        return pubsubResult
    }

    // MARK: - Parts

    private func keyword(of request: XMLElement) throws(StanzaError) -> String {
        guard let node = request[attribute: "node"] else {
            throw StanzaError(
                .badRequest, text: "a node is required",
                applicationCondition: XMLElement("nodeid-required", namespace: PubSubNamespace.errors))
        }
        guard let keyword = KeywordSubscription.keyword(ofNode: node) else {
            throw StanzaError(.itemNotFound, text: "only keywords/<keyword> nodes exist here")
        }
        _ = try AlertService.validatedKey(keyword)
        return keyword
    }

    /// A subscriber may only act for its own JID (bare, or its own full JID).
    private func checkOwnJID(_ request: XMLElement, sender: JID) throws(StanzaError) {
        guard let raw = request[attribute: "jid"] else { return }
        guard let jid = try? JID(raw) else { throw StanzaError(.jidMalformed, text: "'\(raw)' is not a JID") }
        guard jid.bare == sender.bare else {
            throw StanzaError(.forbidden, text: "you may only subscribe your own JID")
        }
    }

    static func notSubscribed(_ keyword: String) -> StanzaError {
        StanzaError(
            .unexpectedRequest, type: .cancel, text: "not subscribed to keywords/\(keyword)",
            applicationCondition: XMLElement("not-subscribed", namespace: PubSubNamespace.errors))
    }

    static func subscriptionElement(_ subscription: KeywordSubscription) -> XMLElement {
        XMLElement(
            "subscription", namespace: PubSubNamespace.pubsub,
            attributes: ["node": subscription.node, "jid": subscription.subscriber.description, "subscription": "subscribed"])
    }

    static func optionsForm(_ subscription: KeywordSubscription, type: DataForm.Kind) -> DataForm {
        typealias F = DataForm.Field
        return DataForm(type: type, fields: [
            F("FORM_TYPE", type: .hidden, values: [PubSubNamespace.subscribeOptions]),
            F(PubSubNamespace.deliverOption, type: .boolean, label: "Send alerts as they happen",
              values: [subscription.deliver ? "1" : "0"]),
            F(PubSubNamespace.roomsOption, type: .jidMulti, label: "Only these rooms (empty: every room you may read)",
              values: (subscription.rooms ?? []).sorted().map(\.description)),
        ])
    }

    /// The options a submitted form sets: rooms (nil: unchanged; .some(nil): all rooms) and delivery.
    static func parseOptions(_ options: XMLElement) throws(StanzaError) -> (rooms: Set<JID>??, deliver: Bool?) {
        guard let formElement = options.child("x", namespace: Namespace.dataForms) else { return (nil, nil) }
        let form: DataForm
        do {
            form = try DataForm(element: formElement)
        } catch {
            throw StanzaError(.badRequest, text: "bad options form: \(error)")
        }
        var rooms: Set<JID>?? = nil
        var deliver: Bool? = nil
        if let field = form.field(PubSubNamespace.roomsOption) {
            var set = Set<JID>()
            for value in field.values where !value.isEmpty {
                guard let jid = try? JID(value), jid.localpart != nil else {
                    throw StanzaError(.notAcceptable, text: "parley#rooms: '\(value)' is not a room JID")
                }
                set.insert(jid.bare)
            }
            rooms = .some(set.isEmpty ? nil : set)
        }
        if let field = form.field(PubSubNamespace.deliverOption) {
            guard let value = field.booleanValue else {
                throw StanzaError(.notAcceptable, text: "pubsub#deliver must be a boolean")
            }
            deliver = value
        }
        return (rooms, deliver)
    }
}
