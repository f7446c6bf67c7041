import XMLStream

/// A stanza as Parley's logic sees it: typed, with parsed addresses, parsed once at the edge.
public enum Stanza: Sendable {
    case message(Message)
    case presence(Presence)
    case iq(IQ)

    /// Why an element could not become a stanza, and whether an error reply may be sent.
    public struct ParseFailure: Error, Sendable {
        public let error: StanzaError
        /// False when the sender is unknown or the stanza was itself an error
        /// (RFC 6120 §8.3.1: never answer an error with an error).
        public let canReply: Bool
    }

    /// Parses a top-level element of the stream. `to` and `from` are required:
    /// the server stamps `from` on everything it routes to a component.
    public init(parsing element: XMLElement) throws(ParseFailure) {
        guard element.namespace == Namespace.client else {
            throw ParseFailure(error: StanzaError(.badRequest, text: "not a stanza"), canReply: false)
        }
        let isError = element[attribute: "type"] == "error"
        guard let rawFrom = element[attribute: "from"], let from = try? JID(rawFrom) else {
            throw ParseFailure(error: StanzaError(.jidMalformed, text: "missing or malformed 'from'"), canReply: false)
        }
        guard let rawTo = element[attribute: "to"] else {
            throw ParseFailure(error: StanzaError(.jidMalformed, text: "missing 'to'"), canReply: !isError)
        }
        let to: JID
        do {
            to = try JID(rawTo)
        } catch {
            throw ParseFailure(error: StanzaError(.jidMalformed, text: "malformed 'to': \(error)"), canReply: !isError)
        }
        let header = StanzaHeader(from: from, to: to, id: element[attribute: "id"])
        switch element.name {
        case "message":
            self = .message(Message(header: header, element: element))
        case "presence":
            guard let presence = Presence(header: header, element: element) else {
                throw ParseFailure(
                    error: StanzaError(.badRequest, text: "unknown presence type"), canReply: !isError)
            }
            self = .presence(presence)
        case "iq":
            self = .iq(try IQ(header: header, element: element))
        default:
            throw ParseFailure(error: StanzaError(.badRequest, text: "unknown stanza <\(element.name)/>"), canReply: false)
        }
    }

    /// Whether an error may be sent back for this stanza: never for an error,
    /// nor for an IQ result (RFC 6120 §8.3.1).
    public var acceptsErrorReply: Bool {
        switch self {
        case .iq(let iq): iq.isRequest
        case .message(let message): message.type != .error
        case .presence(let presence): presence.type != .error
        }
    }

    public var element: XMLElement {
        switch self {
        case .message(let message): message.element
        case .presence(let presence): presence.element
        case .iq(let iq): iq.element
        }
    }

    public var from: JID {
        switch self {
        case .message(let message): message.from
        case .presence(let presence): presence.from
        case .iq(let iq): iq.from
        }
    }

    public var to: JID {
        switch self {
        case .message(let message): message.to
        case .presence(let presence): presence.to
        case .iq(let iq): iq.to
        }
    }
}

/// The addressing every stanza has (RFC 6120 §8.1).
public struct StanzaHeader: Sendable, Hashable {
    public var from: JID
    public var to: JID
    public var id: String?

    public init(from: JID, to: JID, id: String?) {
        self.from = from
        self.to = to
        self.id = id
    }
}

extension XMLElement {
    /// An empty stanza element of the given kind, addressed.
    public static func stanza(
        _ name: String, from: JID, to: JID, id: String? = nil, type: String? = nil
    ) -> XMLElement {
        XMLElement(
            name, namespace: Namespace.client,
            attributes: ["from": from.description, "to": to.description, "id": id, "type": type])
    }
}
