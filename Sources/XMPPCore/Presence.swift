import XMLStream

/// A presence stanza (RFC 6121 §4).
public struct Presence: Sendable {
    /// RFC 6121 §4.7.1. A presence without a type is `available`.
    public enum Kind: String, Sendable, Hashable {
        case available, unavailable, subscribe, subscribed, unsubscribe, unsubscribed, probe, error
    }

    /// RFC 6121 §4.7.2.1.
    public enum Show: String, Sendable, Hashable {
        case away, chat, dnd, xa
    }

    public let from: JID
    public let to: JID
    public let id: String?
    public let type: Kind
    public let element: XMLElement

    /// Nil when the type is not one RFC 6121 defines.
    init?(header: StanzaHeader, element: XMLElement) {
        let kind: Kind
        if let raw = element[attribute: "type"] {
            guard let known = Kind(rawValue: raw), known != .available else { return nil }
            kind = known
        } else {
            kind = .available
        }
        from = header.from
        to = header.to
        id = header.id
        type = kind
        self.element = element
    }

    public var show: Show? {
        element.child("show", namespace: Namespace.client).flatMap { Show(rawValue: $0.text) }
    }

    public var status: String? {
        element.child("status", namespace: Namespace.client)?.text
    }
}
