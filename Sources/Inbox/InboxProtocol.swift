import MUC
import Storage
import XMLStream
import XMPPCore

/// XEP-0430 Inbox (`urn:xmpp:inbox:1`, version 0.2) at the service JID, over
/// the rooms the user follows (MucSub), with Parley's per-room sibling
/// `<room xmlns='urn:parley:inbox:0' occupants active mentions/>`.
public struct InboxProtocol: Sendable {
    public static let namespace = "urn:xmpp:inbox:1"
    public static let parleyNamespace = "urn:parley:inbox:0"

    private let store: any InboxStore
    /// How many occupants a room has now (rooms not in memory have none).
    private let occupantCount: @Sendable (JID) async -> Int

    public init(store: any InboxStore, occupantCount: @escaping @Sendable (JID) async -> Int) {
        self.store = store
        self.occupantCount = occupantCount
    }

    /// The entry messages, then the IQ result with `<fin/>`.
    public func answer(_ iq: IQ, now: Double) async throws(StanzaError) -> [XMLElement] {
        guard let request = iq.payload, request.name == "inbox" else {
            throw StanzaError(.badRequest, text: "expected <inbox xmlns='\(Self.namespace)'/>")
        }
        let unreadOnly = try Self.boolean(request[attribute: "unread-only"], default: false, name: "unread-only")
        let withMessages = try Self.boolean(request[attribute: "messages"], default: true, name: "messages")
        var page = RSMRequest()
        if let set = request.child("set", namespace: Namespace.rsm) {
            do {
                page = try RSMRequest(element: set)
            } catch {
                throw StanzaError(.badRequest, text: "\(error)")
            }
        }
        let user = iq.from.bare
        let all: [InboxRoomState]
        do {
            all = try await store.inbox(of: user, now: now)
        } catch {
            throw StanzaError(.internalServerError, text: "the inbox cannot be read")
        }
        let listed = unreadOnly ? all.filter { $0.unread > 0 } : all
        // Pages are ordered by last activity; RSM ids are the rooms' JIDs.
        let limit = min(page.max ?? 100, 500)
        let window: ArraySlice<InboxRoomState>
        switch page.anchor {
        case .none:
            let start = min(page.index ?? 0, listed.count)
            window = listed[start..<min(listed.count, start + limit)]
        case .after(let id):
            guard let index = listed.firstIndex(where: { $0.room.description == id }) else {
                throw StanzaError(.itemNotFound, text: "no conversation \(id) in the inbox")
            }
            window = listed[(index + 1)..<min(listed.count, index + 1 + limit)]
        case .before(let id):
            guard let index = listed.firstIndex(where: { $0.room.description == id }) else {
                throw StanzaError(.itemNotFound, text: "no conversation \(id) in the inbox")
            }
            window = listed[max(0, index - limit)..<index]
        case .lastPage:
            window = listed[max(0, listed.count - limit)..<listed.count]
        }

        var stanzas: [XMLElement] = []
        for state in window {
            var message = XMLElement.stanza("message", from: iq.to, to: iq.from)
            message.append(XMLElement(
                "entry", namespace: Self.namespace,
                attributes: ["jid": state.room.description, "unread": String(state.unread), "id": state.lastMessage?.stanzaID]))
            message.append(XMLElement(
                "room", namespace: Self.parleyNamespace,
                attributes: [
                    "occupants": String(await occupantCount(state.room)), "active": String(state.active),
                    "mentions": String(state.mentions), "nick": state.nick,
                ]))
            if withMessages, let last = state.lastMessage {
                // The last message as a MAM result (XEP-0313 §4.2), as XEP-0430 asks.
                let result = Room.archiveResult(last, to: iq.from, queryID: iq.id)
                if let inner = result.child("result", namespace: Namespace.mam) { message.append(inner) }
            }
            stanzas.append(message)
        }
        var fin = XMLElement(
            "fin", namespace: Self.namespace,
            attributes: [
                "total": String(listed.count), "unread": String(all.filter { $0.unread > 0 }.count),
                "all-unread": String(all.reduce(0) { $0 + $1.unread }),
            ])
        fin.append(RSMResult(
            first: window.first?.room.description, firstIndex: window.isEmpty ? nil : window.startIndex,
            last: window.last?.room.description, count: listed.count).element)
        stanzas.append(iq.result(fin))
        return stanzas
    }

    private static func boolean(_ raw: String?, default value: Bool, name: String) throws(StanzaError) -> Bool {
        switch raw {
        case nil: value
        case "true", "1": true
        case "false", "0": false
        default: throw StanzaError(.badRequest, text: "\(name) must be true or false")
        }
    }
}
