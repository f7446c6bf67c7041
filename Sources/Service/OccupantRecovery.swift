import MUC
import Storage
import XMLStream
import XMPPCore

/// Occupants live in memory; which session is in which room is also written
/// with every commit, so that no client keeps believing it is in a room after
/// Parley crashed or lost its link (Docs/operations.md, "After a crash").
extension RoomHost {
    /// The entries and exits one stanza made. Only presence changes the sender's own
    /// occupancy; IQs (kicks, bans, destroy) and bounced errors may change anyone's,
    /// and are rare enough to compare whole rooms.
    func occupancyChanges(_ stanza: Stanza, before: Room?, after: Room) -> [OccupancyChange] {
        let room = after.jid
        switch stanza {
        case .presence(let presence):
            let was = before?.occupant(session: presence.from)?.nick
            let now = after.occupant(session: presence.from)?.nick
            guard was != now else { return [] }
            return [now.map { .entered(room: room, session: presence.from, nick: $0) } ?? .left(room: room, session: presence.from)]
        case .message(let message) where message.type != .error:
            return []
        case .message, .iq:
            func sessions(_ state: Room?) -> [JID: String] {
                var all: [JID: String] = [:]
                for occupant in state?.occupants ?? [] {
                    for session in occupant.sessions { all[session] = occupant.nick }
                }
                return all
            }
            let old = sessions(before), new = sessions(after)
            guard old != new else { return [] }
            return old.keys.filter { new[$0] == nil }.sorted().map { .left(room: room, session: $0) }
                + new.filter { old[$0.key] != $0.value }.sorted { $0.key < $1.key }
                    .map { .entered(room: room, session: $0.key, nick: $0.value) }
        }
    }

    /// What the rooms say when the component link comes up. The first time after a
    /// start: each session the rooms held when the last process ended without an orderly
    /// stop is told it is out of its room (status 332, as at an orderly stop). After a
    /// lost link: every occupant's session is pinged from its room (XEP-0410's check,
    /// made by the room), so a client that went away meanwhile comes back as an error
    /// and leaves like any ghost; a client that answers stays.
    public func linkReady() async -> [Outbound] {
        attachments += 1
        if attachments == 1 {
            let presences = leftBehind.compactMap { Room.leftBehindPresence(room: $0.room, nick: $0.nick, to: $0.session) }
            if !leftBehind.isEmpty {
                logger.notice("\(leftBehind.count) sessions that were in rooms when Parley last stopped without telling them are told they are out (332)")
            }
            leftBehind = []
            return presences.map(Outbound.stanza)
        }
        var pings: [Outbound] = []
        for room in rooms.values {
            for session in room.occupants.flatMap(\.sessions) {
                pings.append(.stanza(XMLElement(
                    "iq", namespace: Namespace.client,
                    attributes: ["type": "get", "from": room.jid.description, "to": session.description,
                                 "id": "parley-verify-" + Self.token(bytes: 6)],
                    children: [.element(XMLElement("ping", namespace: Namespace.ping))])))
            }
        }
        if !pings.isEmpty { logger.notice("link back: checking \(pings.count) occupant sessions with a ping") }
        return pings
    }

    /// Takes the sessions the store remembers from the last process (before any new one enters).
    public func recoverOccupants() async {
        do {
            leftBehind = try await store.takeRememberedOccupants()
        } catch {
            logger.error("cannot read the occupants of the last run: \(error)")
        }
    }
}
