import XMLStream

/// Where and how Parley attaches to its XMPP server (XEP-0114).
public struct ComponentConfiguration: Sendable, Hashable {
    /// The component's domain, which the server routes to Parley.
    public var domain: String
    /// The server's component listener.
    public var host: String
    public var port: Int
    /// The shared secret the server was given for this component.
    public var secret: String
    /// A whitespace ping is sent after this long without writing.
    public var keepaliveInterval: Duration
    /// How long the server may take to answer the stream header and the handshake.
    public var handshakeTimeout: Duration
    public var reconnectInitialDelay: Duration
    public var reconnectMaximumDelay: Duration
    public var limits: XMLStreamLimits
    /// How often the handler's `tick` runs while the link is up.
    public var tickInterval: Duration
    /// How stanzas are written to the debug log.
    public var stanzaLog: StanzaLog
    /// Direct TLS to the server's component port; nil: plain TCP (loopback).
    public var tls: ComponentTLS?
    /// How long the server may take to route a pacing marker back before late answers
    /// go out unpaced on that link (`LinkPacer`).
    public var pacingTimeout: Duration

    public init(
        domain: String, host: String, port: Int, secret: String,
        keepaliveInterval: Duration = .seconds(60),
        handshakeTimeout: Duration = .seconds(10),
        reconnectInitialDelay: Duration = .milliseconds(500),
        reconnectMaximumDelay: Duration = .seconds(30),
        limits: XMLStreamLimits = XMLStreamLimits(),
        tickInterval: Duration = .seconds(60),
        stanzaLog: StanzaLog = StanzaLog(),
        tls: ComponentTLS? = nil,
        pacingTimeout: Duration = .seconds(3)
    ) {
        self.pacingTimeout = pacingTimeout
        self.tls = tls
        self.domain = domain
        self.host = host
        self.port = port
        self.secret = secret
        self.keepaliveInterval = keepaliveInterval
        self.handshakeTimeout = handshakeTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaximumDelay = reconnectMaximumDelay
        self.limits = limits
        self.tickInterval = tickInterval
        self.stanzaLog = stanzaLog
    }
}
