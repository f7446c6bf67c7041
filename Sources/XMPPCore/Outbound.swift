import XMLStream

/// What the service hands to the link to send: one stanza, or one stanza for
/// many recipients (a groupchat message), which is serialized once and only
/// its `to` written per copy.
public enum Outbound: Sendable {
    case stanza(XMLElement)
    /// The same stanza to each recipient; the element has no `to`.
    case fanOut(XMLElement, recipients: [JID])

    /// How many stanzas this sends.
    public var deliveries: Int {
        switch self {
        case .stanza: 1
        case .fanOut(_, let recipients): recipients.count
        }
    }

    /// Every copy as its own element (for tests and logs; sending never builds these).
    public var copies: [XMLElement] {
        switch self {
        case .stanza(let stanza):
            return [stanza]
        case .fanOut(let stanza, let recipients):
            // `to` first, as the link writes it.
            return recipients.map { recipient in
                var copy = stanza
                copy.attributes.insert(XMLAttribute(name: "to", value: recipient.description), at: 0)
                return copy
            }
        }
    }
}

extension Array where Element == Outbound {
    /// Every stanza, fan-outs expanded into their copies.
    public var stanzas: [XMLElement] { flatMap(\.copies) }
}
