import XMPPCore

/// Finds which keywords (words or phrases) occur in a text. Keywords live in a
/// trie keyed by normalised words, so matching one message costs a few
/// dictionary steps per word of the message, however many keywords there are
/// (a walk never goes deeper than the longest keyword). Keywords are added and
/// removed in place, never rebuilt per message.
///
/// Not thread-safe: the alert index (an actor) owns it.
public final class KeywordMatcher {
    /// The normalised form of a keyword: its words joined by one space.
    public typealias Key = String

    private final class Node {
        var children: [String: Node] = [:]
        /// The keyword that ends here, if any.
        var key: Key?
    }

    private let root = Node()
    public private(set) var count = 0
    /// The longest keyword, in words.
    public private(set) var maximumLength = 0

    public init() {}

    /// The key a keyword is stored under, or nil if it has no words at all.
    public static func key(for keyword: String) -> Key? {
        let words = Words.words(keyword)
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    /// Adds a keyword by its key.
    public func insert(key: Key) {
        var node = root
        let words = key.split(separator: " ").map(String.init)
        for word in words {
            if let next = node.children[word] {
                node = next
            } else {
                let next = Node()
                node.children[word] = next
                node = next
            }
        }
        if node.key == nil { count += 1 }
        node.key = key
        maximumLength = max(maximumLength, words.count)
    }

    /// Removes a keyword by its key.
    public func remove(key: Key) {
        var path: [(Node, String)] = []
        var node = root
        for word in key.split(separator: " ").map(String.init) {
            guard let next = node.children[word] else { return }
            path.append((node, word))
            node = next
        }
        guard node.key != nil else { return }
        node.key = nil
        count -= 1
        // Prune branches that no longer lead to a keyword.
        for (parent, word) in path.reversed() {
            guard let child = parent.children[word], child.key == nil, child.children.isEmpty else { break }
            parent.children[word] = nil
        }
    }

    /// The keys of every keyword that occurs in `text`.
    public func matches(in text: String) -> Set<Key> {
        matches(inWords: Words.words(text))
    }

    public func matches(inWords words: [String]) -> Set<Key> {
        var found: Set<Key> = []
        guard count > 0 else { return found }
        for start in words.indices {
            var node = root
            var index = start
            while index < words.endIndex, index - start < maximumLength, let next = node.children[words[index]] {
                if let key = next.key { found.insert(key) }
                node = next
                index += 1
            }
        }
        return found
    }
}
