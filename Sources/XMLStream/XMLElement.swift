/// One node of an XML tree: an element or a run of character data.
public enum XMLNode: Sendable, Hashable {
    case element(XMLElement)
    case text(String)
}

/// One attribute of an element, in document order.
///
/// Unprefixed attributes have a plain name. Attributes in the XML namespace are
/// named `xml:lang` and so on; attributes in any other namespace use Clark
/// notation, `{uri}local`, so that the name alone says what the attribute is.
public struct XMLAttribute: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An XML element as a value: what the parser yields for every stanza and what
/// the serializer writes. Names are local names; `namespace` is the namespace
/// URI ("" for none), so equality is structural and prefix-independent.
public struct XMLElement: Sendable, Hashable {
    public var name: String
    public var namespace: String
    public var attributes: [XMLAttribute]
    public var children: [XMLNode]

    public init(
        _ name: String,
        namespace: String,
        attributes: [XMLAttribute] = [],
        children: [XMLNode] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    /// Builds an element from attribute pairs, dropping those whose value is nil.
    public init(
        _ name: String,
        namespace: String,
        attributes pairs: KeyValuePairs<String, String?>,
        children: [XMLNode] = []
    ) {
        var attributes: [XMLAttribute] = []
        attributes.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            if let value { attributes.append(XMLAttribute(name: key, value: value)) }
        }
        self.init(name, namespace: namespace, attributes: attributes, children: children)
    }

    /// Builds an element whose only child is the given text.
    public init(_ name: String, namespace: String, text: String) {
        self.init(name, namespace: namespace, children: text.isEmpty ? [] : [.text(text)])
    }

    // MARK: - Attributes

    public subscript(attribute name: String) -> String? {
        get {
            for attribute in attributes where attribute.name == name { return attribute.value }
            return nil
        }
        set {
            if let index = attributes.firstIndex(where: { $0.name == name }) {
                if let newValue {
                    attributes[index].value = newValue
                } else {
                    attributes.remove(at: index)
                }
            } else if let newValue {
                attributes.append(XMLAttribute(name: name, value: newValue))
            }
        }
    }

    // MARK: - Children

    /// The element children, skipping text.
    public var elements: [XMLElement] {
        children.compactMap { node in
            if case .element(let element) = node { return element }
            return nil
        }
    }

    /// The first child element with this name and namespace.
    public func child(_ name: String, namespace: String) -> XMLElement? {
        for node in children {
            if case .element(let element) = node, element.name == name, element.namespace == namespace {
                return element
            }
        }
        return nil
    }

    /// All child elements with this name and namespace, in document order.
    public func children(_ name: String, namespace: String) -> [XMLElement] {
        elements.filter { $0.name == name && $0.namespace == namespace }
    }

    /// The first child element in this namespace, whatever its name.
    public func firstChild(inNamespace namespace: String) -> XMLElement? {
        for node in children {
            if case .element(let element) = node, element.namespace == namespace { return element }
        }
        return nil
    }

    /// The concatenated character data directly inside this element.
    public var text: String {
        var result = ""
        for node in children {
            if case .text(let text) = node { result += text }
        }
        return result
    }

    public mutating func append(_ element: XMLElement) {
        children.append(.element(element))
    }

    public mutating func append(text: String) {
        guard !text.isEmpty else { return }
        children.append(.text(text))
    }

    /// Removes every child element with this name and namespace.
    public mutating func removeChildren(_ name: String, namespace: String) {
        children.removeAll { node in
            if case .element(let element) = node { return element.name == name && element.namespace == namespace }
            return false
        }
    }
}

extension XMLElement {
    /// Roughly the bytes the element takes on the wire (names, namespaces,
    /// attributes and text, before escaping), counted only until `limit` is
    /// passed: a cheap way to tell whether an element is small.
    public func approximateSize(upTo limit: Int) -> Int {
        var size = 2 * name.utf8.count + namespace.utf8.count + 16
        for attribute in attributes {
            size += attribute.name.utf8.count + attribute.value.utf8.count + 4
        }
        for node in children where size <= limit {
            switch node {
            case .text(let text): size += text.utf8.count
            case .element(let element): size += element.approximateSize(upTo: limit - size)
            }
        }
        return size
    }
}
