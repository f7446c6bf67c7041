import XMLStream
import XMPPCore

/// One stanza from the server, as the link hands it on.
public enum ComponentInput: Sendable {
    case stanza(XMLElement)
    /// A stanza the parser skipped because it broke a limit; only its name
    /// and addressing attributes are left.
    case rejected(XMLElement, reason: XMLStreamError)
}

/// What the component hands stanzas to: the service's router.
public protocol ComponentStanzaHandler: Sendable {
    /// Handles the stanzas that arrived together (one read from the socket)
    /// and returns what to send, in order. The link writes the answer in one
    /// go and reads on only after that, which carries the server's
    /// back-pressure through to the service; the batch is also the unit in
    /// which the archive commits, before anything of it is sent.
    func handle(_ batch: [ComponentInput]) async -> [Outbound]

    /// Called now and then while the link is up (first soon after it is
    /// ready, then every `ComponentConfiguration.tickInterval`); what it
    /// returns is sent. The service checks the link with it.
    func tick() async -> [Outbound]

    /// What to send before the stream closes in an orderly stop (everyone in a
    /// room is told it is being shut down); everything pending is committed first.
    func farewell() async -> [Outbound]

    /// What to send each time the link comes up (after the handshake), before anything is read.
    func linkReady() async -> [Outbound]
}

extension ComponentStanzaHandler {
    public func tick() async -> [Outbound] { [] }
    public func farewell() async -> [Outbound] { [] }
    public func linkReady() async -> [Outbound] { [] }
}
