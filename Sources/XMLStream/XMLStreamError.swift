/// Why an XML stream cannot go on. Each case maps to one RFC 6120 stream error
/// condition (the mapping lives in XMPPCore's `StreamError`).
public enum XMLStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes are not well-formed XML (Expat's message, with line and column).
    case notWellFormed(String)
    /// RFC 6120 §11.1: a DTD, comment, processing instruction or entity that XMPP forbids.
    case restrictedXML(String)
    /// RFC 6120 §11.6: an encoding other than UTF-8 was declared.
    case unsupportedEncoding(String)
    /// The root element is not the expected stream element in its namespace.
    case invalidNamespace(String)
    /// A stanza grew past the configured size limit (bytes).
    case stanzaTooLarge(limit: Int)
    /// Elements nested deeper than the configured limit.
    case tooDeep(limit: Int)

    public var description: String {
        switch self {
        case .notWellFormed(let detail): "not well-formed: \(detail)"
        case .restrictedXML(let detail): "restricted XML: \(detail)"
        case .unsupportedEncoding(let encoding): "unsupported encoding \(encoding)"
        case .invalidNamespace(let detail): "invalid stream namespace: \(detail)"
        case .stanzaTooLarge(let limit): "stanza larger than \(limit) bytes"
        case .tooDeep(let limit): "elements nested deeper than \(limit)"
        }
    }
}
