/// The opening tag of an XML stream: `<stream:stream ...>` with its attributes.
public struct XMLStreamHeader: Sendable, Hashable {
    public var name: String
    public var namespace: String
    /// The default namespace the header declared (`jabber:component:accept` for a
    /// component stream), as written, before any alias applies.
    public var contentNamespace: String
    public var attributes: [XMLAttribute]

    public init(name: String, namespace: String, contentNamespace: String, attributes: [XMLAttribute]) {
        self.name = name
        self.namespace = namespace
        self.contentNamespace = contentNamespace
        self.attributes = attributes
    }

    public subscript(attribute name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }
}

/// What the stream parser reports: the header, each complete top-level element, the close.
public enum XMLStreamEvent: Sendable, Hashable {
    case streamOpen(XMLStreamHeader)
    case element(XMLElement)
    /// A top-level element that broke a limit (`stanzaTooLarge` or `tooDeep`).
    /// It was skipped to its end tag in constant memory; only its name and
    /// addressing attributes (from, to, id, type, xml:lang) are kept, so that
    /// its sender can be told while the stream goes on.
    case rejected(XMLElement, reason: XMLStreamError)
    case streamClose
}
