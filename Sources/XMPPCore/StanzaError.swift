import XMLStream

/// A stanza error (RFC 6120 §8.3): what went wrong, in the RFC's own terms,
/// ready to be sent back to whoever sent the stanza.
public struct StanzaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// RFC 6120 §8.3.3: the defined conditions.
    public enum Condition: String, Sendable, Hashable, CaseIterable {
        case badRequest = "bad-request"
        case conflict
        case featureNotImplemented = "feature-not-implemented"
        case forbidden
        case gone
        case internalServerError = "internal-server-error"
        case itemNotFound = "item-not-found"
        case jidMalformed = "jid-malformed"
        case notAcceptable = "not-acceptable"
        case notAllowed = "not-allowed"
        case notAuthorized = "not-authorized"
        case policyViolation = "policy-violation"
        case recipientUnavailable = "recipient-unavailable"
        case redirect
        case registrationRequired = "registration-required"
        case remoteServerNotFound = "remote-server-not-found"
        case remoteServerTimeout = "remote-server-timeout"
        case resourceConstraint = "resource-constraint"
        case serviceUnavailable = "service-unavailable"
        case subscriptionRequired = "subscription-required"
        case undefinedCondition = "undefined-condition"
        case unexpectedRequest = "unexpected-request"

        /// The error type RFC 6120 §8.3.3 gives in its example for the condition.
        public var defaultType: ErrorType {
            switch self {
            case .badRequest, .jidMalformed, .notAcceptable, .policyViolation, .redirect: .modify
            case .forbidden, .notAuthorized, .registrationRequired, .subscriptionRequired: .auth
            case .internalServerError, .recipientUnavailable, .remoteServerTimeout, .resourceConstraint,
                 .unexpectedRequest: .wait
            case .conflict, .featureNotImplemented, .gone, .itemNotFound, .notAllowed, .remoteServerNotFound,
                 .serviceUnavailable, .undefinedCondition: .cancel
            }
        }
    }

    /// RFC 6120 §8.3.2: what the sender should do about it.
    public enum ErrorType: String, Sendable, Hashable, CaseIterable {
        case auth, cancel, `continue`, modify, wait
    }

    public var condition: Condition
    public var type: ErrorType
    /// Human-readable detail, sent in `<text xml:lang='en'>`.
    public var text: String?
    /// The new address for `gone` and `redirect` (RFC 6120 §8.3.3.5, §8.3.3.14).
    public var alternateAddress: String?
    /// An application-specific condition element, such as XEP-0045's or XEP-0060's.
    public var applicationCondition: XMLElement?
    /// The JID that produced the error (the `by` attribute), when it should be said.
    public var by: String?

    public init(
        _ condition: Condition,
        type: ErrorType? = nil,
        text: String? = nil,
        alternateAddress: String? = nil,
        applicationCondition: XMLElement? = nil,
        by: String? = nil
    ) {
        self.condition = condition
        self.type = type ?? condition.defaultType
        self.text = text
        self.alternateAddress = alternateAddress
        self.applicationCondition = applicationCondition
        self.by = by
    }

    public var description: String {
        var result = "\(type.rawValue)/\(condition.rawValue)"
        if let text { result += ": \(text)" }
        return result
    }

    // MARK: - Encoding

    /// The `<error/>` element (RFC 6120 §8.3.2).
    public var element: XMLElement {
        var error = XMLElement("error", namespace: Namespace.client, attributes: ["type": type.rawValue, "by": by])
        error.append(XMLElement(condition.rawValue, namespace: Namespace.stanzaErrors, text: alternateAddress ?? ""))
        if let text {
            error.append(XMLElement(
                "text", namespace: Namespace.stanzaErrors,
                attributes: [XMLAttribute(name: "xml:lang", value: "en")], children: [.text(text)]))
        }
        if let applicationCondition { error.append(applicationCondition) }
        return error
    }

    /// The error reply to `stanza` (RFC 6120 §8.3.1): same name and id, `from`
    /// and `to` swapped, type `error`, and `by` naming the entity that refused
    /// it — the bare JID it was sent to, so a room's errors say the room, as
    /// Prosody's do (§8.3.2). The original payload is a courtesy the RFC allows
    /// only while it is harmless (§8.3.1 rule 6): it is kept when small (for
    /// IQs only the query), and left out when it would make the reply large.
    ///
    /// - Parameter from: the address to send from when the original `to` is not
    ///   usable (for example when it was malformed).
    public func reply(to stanza: XMLElement, from: String? = nil) -> XMLElement {
        var reply = XMLElement(stanza.name, namespace: stanza.namespace)
        let replyFrom = from ?? stanza[attribute: "to"]
        reply[attribute: "from"] = replyFrom
        reply[attribute: "to"] = stanza[attribute: "from"]
        reply[attribute: "id"] = stanza[attribute: "id"]
        reply[attribute: "type"] = "error"
        var original: [XMLNode] = []
        if stanza.name == "iq" {
            if let payload = stanza.elements.first { original.append(.element(payload)) }
        } else {
            original = stanza.children.filter { node in
                if case .element(let child) = node, child.name == "error", child.namespace == stanza.namespace {
                    return false
                }
                return true
            }
        }
        let originalSize = original.reduce(0) { size, node in
            switch node {
            case .text(let text): size + text.utf8.count
            case .element(let child): size + child.approximateSize(upTo: Self.maximumEchoedPayload)
            }
        }
        if originalSize <= Self.maximumEchoedPayload {
            reply.children = original
        }
        var error = element
        if error[attribute: "by"] == nil, let replyFrom {
            // The bare part: the resource of an occupant JID is the room's business.
            error[attribute: "by"] = replyFrom.split(separator: "/", maxSplits: 1).first.map(String.init)
        }
        reply.append(error)
        return reply
    }

    /// The most original payload an error reply carries back (bytes, roughly).
    public static let maximumEchoedPayload = 4096

    // MARK: - Parsing

    /// Reads the `<error/>` child of an error stanza, as sent by a server when
    /// it bounces something Parley sent.
    public init?(errorStanza stanza: XMLElement) {
        guard stanza[attribute: "type"] == "error",
              let error = stanza.child("error", namespace: stanza.namespace) else { return nil }
        var condition = Condition.undefinedCondition
        var text: String? = nil
        var application: XMLElement? = nil
        for child in error.elements {
            if child.namespace == Namespace.stanzaErrors {
                if child.name == "text" {
                    text = child.text
                } else if let known = Condition(rawValue: child.name) {
                    condition = known
                }
            } else {
                application = child
            }
        }
        self.init(
            condition, type: error[attribute: "type"].flatMap(ErrorType.init(rawValue:)) ?? condition.defaultType,
            text: text, applicationCondition: application, by: error[attribute: "by"])
    }
}
