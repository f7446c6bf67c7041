import CExpat

/// A push parser for one XML stream (RFC 6120 §4): bytes in any chunking go in,
/// the stream header, each complete top-level element and the stream close come out.
///
/// It enforces the restricted XML of RFC 6120 §11 (no DTD, comments, processing
/// instructions or entities beyond the predefined five, UTF-8 only): the first
/// violation is sticky, `error` is set, the events before it are still
/// returned, and later input is ignored. A stanza over the size or depth limit
/// is not fatal: it is skipped and reported as `.rejected`, so that one bad
/// stanza from one sender does not end the stream for everyone.
///
/// Not thread-safe: one parser belongs to one connection and is fed from one
/// event loop (Expat calls back on the feeding thread).
public final class XMLStreamParser {
    /// Input is handed to Expat in slices of at most this size so that the size
    /// limit is checked before a huge write is buffered whole.
    private static let sliceBytes = 16 * 1024

    public let limits: XMLStreamLimits
    public let streamName: String
    public let streamNamespace: String
    /// The first error met; once set, the stream is over.
    @exclusivity(unchecked) public private(set) var error: XMLStreamError?

    private let parser: XML_Parser
    // Confined to the feeding thread (see above) and touched on every Expat
    // callback: the dynamic exclusivity check would cost ~10 % of parsing.
    @exclusivity(unchecked) private var builder: XMLTreeBuilder
    private var bytesFed: Int64 = 0

    /// - Parameter namespaceAliases: namespaces to report under another name; a
    ///   component stream maps `jabber:component:accept` to `jabber:client` so
    ///   that stanzas look the same whatever stream carried them.
    public init(
        streamName: String = "stream",
        streamNamespace: String = "http://etherx.jabber.org/streams",
        namespaceAliases: [String: String] = [:],
        limits: XMLStreamLimits = XMLStreamLimits()
    ) {
        self.streamName = streamName
        self.streamNamespace = streamNamespace
        self.limits = limits
        builder = XMLTreeBuilder(
            limits: limits, streamName: streamName, streamNamespace: streamNamespace,
            namespaceAliases: namespaceAliases)
        guard let parser = XML_ParserCreateNS("UTF-8", XML_Char(bitPattern: XMLTreeBuilder.separator)) else {
            fatalError("Expat could not allocate a parser")
        }
        self.parser = parser
        parley_expat_disable_reparse_deferral(parser)
        XML_SetUserData(parser, Unmanaged.passUnretained(self).toOpaque())
        installHandlers()
    }

    deinit {
        XML_ParserFree(parser)
    }

    /// Feeds the next bytes of the stream and returns the events they complete.
    public func feed(_ bytes: UnsafeRawBufferPointer) -> [XMLStreamEvent] {
        guard error == nil, let base = bytes.baseAddress else { return takeEvents() }
        var offset = 0
        while offset < bytes.count, error == nil {
            let count = min(Self.sliceBytes, bytes.count - offset)
            let status = XML_Parse(
                parser, base.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(count), 0)
            offset += count
            bytesFed += Int64(count)
            if status == XML_STATUS_ERROR {
                if error == nil { error = expatError() }
            } else if bytesFed - builder.progress > Int64(limits.maxStanzaBytes) {
                // One token (a start tag, say) larger than any stanza may be:
                // Expat would buffer it whole, so the stream ends here.
                error = .stanzaTooLarge(limit: limits.maxStanzaBytes)
            }
        }
        return takeEvents()
    }

    public func feed(_ bytes: some Sequence<UInt8>) -> [XMLStreamEvent] {
        let array = Array(bytes)
        return array.withUnsafeBytes { feed($0) }
    }

    public func feed(_ string: String) -> [XMLStreamEvent] {
        feed(Array(string.utf8))
    }

    private func takeEvents() -> [XMLStreamEvent] {
        builder.takeEvents()
    }

    private func fail(_ failure: XMLStreamError) {
        guard error == nil else { return }
        error = failure
        XML_StopParser(parser, XML_FALSE)
    }

    private func expatError() -> XMLStreamError {
        let code = XML_GetErrorCode(parser)
        let message = XML_ErrorString(code).map { String(cString: $0) } ?? "error \(code.rawValue)"
        let detail = "\(message) at line \(XML_GetCurrentLineNumber(parser)), column \(XML_GetCurrentColumnNumber(parser))"
        switch code {
        case XML_ERROR_UNDEFINED_ENTITY, XML_ERROR_RECURSIVE_ENTITY_REF, XML_ERROR_EXTERNAL_ENTITY_HANDLING,
             XML_ERROR_ENTITY_DECLARED_IN_PE:
            return .restrictedXML(detail)
        case XML_ERROR_UNKNOWN_ENCODING, XML_ERROR_INCORRECT_ENCODING:
            return .unsupportedEncoding(detail)
        default:
            return .notWellFormed(detail)
        }
    }

    private var currentByteIndex: Int64 { Int64(XML_GetCurrentByteIndex(parser)) }

    /// Where the event being reported ends: the next unit starts there.
    private var currentEventEnd: Int64 { currentByteIndex + Int64(XML_GetCurrentByteCount(parser)) }

    // MARK: - Callbacks

    fileprivate func startElement(
        _ name: UnsafePointer<XML_Char>, _ attributes: UnsafeMutablePointer<UnsafePointer<XML_Char>?>?
    ) {
        guard error == nil else { return }
        let position = currentByteIndex
        let failure = builder.startElement(
            name, attributes, attributeCount: Int(XML_GetSpecifiedAttributeCount(parser)) / 2,
            position: position, end: position + Int64(XML_GetCurrentByteCount(parser)))
        if let failure { fail(failure) }
    }

    fileprivate func endElement() {
        guard error == nil else { return }
        builder.endElement(end: currentEventEnd)
    }

    fileprivate func characterData(_ bytes: UnsafePointer<XML_Char>, _ length: Int32) {
        guard error == nil else { return }
        builder.characterData(bytes, count: Int(length), end: currentByteIndex + Int64(length))
    }

    fileprivate func namespaceDeclared(prefix: UnsafePointer<XML_Char>?, uri: UnsafePointer<XML_Char>?) {
        builder.namespaceDeclared(prefix: prefix, uri: uri)
    }

    fileprivate func xmlDeclaration(encoding: UnsafePointer<XML_Char>?) {
        guard let encoding else { return }
        let name = String(cString: encoding)
        if name.lowercased() != "utf-8" { fail(.unsupportedEncoding(name)) }
    }

    fileprivate func restricted(_ what: String) {
        fail(.restrictedXML("\(what) at line \(XML_GetCurrentLineNumber(parser))"))
    }

    // MARK: - Expat wiring

    private func installHandlers() {
        XML_SetElementHandler(
            parser,
            { userData, name, attributes in
                guard let name else { return }
                XMLStreamParser.with(userData) { $0.startElement(name, attributes) }
            },
            { userData, _ in XMLStreamParser.with(userData) { $0.endElement() } })
        XML_SetCharacterDataHandler(parser) { userData, bytes, length in
            guard let bytes else { return }
            XMLStreamParser.with(userData) { $0.characterData(bytes, length) }
        }
        XML_SetStartNamespaceDeclHandler(parser) { userData, prefix, uri in
            XMLStreamParser.with(userData) { $0.namespaceDeclared(prefix: prefix, uri: uri) }
        }
        XML_SetXmlDeclHandler(parser) { userData, _, encoding, _ in
            XMLStreamParser.with(userData) { $0.xmlDeclaration(encoding: encoding) }
        }
        XML_SetStartDoctypeDeclHandler(parser) { userData, _, _, _, _ in
            XMLStreamParser.with(userData) { $0.restricted("document type declaration") }
        }
        XML_SetCommentHandler(parser) { userData, _ in
            XMLStreamParser.with(userData) { $0.restricted("comment") }
        }
        XML_SetProcessingInstructionHandler(parser) { userData, _, _ in
            XMLStreamParser.with(userData) { $0.restricted("processing instruction") }
        }
        XML_SetEntityDeclHandler(parser) { userData, _, _, _, _, _, _, _, _ in
            XMLStreamParser.with(userData) { $0.restricted("entity declaration") }
        }
    }

    /// Calls `body` on the parser behind Expat's user data. The parser is alive
    /// for as long as Expat can call back (it frees Expat in `deinit`), so no
    /// retain is needed around the call.
    private static func with(_ userData: UnsafeMutableRawPointer?, _ body: (XMLStreamParser) -> Void) {
        guard let userData else { return }
        Unmanaged<XMLStreamParser>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
    }
}

extension XMLStreamParser {
    /// Parses one element held as text (as the archive stores stanzas), with
    /// the same restrictions as a stream. Nil if it is not exactly one element.
    public static func parseElement(_ text: String) -> XMLElement? {
        let parser = XMLStreamParser(limits: XMLStreamLimits(maxStanzaBytes: max(1024, text.utf8.count * 2), maxDepth: 64))
        let events = parser.feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>" + text)
        guard parser.error == nil, events.count == 2, case .element(let element) = events[1] else { return nil }
        return element
    }
}
