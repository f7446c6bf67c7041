/// Limits the parser enforces so that no peer can make memory grow without bound.
public struct XMLStreamLimits: Sendable, Hashable {
    /// The largest stanza, in bytes of input, counted from its start tag.
    public var maxStanzaBytes: Int
    /// The deepest nesting inside a stanza; the stanza element itself is depth 1.
    public var maxDepth: Int

    public init(maxStanzaBytes: Int = 256 * 1024, maxDepth: Int = 32) {
        precondition(maxStanzaBytes > 0 && maxDepth > 0, "limits must be positive")
        self.maxStanzaBytes = maxStanzaBytes
        self.maxDepth = maxDepth
    }
}
