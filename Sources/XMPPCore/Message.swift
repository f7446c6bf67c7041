import XMLStream

/// A message stanza (RFC 6121 §5).
public struct Message: Sendable {
    /// RFC 6121 §5.2.2; an unknown or missing type counts as `normal`.
    public enum Kind: String, Sendable, Hashable {
        case chat, error, groupchat, headline, normal
    }

    public let from: JID
    public let to: JID
    public let id: String?
    public let type: Kind
    public let element: XMLElement

    init(header: StanzaHeader, element: XMLElement) {
        from = header.from
        to = header.to
        id = header.id
        type = element[attribute: "type"].flatMap(Kind.init(rawValue:)) ?? .normal
        self.element = element
    }

    /// The text of the first `<body/>` (RFC 6121 §5.2.3).
    public var body: String? {
        element.child("body", namespace: Namespace.client)?.text
    }

    /// The text of the first `<subject/>`, if the message has one (RFC 6121 §5.2.4).
    public var subject: String? {
        element.child("subject", namespace: Namespace.client)?.text
    }
}
