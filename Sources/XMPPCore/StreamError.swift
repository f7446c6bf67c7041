import XMLStream

/// A stream error (RFC 6120 §4.9): the reason a stream ends, as sent on the wire.
public struct StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// RFC 6120 §4.9.3: the defined conditions.
    public enum Condition: String, Sendable, Hashable, CaseIterable {
        case badFormat = "bad-format"
        case badNamespacePrefix = "bad-namespace-prefix"
        case conflict
        case connectionTimeout = "connection-timeout"
        case hostGone = "host-gone"
        case hostUnknown = "host-unknown"
        case improperAddressing = "improper-addressing"
        case internalServerError = "internal-server-error"
        case invalidFrom = "invalid-from"
        case invalidNamespace = "invalid-namespace"
        case invalidXML = "invalid-xml"
        case notAuthorized = "not-authorized"
        case notWellFormed = "not-well-formed"
        case policyViolation = "policy-violation"
        case remoteConnectionFailed = "remote-connection-failed"
        case reset
        case resourceConstraint = "resource-constraint"
        case restrictedXML = "restricted-xml"
        case seeOtherHost = "see-other-host"
        case systemShutdown = "system-shutdown"
        case undefinedCondition = "undefined-condition"
        case unsupportedEncoding = "unsupported-encoding"
        case unsupportedFeature = "unsupported-feature"
        case unsupportedStanzaType = "unsupported-stanza-type"
        case unsupportedVersion = "unsupported-version"
    }

    public var condition: Condition
    public var text: String?

    public init(_ condition: Condition, text: String? = nil) {
        self.condition = condition
        self.text = text
    }

    /// The one place where parser failures become stream errors.
    public init(_ failure: XMLStreamError) {
        switch failure {
        case .notWellFormed: self.init(.notWellFormed, text: failure.description)
        case .restrictedXML: self.init(.restrictedXML, text: failure.description)
        case .unsupportedEncoding: self.init(.unsupportedEncoding, text: failure.description)
        case .invalidNamespace: self.init(.invalidNamespace, text: failure.description)
        case .stanzaTooLarge, .tooDeep: self.init(.policyViolation, text: failure.description)
        }
    }

    public var description: String {
        text.map { "\(condition.rawValue): \($0)" } ?? condition.rawValue
    }

    /// `<stream:error>` with the condition and optional text (RFC 6120 §4.9.2).
    public var element: XMLElement {
        var error = XMLElement("error", namespace: Namespace.streams)
        error.append(XMLElement(condition.rawValue, namespace: Namespace.streamErrors))
        if let text {
            error.append(XMLElement(
                "text", namespace: Namespace.streamErrors,
                attributes: [XMLAttribute(name: "xml:lang", value: "en")], children: [.text(text)]))
        }
        return error
    }

    /// Reads a `<stream:error>` received from the peer.
    public init?(element: XMLElement) {
        guard element.name == "error", element.namespace == Namespace.streams else { return nil }
        var condition = Condition.undefinedCondition
        var text: String? = nil
        for child in element.elements where child.namespace == Namespace.streamErrors {
            if child.name == "text" {
                text = child.text
            } else if let known = Condition(rawValue: child.name) {
                condition = known
            }
        }
        self.init(condition, text: text)
    }
}
