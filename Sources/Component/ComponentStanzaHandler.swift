import XMLStream

/// What the component hands stanzas to: the service's router.
public protocol ComponentStanzaHandler: Sendable {
    /// Handles one stanza from the server and returns the stanzas to send, in
    /// order. The next stanza is not read until this returns, which is what
    /// carries the server's back-pressure through to the service.
    func handle(_ stanza: XMLElement) async -> [XMLElement]
}
