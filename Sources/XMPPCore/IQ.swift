import XMLStream

/// An info/query stanza (RFC 6120 §8.2.3): a request that always gets exactly one answer.
public struct IQ: Sendable {
    public enum Kind: String, Sendable, Hashable {
        case get, set, result, error
    }

    public let from: JID
    public let to: JID
    public let id: String
    public let type: Kind
    /// The request's one child element (get and set); the first child, if any, otherwise.
    public let payload: XMLElement?
    public let element: XMLElement

    init(header: StanzaHeader, element: XMLElement) throws(Stanza.ParseFailure) {
        let isError = element[attribute: "type"] == "error"
        guard let rawType = element[attribute: "type"], let type = Kind(rawValue: rawType) else {
            throw Stanza.ParseFailure(
                error: StanzaError(.badRequest, text: "an IQ needs a type of get, set, result or error"),
                canReply: !isError)
        }
        guard let id = header.id, !id.isEmpty else {
            throw Stanza.ParseFailure(error: StanzaError(.badRequest, text: "an IQ needs an id"), canReply: !isError)
        }
        let children = element.elements
        if type == .get || type == .set {
            // RFC 6120 §8.2.3: a get or set contains exactly one child element.
            guard children.count == 1 else {
                throw Stanza.ParseFailure(
                    error: StanzaError(.badRequest, text: "an IQ \(type.rawValue) needs exactly one child element"),
                    canReply: true)
            }
        }
        self.from = header.from
        self.to = header.to
        self.id = id
        self.type = type
        self.payload = children.first
        self.element = element
    }

    public var isRequest: Bool { type == .get || type == .set }

    /// The `result` answer, from the address the request was sent to.
    public func result(_ payload: XMLElement? = nil) -> XMLElement {
        var reply = XMLElement.stanza("iq", from: to, to: from, id: id, type: Kind.result.rawValue)
        if let payload { reply.append(payload) }
        return reply
    }

    /// The `error` answer.
    public func error(_ error: StanzaError) -> XMLElement {
        error.reply(to: element)
    }
}
