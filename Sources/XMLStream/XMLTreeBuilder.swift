import CExpat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds stream events from Expat's callbacks: the header, one `XMLElement`
/// per top-level child, the close. It holds all the per-stream state in one
/// value so that each callback touches the owning parser object once.
struct XMLTreeBuilder {
    /// The namespace-separator byte Expat puts between URI and local name.
    static let separator: UInt8 = 0x1F

    let limits: XMLStreamLimits
    let streamName: String
    let streamNamespace: String
    let namespaceAliases: [String: String]

    private(set) var events: [XMLStreamEvent] = []
    private var stack: [XMLElement] = []
    private var text: [UInt8] = []
    private var streamOpened = false
    private var rootDefaultNamespace = ""
    /// Where the stanza being built began, for its size limit.
    private var unitStart: Int64 = 0
    /// The end of the last event any callback saw. Input beyond it is a token
    /// Expat is still buffering; the parser stops a token that outgrows a stanza.
    private(set) var progress: Int64 = 0
    /// A stanza that broke a limit is skipped to its end tag, keeping only what
    /// is needed to tell its sender; `depth` counts its elements still open.
    private var rejected: (shell: XMLElement, reason: XMLStreamError, depth: Int)?
    /// The attributes a rejected stanza keeps: enough to address an error reply.
    private static let addressingAttributes: Set<String> = ["from", "to", "id", "type", "xml:lang"]
    private static let nameCacheSize = 64
    private var nameCache: [(bytes: [UInt8], namespace: String, local: String)] = []

    init(limits: XMLStreamLimits, streamName: String, streamNamespace: String, namespaceAliases: [String: String]) {
        self.limits = limits
        self.streamName = streamName
        self.streamNamespace = streamNamespace
        self.namespaceAliases = namespaceAliases
    }

    mutating func takeEvents() -> [XMLStreamEvent] {
        var taken: [XMLStreamEvent] = []
        swap(&taken, &events)
        // The next chunk likely completes as many stanzas: grow once, not by doubling.
        events.reserveCapacity(taken.count)
        return taken
    }

    // MARK: - Events

    /// - Parameters:
    ///   - position: the byte index of the start tag; `end`: the index just past it.
    /// - Returns: a failure that ends the stream (only a wrong root element does).
    mutating func startElement(
        _ rawName: UnsafePointer<XML_Char>, _ rawAttributes: UnsafeMutablePointer<UnsafePointer<XML_Char>?>?,
        attributeCount: Int, position: Int64, end: Int64
    ) -> XMLStreamError? {
        progress = end
        if let skipping = rejected {
            rejected?.depth = skipping.depth + 1
            return nil
        }
        let (namespace, name) = splitName(rawName)
        var attributes: [XMLAttribute] = []
        if let rawAttributes, attributeCount > 0 {
            attributes.reserveCapacity(attributeCount)
            var index = 0
            while let key = rawAttributes[index], let value = rawAttributes[index + 1] {
                attributes.append(XMLAttribute(name: attributeName(key), value: String(cString: value)))
                index += 2
            }
        }
        guard streamOpened else {
            return openStream(name: name, namespace: namespace, attributes: attributes, end: end)
        }
        if stack.isEmpty {
            unitStart = position
            text.removeAll(keepingCapacity: true)
        } else {
            flushText()
        }
        let element = XMLElement(name, namespace: namespace, attributes: attributes)
        if stack.count >= limits.maxDepth {
            reject(.tooDeep(limit: limits.maxDepth), opening: element)
        } else if end - unitStart > Int64(limits.maxStanzaBytes) {
            reject(.stanzaTooLarge(limit: limits.maxStanzaBytes), opening: element)
        } else {
            stack.append(element)
        }
        return nil
    }

    /// Drops what was built of the current stanza and skips the rest of it.
    private mutating func reject(_ reason: XMLStreamError, opening element: XMLElement?) {
        guard let top = stack.first ?? element else { return }
        let shell = XMLElement(
            top.name, namespace: top.namespace,
            attributes: top.attributes.filter { Self.addressingAttributes.contains($0.name) })
        rejected = (shell, reason, stack.count + (element == nil ? 0 : 1))
        stack.removeAll(keepingCapacity: true)
        text.removeAll(keepingCapacity: true)
    }

    private mutating func openStream(
        name: String, namespace: String, attributes: [XMLAttribute], end: Int64
    ) -> XMLStreamError? {
        guard name == streamName, namespace == streamNamespace else {
            return .invalidNamespace("root element {\(namespace)}\(name)")
        }
        streamOpened = true
        events.append(.streamOpen(XMLStreamHeader(
            name: name, namespace: namespace, contentNamespace: rootDefaultNamespace, attributes: attributes)))
        return nil
    }

    /// - Parameter end: the index just past the end tag.
    mutating func endElement(end: Int64) {
        progress = end
        if let skipping = rejected {
            if skipping.depth > 1 {
                rejected?.depth = skipping.depth - 1
            } else {
                rejected = nil
                events.append(.rejected(skipping.shell, reason: skipping.reason))
            }
            return
        }
        flushText()
        guard let element = stack.popLast() else {
            events.append(.streamClose)
            return
        }
        if stack.isEmpty {
            events.append(.element(element))
        } else {
            let parent = stack.count - 1
            // Stanzas usually carry a few payload elements: one allocation for
            // them instead of growing 1 → 2 → 4.
            if stack[parent].children.isEmpty { stack[parent].children.reserveCapacity(4) }
            stack[parent].children.append(.element(element))
        }
    }

    mutating func characterData(_ bytes: UnsafePointer<XML_Char>, count: Int, end: Int64) {
        progress = end
        // Whitespace between stanzas (keepalives) is not part of any stanza.
        guard rejected == nil, !stack.isEmpty else { return }
        guard end - unitStart <= Int64(limits.maxStanzaBytes) else {
            reject(.stanzaTooLarge(limit: limits.maxStanzaBytes), opening: nil)
            return
        }
        UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: count) {
            text.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
        }
    }

    private mutating func flushText() {
        guard !text.isEmpty, !stack.isEmpty else { return }
        stack[stack.count - 1].children.append(.text(String(decoding: text, as: UTF8.self)))
        text.removeAll(keepingCapacity: true)
    }

    mutating func namespaceDeclared(prefix: UnsafePointer<XML_Char>?, uri: UnsafePointer<XML_Char>?) {
        if !streamOpened, prefix == nil, let uri {
            rootDefaultNamespace = String(cString: uri)
        }
    }

    // MARK: - Names

    /// Splits Expat's `uri<sep>local` into namespace and local name.
    ///
    /// The same few dozen names make up nearly every stanza, so the split
    /// names are remembered by their raw bytes: a hit costs a length check and
    /// a `memcmp` instead of a scan and two string validations.
    private mutating func splitName(_ raw: UnsafePointer<XML_Char>) -> (namespace: String, local: String) {
        let length = strlen(raw)
        let bytes = UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self)
        for entry in nameCache where entry.bytes.count == length {
            let same = entry.bytes.withUnsafeBytes { cached in
                guard let base = cached.baseAddress else { return true }
                return memcmp(base, bytes, length) == 0
            }
            if same { return (entry.namespace, entry.local) }
        }
        let name = UnsafeBufferPointer(start: bytes, count: length)
        let split: (namespace: String, local: String)
        if let separatorAt = name.lastIndex(of: Self.separator) {
            let namespace = String(decoding: UnsafeBufferPointer(rebasing: name[..<separatorAt]), as: UTF8.self)
            split = (
                namespaceAliases[namespace] ?? namespace,
                String(decoding: UnsafeBufferPointer(rebasing: name[(separatorAt + 1)...]), as: UTF8.self)
            )
        } else {
            split = ("", String(decoding: name, as: UTF8.self))
        }
        if nameCache.count >= Self.nameCacheSize { nameCache.removeFirst() }
        nameCache.append((Array(name), split.namespace, split.local))
        return split
    }

    private mutating func attributeName(_ raw: UnsafePointer<XML_Char>) -> String {
        let (namespace, local) = splitName(raw)
        if namespace.isEmpty { return local }
        if namespace == "http://www.w3.org/XML/1998/namespace" { return "xml:" + local }
        return "{\(namespace)}\(local)"
    }
}
