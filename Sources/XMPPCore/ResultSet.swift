import XMLStream

/// A result set management request (XEP-0059 §2): which page of a list to return.
public struct RSMRequest: Sendable, Hashable {
    /// Where the page is anchored.
    public enum Anchor: Sendable, Hashable {
        /// No anchor: the first page (or, with `<before/>`, the last).
        case none
        /// `<after>id</after>`: the page after the item with this id.
        case after(String)
        /// `<before>id</before>`: the page before the item with this id.
        case before(String)
        /// An empty `<before/>`: the last page (XEP-0059 §2.5).
        case lastPage
    }

    public var max: Int?
    public var anchor: Anchor
    /// `<index/>`: jump to an offset (XEP-0059 §2.4).
    public var index: Int?

    public init(max: Int? = nil, anchor: Anchor = .none, index: Int? = nil) {
        self.max = max
        self.anchor = anchor
        self.index = index
    }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    public init(element: XMLElement) throws(ParseError) {
        let namespace = Namespace.rsm
        var max: Int? = nil
        if let rawMax = element.child("max", namespace: namespace)?.text {
            guard let value = Int(rawMax.trimmingSpaces), value >= 0 else {
                throw ParseError(description: "<max/> must be a non-negative integer")
            }
            max = value
        }
        var index: Int? = nil
        if let rawIndex = element.child("index", namespace: namespace)?.text {
            guard let value = Int(rawIndex.trimmingSpaces), value >= 0 else {
                throw ParseError(description: "<index/> must be a non-negative integer")
            }
            index = value
        }
        let after = element.child("after", namespace: namespace)
        let before = element.child("before", namespace: namespace)
        let anchor: Anchor
        switch (after, before) {
        case (.some, .some):
            throw ParseError(description: "<after/> and <before/> cannot both be given")
        case (.some(let after), nil):
            guard !after.text.isEmpty else { throw ParseError(description: "<after/> needs an id") }
            anchor = .after(after.text)
        case (nil, .some(let before)):
            anchor = before.text.isEmpty ? .lastPage : .before(before.text)
        case (nil, nil):
            anchor = .none
        }
        self.init(max: max, anchor: anchor, index: index)
    }

    public var element: XMLElement {
        let namespace = Namespace.rsm
        var set = XMLElement("set", namespace: namespace)
        if let max { set.append(XMLElement("max", namespace: namespace, text: String(max))) }
        switch anchor {
        case .none: break
        case .after(let id): set.append(XMLElement("after", namespace: namespace, text: id))
        case .before(let id): set.append(XMLElement("before", namespace: namespace, text: id))
        case .lastPage: set.append(XMLElement("before", namespace: namespace))
        }
        if let index { set.append(XMLElement("index", namespace: namespace, text: String(index))) }
        return set
    }
}

/// The description of a returned page (XEP-0059 §2.1): its first and last ids and the total.
public struct RSMResult: Sendable, Hashable {
    public var first: String?
    public var firstIndex: Int?
    public var last: String?
    public var count: Int?

    public init(first: String? = nil, firstIndex: Int? = nil, last: String? = nil, count: Int? = nil) {
        self.first = first
        self.firstIndex = firstIndex
        self.last = last
        self.count = count
    }

    public init(element: XMLElement) {
        let namespace = Namespace.rsm
        let firstElement = element.child("first", namespace: namespace)
        self.init(
            first: firstElement?.text,
            firstIndex: firstElement?[attribute: "index"].flatMap { Int($0) },
            last: element.child("last", namespace: namespace)?.text,
            count: element.child("count", namespace: namespace).flatMap { Int($0.text.trimmingSpaces) })
    }

    public var element: XMLElement {
        let namespace = Namespace.rsm
        var set = XMLElement("set", namespace: namespace)
        if let first {
            set.append(XMLElement(
                "first", namespace: namespace, attributes: ["index": firstIndex.map(String.init)],
                children: [.text(first)]))
        }
        if let last { set.append(XMLElement("last", namespace: namespace, text: last)) }
        if let count { set.append(XMLElement("count", namespace: namespace, text: String(count))) }
        return set
    }
}

extension String {
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[start...end]
    }
}
