import Component
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing
import XMLStream
import XMPPCore

/// Answers pings and records what it was given.
final class RecordingHandler: ComponentStanzaHandler {
    private let received = NIOLockedValueBox<[XMLElement]>([])
    let replyPadding: Int

    init(replyPadding: Int = 0) {
        self.replyPadding = replyPadding
    }

    var stanzas: [XMLElement] { received.withLockedValue { $0 } }

    func handle(_ batch: [ComponentInput]) async -> [Outbound] {
        var replies: [Outbound] = []
        for input in batch {
            switch input {
            case .stanza(let stanza):
                received.withLockedValue { $0.append(stanza) }
                guard case .iq(let iq)? = try? Stanza(parsing: stanza), iq.isRequest else { continue }
                var reply = iq.result()
                if replyPadding > 0 {
                    reply.append(XMLElement("pad", namespace: "urn:test", text: String(repeating: "p", count: replyPadding)))
                }
                replies.append(.stanza(reply))
            case .rejected(let stanza, let reason):
                replies.append(.stanza(StanzaError(.policyViolation, text: "\(reason)").reply(to: stanza)))
            }
        }
        return replies
    }
}

/// A handler that says goodbye to one occupant when the client stops.
final class FarewellHandler: ComponentStanzaHandler {
    func handle(_ batch: [ComponentInput]) async -> [Outbound] { [] }

    func farewell() async -> [Outbound] {
        [.stanza(XMLElement(
            "presence", namespace: Namespace.client,
            attributes: ["from": "room@rooms.localhost/Al", "to": "al@localhost/x", "type": "unavailable"]))]
    }
}

@Suite("Component client against a scripted server", .timeLimit(.minutes(1)))
struct ComponentClientTests {
    static let secret = "sekrit"

    func makeClient(
        port: Int, handler: RecordingHandler = RecordingHandler(),
        keepalive: Duration = .seconds(60), handshakeTimeout: Duration = .seconds(5)
    ) -> ComponentClient {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let configuration = ComponentConfiguration(
            domain: "rooms.localhost", host: "127.0.0.1", port: port, secret: Self.secret,
            keepaliveInterval: keepalive, handshakeTimeout: handshakeTimeout,
            reconnectInitialDelay: .milliseconds(10), reconnectMaximumDelay: .milliseconds(50))
        return ComponentClient(configuration: configuration, handler: handler, logger: logger)
    }

    static let ping = "<iq type='get' id='p1' from='alice@localhost/x' to='rooms.localhost'><ping xmlns='urn:xmpp:ping'/></iq>"

    @Test("opens jabber:component:accept, sends the SHA-1 handshake, then serves stanzas")
    func handshakeAndServe() async throws {
        let server = try await FakeServer.start()
        let handler = RecordingHandler()
        let client = makeClient(port: server.port, handler: handler)
        let task = Task { try await client.run() }
        defer { task.cancel() }

        let connection = try await server.connection(0)
        guard case .streamOpen(let header) = try await connection.nextEvent() else {
            Issue.record("no stream header")
            return
        }
        #expect(header.contentNamespace == "jabber:component:accept")
        #expect(header[attribute: "to"] == "rooms.localhost")
        try await connection.send(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                + "xmlns:stream='http://etherx.jabber.org/streams' id='3BF96D32' from='rooms.localhost'>")
        let handshake = try await connection.nextElement()
        #expect(handshake.name == "handshake")
        // XEP-0114 §3: hex SHA-1 of stream id + secret.
        #expect(handshake.text == ComponentHandshake.digest(streamID: "3BF96D32", secret: Self.secret))
        try await connection.send("<handshake/>")

        try await connection.send(Self.ping)
        let reply = try await connection.nextElement()
        #expect(reply.name == "iq")
        #expect(reply.namespace == "jabber:client")
        #expect(reply[attribute: "type"] == "result")
        #expect(reply[attribute: "id"] == "p1")
        #expect(reply[attribute: "to"] == "alice@localhost/x")
        #expect(handler.stanzas.count == 1)

        task.cancel()
        // Shutting down closes the stream properly.
        #expect(try await connection.nextEvent() == .streamClose)
        await server.stop()
    }

    @Test("the handshake digest is the lowercase hex SHA-1 of stream id + secret")
    func digestVectors() {
        // FIPS 180 test vector: SHA-1("abc"), however it is split between id and secret.
        #expect(ComponentHandshake.digest(streamID: "", secret: "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(ComponentHandshake.digest(streamID: "a", secret: "bc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(ComponentHandshake.digest(streamID: "ab", secret: "c") == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test("a rejected secret is fatal: run() throws not-authorized and does not reconnect")
    func notAuthorized() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port)
        let task = Task { try await client.run() }
        let connection = try await server.connection(0)
        _ = try await connection.acceptHandshake(
            secret: Self.secret,
            reply: "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
        do {
            try await task.value
            Issue.record("run() returned normally")
        } catch let error as ComponentFailure {
            #expect(error == .notAuthorized(nil))
            #expect(error.isFatal)
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.connectionCount == 1)
        await server.stop()
    }

    @Test(
        "bad XML from the server ends the stream with the right stream error, then Parley reconnects",
        arguments: [
            ("<message><body></message>", StreamError.Condition.notWellFormed),
            ("<!-- sneaky -->", .restrictedXML),
            ("<?pi x?>", .restrictedXML),
            ("<message to='r@rooms.localhost'><body>&xxe;</body></message>", .restrictedXML),
        ])
    func badXML(garbage: String, condition: StreamError.Condition) async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port)
        let task = Task { try await client.run() }
        defer { task.cancel() }

        let first = try await server.connection(0)
        _ = try await first.acceptHandshake(secret: Self.secret)
        try await first.send(Self.ping)
        _ = try await first.nextElement()
        try await first.send(garbage)
        let error = try await first.nextElement()
        #expect(StreamError(element: error)?.condition == condition)
        #expect(try await first.nextEvent() == .streamClose)
        try await first.waitUntilClosed()

        let second = try await server.connection(1)
        _ = try await second.acceptHandshake(secret: Self.secret)
        try await second.send(Self.ping)
        #expect(try await second.nextElement()[attribute: "type"] == "result")
        await server.stop()
    }

    @Test("an oversized or too-deep stanza is refused to its sender, and the link stays up")
    func oversized() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port)
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let connection = try await server.connection(0)
        _ = try await connection.acceptHandshake(secret: Self.secret)
        let body = String(repeating: "x", count: 300 * 1024)
        try await connection.send(
            "<message to='r@rooms.localhost' from='a@localhost/b' id='big'><body>\(body)</body></message>")
        let refusal = try await connection.nextElement()
        #expect(refusal[attribute: "id"] == "big")
        #expect(refusal[attribute: "to"] == "a@localhost/b")
        #expect(StanzaError(errorStanza: refusal)?.condition == .policyViolation)

        let deep = String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)
        try await connection.send(
            "<iq type='get' id='deep' to='rooms.localhost' from='a@localhost/b'><q xmlns='urn:x'>\(deep)</q></iq>")
        #expect(StanzaError(errorStanza: try await connection.nextElement())?.condition == .policyViolation)

        try await connection.send(Self.ping)
        #expect(try await connection.nextElement()[attribute: "type"] == "result")
        #expect(server.connectionCount == 1)
        await server.stop()
    }

    @Test("a single token larger than any stanza ends the stream with policy-violation")
    func runawayToken() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port)
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let connection = try await server.connection(0)
        _ = try await connection.acceptHandshake(secret: Self.secret)
        try await connection.send("<message to='" + String(repeating: "a", count: 300 * 1024))
        let error = try await connection.nextElement()
        #expect(StreamError(element: error)?.condition == .policyViolation)
        _ = try await server.connection(1)
        await server.stop()
    }

    @Test("a lost connection is re-established and serves again")
    func reconnectAfterDrop() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port)
        let task = Task { try await client.run() }
        defer { task.cancel() }
        for index in 0..<3 {
            let connection = try await server.connection(index)
            _ = try await connection.acceptHandshake(streamID: "id\(index)", secret: Self.secret)
            try await connection.send(Self.ping)
            #expect(try await connection.nextElement()[attribute: "type"] == "result")
            try await connection.channel.close()
        }
        await server.stop()
    }

    @Test("a server that never answers the header is given up on and retried")
    func handshakeTimeout() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port, handshakeTimeout: .milliseconds(200))
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let silent = try await server.connection(0)
        try await silent.waitUntilClosed()
        let second = try await server.connection(1)
        _ = try await second.acceptHandshake(secret: Self.secret)
        try await second.send(Self.ping)
        #expect(try await second.nextElement()[attribute: "type"] == "result")
        await server.stop()
    }

    @Test("an idle link gets whitespace keepalives")
    func keepalive() async throws {
        let server = try await FakeServer.start()
        let client = makeClient(port: server.port, keepalive: .milliseconds(100))
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let connection = try await server.connection(0)
        let handshake = try await connection.acceptHandshake(secret: Self.secret)
        let afterHandshake = connection.rawText.count
        _ = try await poll(timeout: .seconds(5), what: "three keepalives") {
            connection.rawText.dropFirst(afterHandshake).filter { $0 == " " }.count >= 3 ? true : nil
        }
        #expect(connection.rawText.dropFirst(afterHandshake).allSatisfy { $0 == " " })
        #expect(handshake.name == "handshake")
        await server.stop()
    }

    @Test("a server that stops reading stops Parley from reading: memory stays bounded")
    func backPressure() async throws {
        let server = try await FakeServer.start()
        // Each reply is 64 KiB, so a few hundred fill every buffer on the way.
        let handler = RecordingHandler(replyPadding: 64 * 1024)
        let client = makeClient(port: server.port, handler: handler)
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let connection = try await server.connection(0)
        _ = try await connection.acceptHandshake(secret: Self.secret)
        connection.stopParsing()
        try await connection.channel.setOption(ChannelOptions.autoRead, value: false).get()

        let total = 400
        let pings = String(repeating: Self.ping, count: 50)
        for _ in 0..<(total / 50) {
            connection.channel.writeAndFlush(connection.channel.allocator.buffer(string: pings), promise: nil)
        }
        // Wait until Parley stops taking stanzas because it cannot write the answers.
        var last = -1
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(50))
            let now = handler.stanzas.count
            if now == last { break }
            last = now
        }
        let stalledAt = handler.stanzas.count
        #expect(stalledAt < total / 2, "Parley kept reading while the server did not read")

        // Once the server reads again, everything is served.
        try await connection.channel.setOption(ChannelOptions.autoRead, value: true).get()
        connection.channel.read()
        _ = try await poll(timeout: .seconds(30), what: "all stanzas handled") {
            handler.stanzas.count == total ? true : nil
        }
        _ = try await poll(timeout: .seconds(30), what: "all replies received") {
            connection.bytesReceived > total * 64 * 1024 ? true : nil
        }
        await server.stop()
    }

    @Test("an orderly stop sends the farewell, then closes the stream, and run() returns without reconnecting")
    func orderlyStop() async throws {
        let server = try await FakeServer.start()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = ComponentClient(
            configuration: ComponentConfiguration(
                domain: "rooms.localhost", host: "127.0.0.1", port: server.port, secret: Self.secret,
                reconnectInitialDelay: .milliseconds(10), reconnectMaximumDelay: .milliseconds(50)),
            handler: FarewellHandler(), logger: logger)
        let task = Task { try await client.run() }
        defer { task.cancel() }
        let connection = try await server.connection(0)
        _ = try await connection.acceptHandshake(secret: Self.secret)
        for _ in 0..<500 where !(await client.status.isUp) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await client.status.isUp)

        await client.stop()
        let farewell = try await connection.nextElement()
        #expect(farewell.name == "presence")
        #expect(farewell[attribute: "type"] == "unavailable")
        #expect(try await connection.nextEvent() == .streamClose)
        try await connection.send("</stream:stream>")
        try await task.value
        #expect(await client.status.isUp == false)
        await server.stop()
    }
}
