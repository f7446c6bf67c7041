import Logging
import MUC
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

/// Occupants live in memory; the store remembers which session is in which room, so
/// that after a crash every session is told it is out, and after a lost link every
/// session is checked.
@Suite("Occupants after a crash or a lost link")
struct OccupantRecoveryTests {
    static let domain = try! JID("rooms.localhost")

    static func host(_ store: InMemoryRoomStore) -> RoomHost {
        RoomHost(domain: domain, store: store, logger: Logger(label: "test"))
    }

    @Test("a crash: the next start tells every session that was in a room that it is out (332)")
    func crash() async throws {
        let store = InMemoryRoomStore()
        let first = Self.host(store)
        _ = try await ServiceLimitsTests.join(first, "alice@localhost/a", room: "r", nick: "Alice")
        try await ServiceLimitsTests.configure(first, "alice@localhost/a", room: "r")
        _ = try await ServiceLimitsTests.join(first, "bob@localhost/b", room: "r", nick: "Bob")
        _ = try await ServiceLimitsTests.join(first, "carol@localhost/c", room: "r", nick: "Carol")
        _ = await first.handle(try DurabilityTests.stanza(
            "<presence from='carol@localhost/c' to='r@rooms.localhost/Carol' type='unavailable'/>"))
        _ = await first.handle(try DurabilityTests.stanza(
            "<presence from='bob@localhost/b' to='r@rooms.localhost/Robert'/>"))
        // No orderly stop: a new host on the same store, as after SIGKILL.
        let second = Self.host(store)
        await second.recoverOccupants()
        let told = await second.linkReady().stanzas
        #expect(Set(told.compactMap { $0[attribute: "to"] }) == ["alice@localhost/a", "bob@localhost/b"])
        let bob = try #require(told.first { $0[attribute: "to"] == "bob@localhost/b" })
        #expect(bob[attribute: "from"] == "r@rooms.localhost/Robert")
        #expect(bob[attribute: "type"] == "unavailable")
        let codes = bob.child("x", namespace: MUCNamespace.user)?.children("status", namespace: MUCNamespace.user)
            .compactMap { $0[attribute: "code"] }
        #expect(Set(codes ?? []) == ["110", "332"])
        // Told once: a later start has nobody left to tell.
        let third = Self.host(store)
        await third.recoverOccupants()
        #expect(await third.linkReady().isEmpty)
    }

    @Test("an orderly stop tells everyone and leaves nobody for the next start")
    func orderlyStop() async throws {
        let store = InMemoryRoomStore()
        let first = Self.host(store)
        _ = try await ServiceLimitsTests.join(first, "alice@localhost/a", room: "r", nick: "Alice")
        #expect(await first.farewell().stanzas.count == 1)
        let second = Self.host(store)
        await second.recoverOccupants()
        #expect(await second.linkReady().isEmpty)
    }

    @Test("a lost link: every session is pinged from its room, and one that is gone leaves")
    func lostLink() async throws {
        let store = InMemoryRoomStore()
        let host = Self.host(store)
        #expect(await host.linkReady().isEmpty)
        _ = try await ServiceLimitsTests.join(host, "alice@localhost/a", room: "r", nick: "Alice")
        try await ServiceLimitsTests.configure(host, "alice@localhost/a", room: "r")
        _ = try await ServiceLimitsTests.join(host, "bob@localhost/b", room: "r", nick: "Bob")
        let pings = await host.linkReady().stanzas
        #expect(Set(pings.compactMap { $0[attribute: "to"] }) == ["alice@localhost/a", "bob@localhost/b"])
        #expect(pings.allSatisfy { $0[attribute: "from"] == "r@rooms.localhost" && $0.child("ping", namespace: Namespace.ping) != nil })
        let bobs = try #require(pings.first { $0[attribute: "to"] == "bob@localhost/b" })
        let id = try #require(bobs[attribute: "id"])
        // The server answers for a session that is gone.
        let left = await host.handle(try DurabilityTests.stanza("""
            <iq from='bob@localhost/b' to='r@rooms.localhost' type='error' id='\(id)'>\
            <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
            """)).stanzas
        #expect(left.contains { $0[attribute: "to"] == "alice@localhost/a" && $0[attribute: "type"] == "unavailable" })
        #expect(await host.occupantCount(try JID("r@rooms.localhost")) == 1)
    }
}
