import Foundation
import Logging
import Inbox
import MUC
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

/// The limits only the service can see: rooms a user creates and owns, occupants of all
/// rooms, rooms a user follows.
@Suite("Service-wide limits")
struct ServiceLimitsTests {
    static let domain = try! JID("rooms.localhost")

    static func host(_ configure: (inout RoomLimits) -> Void) -> (RoomHost, InMemoryRoomStore) {
        var limits = RoomLimits()
        configure(&limits)
        let store = InMemoryRoomStore()
        return (RoomHost(domain: domain, store: store, limits: limits, logger: Logger(label: "test")), store)
    }

    static func join(_ host: RoomHost, _ user: String, room: String, nick: String) async throws -> [XMLElement] {
        await host.handle(try DurabilityTests.stanza(
            "<presence from='\(user)' to='\(room)@rooms.localhost/\(nick)'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).stanzas
    }

    static func configure(_ host: RoomHost, _ user: String, room: String) async throws {
        _ = await host.handle(try DurabilityTests.stanza("""
            <iq from='\(user)' to='\(room)@rooms.localhost' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>\
            <x xmlns='jabber:x:data' type='submit'/></query></iq>
            """))
    }

    @Test("room creation: a burst, then a rate; and a ceiling on rooms owned")
    func creation() async throws {
        let (host, _) = Self.host { $0.roomCreationBurst = 2; $0.roomCreationsPerHour = 1 }
        #expect(try await Self.join(host, "eve@localhost/x", room: "a", nick: "Eve").first?.stanzaError == nil)
        #expect(try await Self.join(host, "eve@localhost/x", room: "b", nick: "Eve").first?.stanzaError == nil)
        let burstOver = try await Self.join(host, "eve@localhost/x", room: "c", nick: "Eve")
        #expect(burstOver.first?.stanzaError?.condition == .resourceConstraint)
        #expect(try await Self.join(host, "bob@localhost/x", room: "d", nick: "Bob").first?.stanzaError == nil, "others may")

        let (owned, _) = Self.host { $0.roomsPerUser = 1 }
        _ = try await Self.join(owned, "eve@localhost/x", room: "mine", nick: "Eve")
        try await Self.configure(owned, "eve@localhost/x", room: "mine")
        let second = try await Self.join(owned, "eve@localhost/x", room: "another", nick: "Eve")
        #expect(second.first?.stanzaError?.condition == .notAllowed)
        // Entering existing rooms is not creating.
        #expect(try await Self.join(owned, "eve@localhost/y", room: "mine", nick: "Eve").first?.stanzaError == nil)

        // Rooms never configured (still locked) and temporary rooms count too, though the store has none of them.
        let (unsaved, _) = Self.host { $0.roomsPerUser = 2 }
        _ = try await Self.join(unsaved, "eve@localhost/x", room: "locked1", nick: "Eve")
        _ = try await Self.join(unsaved, "eve@localhost/x", room: "locked2", nick: "Eve")
        let third = try await Self.join(unsaved, "eve@localhost/x", room: "locked3", nick: "Eve")
        #expect(third.first?.stanzaError?.condition == .notAllowed)
    }

    @Test("occupants: per room whatever its maxusers, and for the whole service")
    func occupants() async throws {
        let (host, _) = Self.host { $0.occupantsPerRoom = 2; $0.occupantsPerService = 3 }
        _ = try await Self.join(host, "alice@localhost/a", room: "one", nick: "Alice")
        try await Self.configure(host, "alice@localhost/a", room: "one")
        #expect(try await Self.join(host, "bob@localhost/b", room: "one", nick: "Bob").first?.stanzaError == nil)
        #expect(try await Self.join(host, "carol@localhost/c", room: "one", nick: "Carol").first?.stanzaError?.condition == .serviceUnavailable)
        _ = try await Self.join(host, "carol@localhost/c", room: "two", nick: "Carol")
        try await Self.configure(host, "carol@localhost/c", room: "two")
        let full = try await Self.join(host, "dave@localhost/d", room: "two", nick: "Dave")
        #expect(full.first?.stanzaError?.condition == .serviceUnavailable)
        #expect(full.first?.stanzaError?.text?.contains("service") == true)
    }

    @Test("followers per room and rooms per follower")
    func follows() async throws {
        let (host, _) = Self.host { $0.followersPerRoom = 1; $0.followsPerUser = 1 }
        for room in ["one", "two"] {
            _ = try await Self.join(host, "alice@localhost/a", room: room, nick: "Alice")
            try await Self.configure(host, "alice@localhost/a", room: room)
        }
        func follow(_ user: String, _ room: String) async throws -> StanzaError? {
            await host.handle(try DurabilityTests.stanza("""
                <iq from='\(user)' to='\(room)@rooms.localhost' type='set' id='f'>\
                <subscribe xmlns='urn:xmpp:mucsub:0' nick='\(user.prefix(3))'><event node='urn:xmpp:mucsub:nodes:messages'/></subscribe></iq>
                """)).stanzas.first?.stanzaError
        }
        #expect(try await follow("bob@localhost/b", "one") == nil)
        #expect(try await follow("carol@localhost/c", "one")?.condition == .notAllowed)
        #expect(try await follow("bob@localhost/b", "two")?.condition == .notAllowed)
    }
}

extension ServiceLimitsTests {
    static func router(rooms count: Int, maxStanzaBytes: Int) async throws -> Router {
        let store = InMemoryRoomStore()
        for n in 0..<count {
            let room = Room(jid: try JID("room\(String(format: "%04d", n))@rooms.localhost"), occupantIDSalt: "s")
            try await store.saveRoom(RoomRecord(room: room, created: 1))
        }
        return Router(
            domain: domain, serviceName: "Test", rooms: RoomHost(domain: domain, store: store, logger: Logger(label: "test")),
            maxStanzaBytes: maxStanzaBytes, logger: Logger(label: "test"))
    }

    static func items(_ router: Router, set: String = "") async throws -> XMLElement {
        let request = try #require(XMLStreamParser.parseElement("""
            <iq xmlns='jabber:client' from='alice@localhost/a' to='rooms.localhost' type='get' id='i'>\
            <query xmlns='http://jabber.org/protocol/disco#items'>\(set)</query></iq>
            """))
        let replies = await router.handle(request).stanzas
        return try #require(replies.first)
    }

    @Test("the service's room list comes in RSM pages of at most 250, asked for or not")
    func discoItemsPages() async throws {
        let router = try await Self.router(rooms: 300, maxStanzaBytes: 256 * 1024)
        let first = try #require(try await Self.items(router).child("query", namespace: Namespace.discoItems))
        #expect(first.children("item", namespace: Namespace.discoItems).count == 250)
        let set = try #require(first.child("set", namespace: Namespace.rsm))
        #expect(set.child("count", namespace: Namespace.rsm)?.text == "300")
        let last = try #require(set.child("last", namespace: Namespace.rsm)?.text)
        let second = try #require(try await Self.items(router, set: "<set xmlns='http://jabber.org/protocol/rsm'><max>100</max><after>\(last)</after></set>")
            .child("query", namespace: Namespace.discoItems))
        #expect(second.children("item", namespace: Namespace.discoItems).count == 50)
        #expect(second.children("item", namespace: Namespace.discoItems).first?[attribute: "jid"] == "room0250@rooms.localhost")
    }

    @Test("an answer larger than component.max_stanza_bytes is not sent: the asker gets resource-constraint")
    func outboundBound() async throws {
        let router = try await Self.router(rooms: 300, maxStanzaBytes: 4096)
        let reply = try await Self.items(router)
        #expect(reply.stanzaError?.condition == .resourceConstraint)
        let small = try await Self.items(router, set: "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set>")
        #expect(small[attribute: "type"] == "result")
    }
}

extension ServiceLimitsTests {
    @Test("[rooms] creation: anyone, local users, or admins only; service admins own every room")
    func creationPolicyAndAdmins() async throws {
        let admin = try JID("boss@localhost")
        func host(_ creation: RoomsConfiguration.Creation) -> RoomHost {
            RoomHost(
                domain: Self.domain, store: InMemoryRoomStore(), serviceAdmins: [admin],
                creation: RoomsConfiguration(creation: creation, localDomain: "localhost"), logger: Logger(label: "test"))
        }
        let local = host(.local)
        #expect(try await Self.join(local, "eve@elsewhere.example/x", room: "a", nick: "Eve").first?.stanzaError?.condition == .notAllowed)
        #expect(try await Self.join(local, "alice@localhost/x", room: "b", nick: "Alice").first?.stanzaError == nil)
        let admins = host(.admins)
        #expect(try await Self.join(admins, "alice@localhost/x", room: "c", nick: "Alice").first?.stanzaError?.condition == .notAllowed)
        #expect(try await Self.join(admins, "boss@localhost/x", room: "d", nick: "Boss").first?.stanzaError == nil)

        // The admin is an owner of a room someone else made: it may configure it.
        let anyone = host(.anyone)
        _ = try await Self.join(anyone, "alice@localhost/x", room: "e", nick: "Alice")
        try await Self.configure(anyone, "alice@localhost/x", room: "e")
        let form = await anyone.handle(try DurabilityTests.stanza(
            "<iq from='boss@localhost/y' to='e@rooms.localhost' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")).stanzas
        #expect(form.first?[attribute: "type"] == "result")
        #expect(RoomsConfiguration.parentDomain(of: "rooms.example.org") == "example.org")
    }
}

extension ServiceLimitsTests {
    @Test("a locked room its owner left, and a room made temporary while empty, end: their archive is out of reach")
    func roomsThatEndQuietly() async throws {
        let store = InMemoryRoomStore()
        let host = RoomHost(domain: Self.domain, store: store, logger: Logger(label: "test"))
        _ = try await Self.join(host, "eve@localhost/x", room: "quiet", nick: "Eve")
        // Both in one read from the server: the message is still pending when the room ends.
        _ = await host.process(try DurabilityTests.stanza(
            "<message from='eve@localhost/x' to='quiet@rooms.localhost' type='groupchat'><body>said while locked</body></message>"))
        _ = await host.process(try DurabilityTests.stanza("<presence from='eve@localhost/x' to='quiet@rooms.localhost/Eve' type='unavailable'/>"))
        #expect(await host.commit().isEmpty)
        #expect(await store.ended.values.first?.map(\.body) == ["said while locked"], "the locked room ended with its archive")
        #expect(try await store.query(try JID("quiet@rooms.localhost"), ArchiveQuery()).messages.isEmpty)
        let again = try await Self.join(host, "mallory@localhost/m", room: "quiet", nick: "M")
        #expect(!again.contains { $0.child("delay", namespace: Namespace.delay) != nil }, "no old history")
    }

    @Test("the outbound bound counts escaping: a stanza of quotes is measured, not estimated")
    func escapingCounted() async throws {
        let router = try await Self.router(rooms: 0, maxStanzaBytes: 12_000)
        let quotes = String(repeating: "\"", count: 3000)  // 3 KB raw, 18 KB escaped in an attribute
        var ping = XMLElement(
            "iq", namespace: Namespace.client,
            attributes: ["from": "alice@localhost/a", "to": "rooms.localhost", "type": "get", "id": quotes])
        ping.append(XMLElement("ping", namespace: Namespace.ping))
        let replies = await router.handle(ping).stanzas
        #expect(replies.first?.stanzaError?.condition == .resourceConstraint)
    }
}

extension XMLElement {
    /// The error this stanza carries, if it is an error.
    var stanzaError: StanzaError? { StanzaError(errorStanza: self) }
}

@Suite("Expensive reads per user")
struct QueryRateTests {
    @Test("a burst, then a rate; per user; 0 turns it off")
    func bucket() async throws {
        var limits = RoomLimits()
        limits.queryBurst = 3
        limits.queriesPerMinute = 60
        let limiter = QueryRateLimiter(limits: limits)
        let eve = try JID("eve@localhost/loop"), alice = try JID("alice@localhost/a")
        for _ in 0..<3 { #expect(await limiter.allow(eve, now: 100)) }
        #expect(await limiter.allow(eve, now: 100) == false)
        #expect(await limiter.allow(try JID("eve@localhost/other"), now: 100) == false)   // per user, not per session
        #expect(await limiter.allow(alice, now: 100))
        #expect(await limiter.allow(eve, now: 101))      // one a second comes back
        limits.queryBurst = 0
        let off = QueryRateLimiter(limits: limits)
        for _ in 0..<100 { #expect(await off.allow(eve, now: 100)) }
    }

    @Test("the inbox past the limit: resource-constraint, wait")
    func inboxRefused() async throws {
        var limits = RoomLimits()
        limits.queryBurst = 2
        limits.queriesPerMinute = 1
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("queries-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (router, _) = try Self.router(limits, path: path)
        var conditions: [StanzaError.Condition?] = []
        for index in 0..<3 {
            let reply = await router.handle(try DurabilityTests.stanza(
                "<iq from='eve@localhost/x' to='rooms.localhost' type='get' id='i\(index)'><inbox xmlns='\(InboxProtocol.namespace)'/></iq>").element).stanzas
            conditions.append(reply.first?.stanzaError?.condition)
        }
        #expect(conditions == [nil, nil, .resourceConstraint])
    }

    @Test("expensive reads past [limits] queued_queries, service-wide: resource-constraint until an answer is written")
    func queryQueue() async throws {
        var limits = RoomLimits()
        limits.queuedQueries = 2
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (router, queue, answers) = try await Self.offPathRouter(limits, path: path)
        // Each from another user: no one's own rate is near its limit.
        func ask(_ user: String) async throws -> StanzaError.Condition?? {
            let replies = await router.handle(try DurabilityTests.stanza(
                "<iq from='\(user)@localhost/x' to='rooms.localhost' type='get' id='\(user)'><inbox xmlns='\(InboxProtocol.namespace)'/></iq>").element).stanzas
            return replies.isEmpty ? nil : .some(replies.first?.stanzaError?.condition)
        }
        #expect(try await ask("a") == nil, "answered later")
        #expect(try await ask("b") == nil, "answered later")
        #expect(try await ask("c") == .some(.resourceConstraint), "the queue is full")
        var late = answers.makeAsyncIterator()
        let first = await late.next()
        guard case .stanza(let answer)? = first?.first else {
            Issue.record("no answer for a: \(String(describing: first))")
            return
        }
        #expect(answer[attribute: "id"] == "a")
        queue.leave()  // what the link does once it wrote the answer
        #expect(try await ask("d") == nil, "a place is free again")
        #expect(try await ask("e") == .some(.resourceConstraint))
    }

    @Test("expensive reads of one address past [limits] queued_queries_per_user: resource-constraint until one is answered; others go on")
    func queryQueuePerUser() async throws {
        var limits = RoomLimits()
        limits.queuedQueries = 10
        limits.queuedQueriesPerUser = 2
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("share-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (router, queue, answers) = try await Self.offPathRouter(limits, path: path)
        func ask(_ from: String, id: String) async throws -> StanzaError? {
            let replies = await router.handle(try DurabilityTests.stanza(
                "<iq from='\(from)' to='rooms.localhost' type='get' id='\(id)'><inbox xmlns='\(InboxProtocol.namespace)'/></iq>").element).stanzas
            return replies.first?.stanzaError
        }
        // Two reads of mallory's still running (from two resources: the address counts).
        #expect(queue.enter(try JID("mallory@localhost/a")) == nil)
        #expect(queue.enter(try JID("mallory@localhost/b")) == nil)
        let refused = try await ask("mallory@localhost/c", id: "m3")
        #expect(refused?.condition == .resourceConstraint)
        #expect(refused?.type == .wait)
        #expect(refused?.text?.contains("not answered yet") == true)
        #expect(try await ask("alice@localhost/x", id: "a1") == nil, "another address still has its share")
        var late = answers.makeAsyncIterator()
        guard case .stanza(let answer)? = await late.next()?.first else {
            Issue.record("no answer for alice")
            return
        }
        #expect(answer[attribute: "id"] == "a1")
        // Her answer handed over gave her place back: two more fit in her share of two.
        let alice = try JID("alice@localhost/y")
        #expect(queue.enter(alice) == nil && queue.enter(alice) == nil)
        #expect(queue.enter(alice) == .userFull)
        queue.answered(try JID("mallory@localhost/a"))
        #expect(try await ask("mallory@localhost/c", id: "m4") == nil, "one answered: the address may ask again")
        #expect(queue.count == 6, "service-wide places stay until the link writes the answers")
    }

    /// A router over a new database at `path`, its expensive reads answered in line.
    static func router(_ limits: RoomLimits, path: String) throws -> (Router, RoomHost) {
        let store = try SQLiteRoomStore(path: path)
        let rooms = RoomHost(domain: ServiceLimitsTests.domain, store: store, limits: limits, logger: Logger(label: "test"))
        let router = Router(
            domain: ServiceLimitsTests.domain, serviceName: "Test", rooms: rooms,
            inbox: InboxProtocol(store: store, occupantCount: { _ in 0 }), logger: Logger(label: "test"))
        return (router, rooms)
    }

    /// The same, its expensive reads run off the path on one read connection, with the queue of
    /// their places and the stream of their late answers.
    static func offPathRouter(_ limits: RoomLimits, path: String) async throws -> (Router, QueryQueue, AsyncStream<[Outbound]>) {
        let (router, rooms) = try router(limits, path: path)
        let (answers, continuation) = AsyncStream.makeStream(of: [Outbound].self)
        let queue = QueryQueue(limits: limits)
        await rooms.searchOffPath(
            try ArchiveReaders(path: path, count: 1, budget: 5), answers: continuation, queue: queue)
        return (router, queue, answers)
    }
}
