import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XMLStream

/// A scripted XMPP server for component tests: it listens on loopback, and the
/// test reads what the component sent (as parsed stream events) and writes
/// whatever bytes the script calls for.
final class FakeServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let accepted: NIOLockedValueBox<[FakeConnection]>

    private init(channel: any Channel, accepted: NIOLockedValueBox<[FakeConnection]>) {
        self.channel = channel
        self.accepted = accepted
        self.port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> FakeServer {
        let accepted = NIOLockedValueBox<[FakeConnection]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                let connection = FakeConnection(channel: child)
                accepted.withLockedValue { $0.append(connection) }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(FakeConnectionHandler(connection: connection))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return FakeServer(channel: channel, accepted: accepted)
    }

    /// The `index`-th connection the component made (0-based), waiting for it.
    func connection(_ index: Int, timeout: Duration = .seconds(10)) async throws -> FakeConnection {
        try await poll(timeout: timeout, what: "connection #\(index)") {
            accepted.withLockedValue { $0.count > index ? $0[index] : nil }
        }
    }

    var connectionCount: Int { accepted.withLockedValue { $0.count } }

    func stop() async {
        try? await channel.close()
        for connection in accepted.withLockedValue({ $0 }) {
            try? await connection.channel.close()
        }
    }
}

/// One accepted connection, seen from the server's side.
final class FakeConnection: @unchecked Sendable {
    let channel: any Channel
    private let lock = NIOLock()
    // Guarded by `lock`.
    private let parser = XMLStreamParser(namespaceAliases: ["jabber:component:accept": "jabber:client"])
    private var events: [XMLStreamEvent] = []
    private var raw: [UInt8] = []
    private var closed = false
    private var parsing = true
    private var byteCount = 0

    init(channel: any Channel) {
        self.channel = channel
    }

    fileprivate func received(_ buffer: ByteBuffer) {
        lock.withLock {
            byteCount += buffer.readableBytes
            guard parsing else { return }
            raw.append(contentsOf: buffer.readableBytesView)
            events += buffer.withUnsafeReadableBytes { parser.feed($0) }
        }
    }

    fileprivate func markClosed() {
        lock.withLock { closed = true }
    }

    var isClosed: Bool { lock.withLock { closed } }
    var bytesReceived: Int { lock.withLock { byteCount } }

    /// From now on only count bytes: for tests that move megabytes.
    func stopParsing() {
        lock.withLock { parsing = false }
    }
    var rawText: String { lock.withLock { String(decoding: raw, as: UTF8.self) } }
    var parseError: XMLStreamError? { lock.withLock { parser.error } }

    /// The next stream event the component sent.
    func nextEvent(timeout: Duration = .seconds(10)) async throws -> XMLStreamEvent {
        try await poll(timeout: timeout, what: "an event from the component") {
            lock.withLock { events.isEmpty ? nil : events.removeFirst() }
        }
    }

    /// The next top-level element the component sent.
    func nextElement(timeout: Duration = .seconds(10)) async throws -> XMLElement {
        while true {
            let event = try await nextEvent(timeout: timeout)
            if case .element(let element) = event { return element }
            if event == .streamClose { throw FakeServerError.unexpected("stream closed while waiting for an element") }
        }
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
    }

    func waitUntilClosed(timeout: Duration = .seconds(10)) async throws {
        _ = try await poll(timeout: timeout, what: "the connection to close") { isClosed ? true : nil }
    }

    /// Answers the component's stream header with ours and checks its handshake.
    func acceptHandshake(streamID: String = "s1", secret: String, reply: String = "<handshake/>") async throws -> XMLElement {
        guard case .streamOpen(let header) = try await nextEvent() else {
            throw FakeServerError.unexpected("no stream header")
        }
        try await send(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                + "xmlns:stream='http://etherx.jabber.org/streams' id='\(streamID)' from='\(header[attribute: "to"] ?? "")'>")
        let handshake = try await nextElement()
        try await send(reply)
        return handshake
    }
}

private final class FakeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let connection: FakeConnection

    init(connection: FakeConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.markClosed()
    }
}

enum FakeServerError: Error, CustomStringConvertible {
    case timedOut(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .timedOut(let what): "timed out waiting for \(what)"
        case .unexpected(let what): what
        }
    }
}

/// Polls `check` every few milliseconds until it yields a value; every wait in these tests is bounded.
func poll<T>(timeout: Duration, what: String, _ check: () -> T?) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if let value = check() { return value }
        try await Task.sleep(for: .milliseconds(5))
    }
    if let value = check() { return value }
    throw FakeServerError.timedOut(what)
}
