import ParleyMetrics
import Logging
import NIOCore
import NIOPosix
import XMLStream
import XMPPCore

/// Keeps Parley attached to its XMPP server: connects, authenticates with the
/// XEP-0114 handshake, serves stanzas, and reconnects with backoff whenever the
/// link is lost. Only a rejected secret ends it.
public final class ComponentClient: Sendable {
    public let configuration: ComponentConfiguration
    /// Up while the stream is open and the handshake accepted.
    public let status: LinkStatus
    private let control = LinkControl()
    private let handler: any ComponentStanzaHandler
    private let group: any EventLoopGroup
    private let logger: Logger
    private let metrics: ServiceMetrics
    /// Answers the service finishes later (searches on read connections), written as they come.
    private let lateOutbound: AsyncStream<[Outbound]>?
    /// Told once per late answer, written or dropped with its link.
    private let lateAnswerDone: @Sendable () -> Void

    public init(
        configuration: ComponentConfiguration,
        handler: any ComponentStanzaHandler,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metrics: ServiceMetrics = .none,
        onLinkChange: @escaping @Sendable (Bool) -> Void = { _ in },
        lateOutbound: AsyncStream<[Outbound]>? = nil,
        lateAnswerDone: @escaping @Sendable () -> Void = {},
        logger: Logger
    ) {
        self.lateOutbound = lateOutbound
        self.lateAnswerDone = lateAnswerDone
        self.configuration = configuration
        self.handler = handler
        self.group = group
        self.metrics = metrics
        self.status = LinkStatus(gauge: metrics.linkUp, onChange: onLinkChange)
        self.logger = logger
    }

    /// Serves until `stop()` (the farewell, then the stream closes), the task is
    /// cancelled (the stream closes politely), or the server rejects the secret (then throws).
    public func run() async throws(ComponentFailure) {
        var backoff = Backoff(
            initial: configuration.reconnectInitialDelay, maximum: configuration.reconnectMaximumDelay)
        let endpoint = "\(configuration.host):\(configuration.port)"
        let late = lateOutbound.map { stream in
            Task { [control, lateAnswerDone] in
                for await items in stream {
                    // Written between the read loop's writes; while the link is down the
                    // asker is gone too, and the answer with it.
                    if let link = await control.current() {
                        try? await writePaced(items, to: link)
                    }
                    lateAnswerDone()
                }
            }
        }
        defer { late?.cancel() }
        while !Task.isCancelled {
            do {
                let outcome = try await connectAndServe()
                if outcome.wasReady { backoff.reset() }
                if outcome.failure.isFatal {
                    // ejabberd answers not-authorized for a domain it does not route to a component, too.
                    logger.critical(
                        "\(outcome.failure): wrong secret, or the server does not serve the domain \(configuration.domain) as a component")
                    throw outcome.failure
                }
                if Task.isCancelled { break }
                if await control.stopping { break }
                logger.warning("component link to \(endpoint) ended: \(outcome.failure)")
            } catch let failure as ComponentFailure {
                throw failure
            } catch {
                if Task.isCancelled { break }
                logger.warning("cannot reach the XMPP server at \(endpoint): \(error)")
            }
            await status.set(up: false)
            await control.detach()
            if await control.stopping { break }
            metrics.reconnects.increment()
            let delay = backoff.nextDelay()
            logger.info("reconnecting to \(endpoint) in \(delay.formattedSeconds) s (attempt \(backoff.attempt))")
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
        await status.set(up: false)
        logger.info("component stopped")
    }

    private struct Outcome {
        var failure: ComponentFailure
        var wasReady: Bool
    }

    private func connectAndServe() async throws -> Outcome {
        let configuration = configuration
        // Tried here first, so that unusable CA certificates are reported before connecting.
        if let settings = configuration.tls { _ = try OpenSSLClientHandler(settings: settings, logger: logger) }
        let logger = logger
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let parser = XMLStreamParser(
                        namespaceAliases: [Namespace.componentAccept: Namespace.client], limits: configuration.limits)
                    let keepalive = TimeAmount.nanoseconds(configuration.keepaliveInterval.nanoseconds)
                    if let settings = configuration.tls {
                        try channel.pipeline.syncOperations.addHandler(try OpenSSLClientHandler(settings: settings, logger: logger))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        QuickAck(),
                        IdleStateHandler(writeTimeout: keepalive),
                        WhitespaceKeepalive(),
                        XMLStreamDecoder(parser: parser),
                    ])
                    return try NIOAsyncChannel<[StreamInput], ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("connected to \(configuration.host):\(configuration.port); opening the stream for \(configuration.domain)")

        // A server that never answers the header or the handshake must not hold us forever.
        let rawChannel = channel.channel
        let handshakeTimer = rawChannel.eventLoop.scheduleTask(
            in: .nanoseconds(configuration.handshakeTimeout.nanoseconds)
        ) {
            rawChannel.close(promise: nil)
        }
        defer { handshakeTimer.cancel() }

        var wasReady = false
        var pacer: LinkPacer?
        let logsStanzas = logger.logLevel <= .debug
        let failure: ComponentFailure = try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var session = ComponentSession(domain: configuration.domain, secret: configuration.secret)
                try await outbound.write(ByteBuffer(string: session.openingHeader))
                var batch: [ComponentInput] = []
                var ticks: Task<Void, Never>?
                defer { ticks?.cancel() }
                // Hands the stanzas gathered so far to the service and writes its answer in one go.
                func serve() async throws {
                    guard !batch.isEmpty else { return }
                    let replies = await handler.handle(batch)
                    batch.removeAll(keepingCapacity: true)
                    if !replies.isEmpty {
                        try await outbound.write(bytes(for: replies, allocator: rawChannel.allocator))
                    }
                }
                for try await inputs in inbound {
                    for input in inputs {
                        for action in session.receive(input) {
                            switch action {
                            case .send(let text):
                                try await serve()
                                try await outbound.write(ByteBuffer(string: text))
                            case .becameReady(let streamID):
                                handshakeTimer.cancel()
                                wasReady = true
                                logger.notice("component \(configuration.domain) is online (stream \(streamID))")
                                await status.set(up: true)
                                let linkPacer = LinkPacer(
                                    domain: configuration.domain, timeout: configuration.pacingTimeout,
                                    onTimeout: { [metrics] in metrics.pacingTimeouts.increment() })
                                pacer = linkPacer
                                await control.attach(.init(writer: outbound, channel: rawChannel, pacer: linkPacer))
                                let greeting = await handler.linkReady()
                                if !greeting.isEmpty {
                                    try await outbound.write(bytes(for: greeting, allocator: rawChannel.allocator))
                                }
                                ticks = Task { await tick(outbound, allocator: rawChannel.allocator) }
                            case .deliver(let stanza):
                                if let pacer, pacer.consume(stanza) { continue }
                                if logsStanzas {
                                    logger.debug("in: \(configuration.stanzaLog.line(stanza))")
                                }
                                metrics.received(kind: stanza.name)
                                batch.append(.stanza(stanza))
                            case .reject(let stanza, let reason):
                                metrics.received(kind: stanza.name)
                                logger.notice("skipped a stanza from \(stanza[attribute: "from"] ?? "?"): \(reason)")
                                batch.append(.rejected(stanza, reason: reason))
                            case .end(let failure):
                                try await serve()
                                return failure
                            }
                        }
                    }
                    try await serve()
                }
                return ComponentFailure.closed
            }
        } onCancel: {
            // Shutting down: end the stream properly so the server drops the route at once.
            rawChannel.writeAndFlush(ByteBuffer(string: ComponentSession.closingTag)).whenComplete { _ in
                rawChannel.close(promise: nil)
            }
        }
        return Outcome(failure: failure, wasReady: wasReady)
    }

    /// An orderly stop: the handler's farewell (XEP-0045 status 332 to every
    /// occupant) and the end of the stream go out, the server closes its side,
    /// and `run()` returns without reconnecting. Should the server not close
    /// within `grace`, the connection is closed anyway.
    public func stop(grace: Duration = .seconds(3)) async {
        guard let link = await control.beginStop() else { return }
        let farewell = await handler.farewell()
        var buffer = bytes(for: farewell, allocator: link.channel.allocator)
        buffer.writeString(ComponentSession.closingTag)
        logger.notice("stopping: \(farewell.stanzas.count) occupants told the service is shutting down")
        do {
            try await link.writer.write(buffer)
        } catch {
            logger.warning("stopping: the farewell could not be written: \(error)")
        }
        let channel = link.channel
        channel.eventLoop.scheduleTask(in: .nanoseconds(grace.nanoseconds)) { channel.close(promise: nil) }
    }

    /// Runs the handler's `tick` while the link is up: soon after it is ready, then at the interval.
    private func tick(_ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, allocator: ByteBufferAllocator) async {
        var delay = min(Duration.seconds(1), configuration.tickInterval)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: delay)
                let stanzas = await handler.tick()
                if !stanzas.isEmpty {
                    try await outbound.write(bytes(for: stanzas, allocator: allocator))
                }
            } catch {
                return  // cancelled, or the link is gone
            }
            delay = configuration.tickInterval
        }
    }

    /// What one write sends: logged (at debug level), counted, encoded. Every write but the
    /// late answers' (`writePaced`, which logs and counts each answer once) goes through here.
    private func bytes(for outbound: [Outbound], allocator: ByteBufferAllocator) -> ByteBuffer {
        if logger.logLevel <= .debug { logOutbound(outbound) }
        metrics.count(outbound)
        return Self.encode(outbound, allocator: allocator)
    }

    private func logOutbound(_ outbound: [Outbound]) {
        for item in outbound {
            switch item {
            case .stanza(let stanza):
                logger.debug("out: \(configuration.stanzaLog.line(stanza))")
            case .fanOut(let stanza, let recipients):
                logger.debug("out to \(recipients.count) recipients: \(configuration.stanzaLog.line(stanza))")
            }
        }
    }

    /// Late answers in slices, each written once the server has routed the one before
    /// (see `LinkPacer`), so that a room's messages never queue behind a whole page.
    private func writePaced(_ items: [Outbound], to link: LinkControl.Link) async throws {
        if logger.logLevel <= .debug { logOutbound(items) }
        metrics.count(items)
        let pacer = link.pacer
        var encoder = OutboundEncoder(allocator: link.channel.allocator)
        for (index, item) in items.enumerated() {
            encoder.append(item)
            let last = index == items.count - 1
            if pacer.isEnabled {
                guard encoder.byteCount >= LinkPacer.sliceBytes || last else { continue }
                if await !pacer.waitForMarker() {
                    // The link went or is stopping: the rest of the answer is dropped, as a
                    // late answer ready while the link is down always is (its asker's query
                    // times out), and nothing follows the end of a stream.
                    if pacer.isClosed { return }
                    logger.warning(
                        "the server did not route a pacing marker back in time; late answers go out unpaced until one comes back")
                }
            }
            if pacer.isEnabled {
                encoder.append(raw: pacer.nextMarker())
            } else if !last {
                continue  // the rest of the answer in one write
            }
            guard !pacer.isClosed else { return }
            try await link.writer.write(encoder.finish())
            encoder = OutboundEncoder(allocator: link.channel.allocator)
        }
    }

    /// All replies to one stanza go out in one write. A fan-out is serialized
    /// once; each copy is that text with its own `to` spliced in after the name.
    public static func encode(_ outbound: [Outbound], allocator: ByteBufferAllocator) -> ByteBuffer {
        var encoder = OutboundEncoder(allocator: allocator)
        for item in outbound { encoder.append(item) }
        return encoder.finish()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var formattedSeconds: String {
        let milliseconds = nanoseconds / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
