import CExpat

/// A push parser for one XML stream (RFC 6120 §4): bytes in any chunking go in,
/// the stream header, each complete top-level element and the stream close come out.
///
/// It enforces the restricted XML of RFC 6120 §11 (no DTD, comments, processing
/// instructions or entities beyond the predefined five, UTF-8 only) and the
/// configured limits. The first violation is sticky: `error` is set, the events
/// before it are still returned, and later input is ignored.
///
/// Not thread-safe: one parser belongs to one connection and is fed from one
/// event loop (Expat calls back on the feeding thread).
public final class XMLStreamParser {
    /// The namespace-separator byte Expat puts between URI and local name.
    private static let separator: UInt8 = 0x1F
    /// Input is handed to Expat in slices of at most this size so that the size
    /// limit is checked before a huge write is buffered whole.
    private static let sliceBytes = 16 * 1024

    public let limits: XMLStreamLimits
    public let streamName: String
    public let streamNamespace: String
    /// The first error met; once set, the stream is over.
    public private(set) var error: XMLStreamError?

    private let namespaceAliases: [String: String]
    private let parser: XML_Parser
    private var stack: [XMLElement] = []
    private var text: [UInt8] = []
    private var events: [XMLStreamEvent] = []
    private var streamOpened = false
    private var rootDefaultNamespace = ""
    /// Where the unit now being parsed (a stanza, or the gap before one) began.
    private var unitStart: Int64 = 0
    private var bytesFed: Int64 = 0
    /// Namespace URIs repeat on every stanza; reusing their Strings saves an
    /// allocation and a UTF-8 validation per element.
    private var namespaceCache: [(bytes: [UInt8], string: String)] = []

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
        self.namespaceAliases = namespaceAliases
        self.limits = limits
        guard let parser = XML_ParserCreateNS("UTF-8", XML_Char(bitPattern: Self.separator)) else {
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
            } else if bytesFed - unitStart > Int64(limits.maxStanzaBytes) {
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
        var taken: [XMLStreamEvent] = []
        swap(&taken, &events)
        return taken
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

    // MARK: - Names

    /// Splits Expat's `uri<sep>local` into namespace and local name.
    private func splitName(_ raw: UnsafePointer<XML_Char>) -> (namespace: String, local: String) {
        let bytes = UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self)
        var length = 0
        var separatorAt = -1
        while bytes[length] != 0 {
            if bytes[length] == Self.separator { separatorAt = length }
            length += 1
        }
        if separatorAt < 0 {
            return ("", String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
        }
        let namespace = cachedNamespace(UnsafeBufferPointer(start: bytes, count: separatorAt))
        let local = String(
            decoding: UnsafeBufferPointer(start: bytes + separatorAt + 1, count: length - separatorAt - 1),
            as: UTF8.self)
        return (namespace, local)
    }

    private func cachedNamespace(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for entry in namespaceCache where entry.bytes.count == bytes.count {
            if entry.bytes.withUnsafeBufferPointer({ $0.elementsEqual(bytes) }) { return entry.string }
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        let string = namespaceAliases[decoded] ?? decoded
        if namespaceCache.count >= 16 { namespaceCache.removeFirst() }
        namespaceCache.append((Array(bytes), string))
        return string
    }

    private func attributeName(_ raw: UnsafePointer<XML_Char>) -> String {
        let (namespace, local) = splitName(raw)
        if namespace.isEmpty { return local }
        if namespace == "http://www.w3.org/XML/1998/namespace" { return "xml:" + local }
        return "{\(namespace)}\(local)"
    }

    // MARK: - Events

    fileprivate func startElement(
        _ rawName: UnsafePointer<XML_Char>, _ rawAttributes: UnsafeMutablePointer<UnsafePointer<XML_Char>?>?
    ) {
        guard error == nil else { return }
        let (namespace, name) = splitName(rawName)
        var attributes: [XMLAttribute] = []
        if let rawAttributes {
            var index = 0
            while let key = rawAttributes[index], let value = rawAttributes[index + 1] {
                attributes.append(XMLAttribute(name: attributeName(key), value: String(cString: value)))
                index += 2
            }
        }
        guard streamOpened else {
            openStream(name: name, namespace: namespace, attributes: attributes)
            return
        }
        if stack.isEmpty {
            unitStart = currentByteIndex
            text.removeAll(keepingCapacity: true)
        } else {
            flushText()
        }
        guard stack.count < limits.maxDepth else {
            fail(.tooDeep(limit: limits.maxDepth))
            return
        }
        guard currentByteIndex - unitStart <= Int64(limits.maxStanzaBytes) else {
            fail(.stanzaTooLarge(limit: limits.maxStanzaBytes))
            return
        }
        stack.append(XMLElement(name, namespace: namespace, attributes: attributes))
    }

    private func openStream(name: String, namespace: String, attributes: [XMLAttribute]) {
        guard name == streamName, namespace == streamNamespace else {
            fail(.invalidNamespace("root element {\(namespace)}\(name)"))
            return
        }
        streamOpened = true
        unitStart = currentEventEnd
        events.append(.streamOpen(XMLStreamHeader(
            name: name, namespace: namespace,
            contentNamespace: rootDefaultNamespace,
            attributes: attributes)))
    }

    fileprivate func endElement() {
        guard error == nil else { return }
        guard var element = stack.popLast() else {
            events.append(.streamClose)
            return
        }
        flushText(into: &element)
        if stack.isEmpty {
            unitStart = currentEventEnd
            events.append(.element(element))
        } else {
            stack[stack.count - 1].children.append(.element(element))
        }
    }

    fileprivate func characterData(_ bytes: UnsafePointer<XML_Char>, _ length: Int32) {
        guard error == nil else { return }
        guard !stack.isEmpty else {
            // Whitespace between stanzas (keepalives) is not part of any stanza.
            unitStart = currentByteIndex + Int64(length)
            return
        }
        guard currentByteIndex + Int64(length) - unitStart <= Int64(limits.maxStanzaBytes) else {
            fail(.stanzaTooLarge(limit: limits.maxStanzaBytes))
            return
        }
        UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            text.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }

    private func flushText() {
        guard !text.isEmpty, !stack.isEmpty else { return }
        flushText(into: &stack[stack.count - 1])
    }

    private func flushText(into element: inout XMLElement) {
        guard !text.isEmpty else { return }
        element.children.append(.text(String(decoding: text, as: UTF8.self)))
        text.removeAll(keepingCapacity: true)
    }

    fileprivate func namespaceDeclared(prefix: UnsafePointer<XML_Char>?, uri: UnsafePointer<XML_Char>?) {
        if !streamOpened, prefix == nil, let uri {
            rootDefaultNamespace = String(cString: uri)
        }
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
                XMLStreamParser.from(userData)?.startElement(name, attributes)
            },
            { userData, _ in XMLStreamParser.from(userData)?.endElement() })
        XML_SetCharacterDataHandler(parser) { userData, bytes, length in
            guard let bytes else { return }
            XMLStreamParser.from(userData)?.characterData(bytes, length)
        }
        XML_SetStartNamespaceDeclHandler(parser) { userData, prefix, uri in
            XMLStreamParser.from(userData)?.namespaceDeclared(prefix: prefix, uri: uri)
        }
        XML_SetXmlDeclHandler(parser) { userData, _, encoding, _ in
            XMLStreamParser.from(userData)?.xmlDeclaration(encoding: encoding)
        }
        XML_SetStartDoctypeDeclHandler(parser) { userData, _, _, _, _ in
            XMLStreamParser.from(userData)?.restricted("document type declaration")
        }
        XML_SetCommentHandler(parser) { userData, _ in
            XMLStreamParser.from(userData)?.restricted("comment")
        }
        XML_SetProcessingInstructionHandler(parser) { userData, _, _ in
            XMLStreamParser.from(userData)?.restricted("processing instruction")
        }
        XML_SetEntityDeclHandler(parser) { userData, _, _, _, _, _, _, _, _ in
            XMLStreamParser.from(userData)?.restricted("entity declaration")
        }
    }

    private static func from(_ userData: UnsafeMutableRawPointer?) -> XMLStreamParser? {
        guard let userData else { return nil }
        return Unmanaged<XMLStreamParser>.fromOpaque(userData).takeUnretainedValue()
    }
}
