import XMLStream
import XMPPCore

/// What the component hands stanzas to: the service's router.
public protocol ComponentStanzaHandler: Sendable {
    /// Handles one stanza from the server and returns the stanzas to send, in
    /// order. The next stanza is not read until this returns, which is what
    /// carries the server's back-pressure through to the service.
    func handle(_ stanza: XMLElement) async -> [Outbound]

    /// Answers a stanza the parser skipped because it broke a limit; only its
    /// name and addressing attributes are left.
    func handleRejected(_ stanza: XMLElement, reason: XMLStreamError) async -> [Outbound]
}
