import Component
import Logging
import NIOCore
import Testing
import XMLStream
import XMPPCore

@Suite("Late answers paced by markers the server routes back", .timeLimit(.minutes(1)))
struct LatePacingTests {
    let late = AsyncStream.makeStream(of: [Outbound].self)

    /// A client with late answers, running against `server` until the test cancels `task`.
    func start(
        _ server: FakeServer, handler: RecordingHandler = RecordingHandler(), pacingTimeout: Duration = .seconds(10)
    ) -> (client: ComponentClient, task: Task<Void, any Error>) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let configuration = ComponentConfiguration(
            domain: "rooms.localhost", host: "127.0.0.1", port: server.port, secret: ComponentClientTests.secret,
            reconnectInitialDelay: .milliseconds(10), reconnectMaximumDelay: .milliseconds(50),
            pacingTimeout: pacingTimeout)
        let client = ComponentClient(configuration: configuration, handler: handler, lateOutbound: late.stream, logger: logger)
        return (client, Task { try await client.run() })
    }

    /// A page of search results: `count` messages of about 1 KB each.
    static func page(_ count: Int, tag: String) -> [Outbound] {
        (0..<count).map { index in
            .stanza(XMLElement(
                "message", namespace: Namespace.client,
                attributes: ["from": "room@rooms.localhost", "to": "al@localhost/x", "id": "\(tag)-\(index)"],
                children: [.element(XMLElement("body", namespace: Namespace.client, text: String(repeating: "w", count: 1000)))]))
        }
    }

    static func isMarker(_ element: XMLElement) -> Bool {
        element.name == "iq" && (element[attribute: "id"] ?? "").hasPrefix("parley-pace-")
    }

    /// The elements up to and including the next marker.
    static func slice(from connection: FakeConnection) async throws -> (messages: [XMLElement], marker: XMLElement) {
        var messages: [XMLElement] = []
        while true {
            let element = try await connection.nextElement()
            if isMarker(element) { return (messages, element) }
            messages.append(element)
        }
    }

    static func routeBack(_ marker: XMLElement, on connection: FakeConnection) async throws {
        // What Prosody and ejabberd send for an IQ result the component addressed to itself.
        try await connection.send(
            "<iq type='result' from='rooms.localhost' to='rooms.localhost' id='\(marker[attribute: "id"] ?? "")'/>")
    }

    func attach(_ client: ComponentClient, to server: FakeServer, connection index: Int = 0) async throws -> FakeConnection {
        let connection = try await server.connection(index)
        _ = try await connection.acceptHandshake(secret: ComponentClientTests.secret)
        for _ in 0..<500 where !(await client.status.isUp) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await client.status.isUp)
        return connection
    }

    @Test("a 40 KB answer goes out in slices of about 4 KB, each only after the server routed the one before")
    func slices() async throws {
        let server = try await FakeServer.start()
        let handler = RecordingHandler()
        let (client, task) = start(server, handler: handler)
        defer { task.cancel() }
        let connection = try await attach(client, to: server)

        late.continuation.yield(Self.page(40, tag: "a"))
        var received: [String] = []
        var slices = 0
        while received.count < 40 {
            let (messages, marker) = try await Self.slice(from: connection)
            #expect(marker[attribute: "from"] == "rooms.localhost" && marker[attribute: "to"] == "rooms.localhost")
            #expect(marker[attribute: "type"] == "result")
            #expect(!messages.isEmpty && messages.count <= 5, "a slice is about 4 KB: \(messages.count) messages")
            received += messages.compactMap { $0[attribute: "id"] }
            slices += 1
            if received.count < 40 {
                // Nothing more until the marker comes back.
                await #expect(throws: FakeServerError.self) { _ = try await connection.nextElement(timeout: .milliseconds(200)) }
            }
            try await Self.routeBack(marker, on: connection)
        }
        #expect(received == (0..<40).map { "a-\($0)" })
        #expect(slices >= 8)

        // A small answer after it goes out at once, marked too; the markers never reach the handler.
        late.continuation.yield(Self.page(1, tag: "b"))
        let (messages, _) = try await Self.slice(from: connection)
        #expect(messages.map { $0[attribute: "id"] } == ["b-0"])
        try await connection.send(ComponentClientTests.ping)
        _ = try await poll(timeout: .seconds(5), what: "the ping handled") { handler.stanzas.isEmpty ? nil : true }
        #expect(!handler.stanzas.contains(where: Self.isMarker))
        await server.stop()
    }

    @Test("a server that does not route a marker back in time gets the rest unpaced, and paced again once it does")
    func serverDropsMarkers() async throws {
        let server = try await FakeServer.start()
        let (client, task) = start(server, pacingTimeout: .milliseconds(300))
        defer { task.cancel() }
        let connection = try await attach(client, to: server)

        late.continuation.yield(Self.page(40, tag: "a"))
        late.continuation.yield(Self.page(40, tag: "b"))
        var ids: [String] = []
        var markers: [XMLElement] = []
        while ids.count < 80 {
            let element = try await connection.nextElement(timeout: .seconds(5))
            if Self.isMarker(element) { markers.append(element) } else { ids.append(element[attribute: "id"] ?? "") }
        }
        #expect(ids == (0..<40).map { "a-\($0)" } + (0..<40).map { "b-\($0)" })
        #expect(markers.count == 1, "pacing stops after the first marker that does not come back")

        // The marker comes back after all: the server was only slow, and pacing resumes.
        if let marker = markers.first { try await Self.routeBack(marker, on: connection) }
        try await Task.sleep(for: .milliseconds(100))
        late.continuation.yield(Self.page(40, tag: "c"))
        let (messages, _) = try await Self.slice(from: connection)
        #expect(messages.count <= 5 && messages.first?[attribute: "id"] == "c-0")
        await server.stop()
    }

    @Test("an orderly stop ends a paced answer: nothing follows the end of the stream")
    func stopWhileWaiting() async throws {
        let server = try await FakeServer.start()
        let (client, task) = start(server)
        defer { task.cancel() }
        let connection = try await attach(client, to: server)
        late.continuation.yield(Self.page(40, tag: "a"))
        let (_, marker) = try await Self.slice(from: connection)

        await client.stop()
        #expect(try await connection.nextEvent() == .streamClose)
        try await Self.routeBack(marker, on: connection)  // in flight when the stream ended
        await #expect(throws: FakeServerError.self) { _ = try await connection.nextEvent(timeout: .milliseconds(300)) }
        try await connection.send("</stream:stream>")
        try await task.value
        await server.stop()
    }

    @Test("a link lost while a marker is awaited does not hold later answers on the next link")
    func linkLostWhileWaiting() async throws {
        let server = try await FakeServer.start()
        let (client, task) = start(server)
        defer { task.cancel() }
        let first = try await attach(client, to: server)
        late.continuation.yield(Self.page(40, tag: "a"))
        _ = try await Self.slice(from: first)
        try await first.channel.close()

        let second = try await attach(client, to: server, connection: 1)
        late.continuation.yield(Self.page(2, tag: "b"))
        let (messages, marker) = try await Self.slice(from: second)
        #expect(messages.map { $0[attribute: "id"] } == ["b-0", "b-1"])
        try await Self.routeBack(marker, on: second)
        await server.stop()
    }
}
