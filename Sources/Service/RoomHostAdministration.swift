import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

/// What the service admins' commands (`AdminCommands`) do to the rooms.
extension RoomHost {
    /// A room in memory now, as the admin commands list it.
    public struct Occupancy: Sendable, Hashable {
        public var jid: JID
        public var name: String
        public var occupants: Int
        public var isPersistent: Bool
    }

    /// Every room in memory (those with occupants).
    public func occupancy() -> [Occupancy] {
        rooms.values.map {
            Occupancy(jid: $0.jid, name: $0.configuration.name, occupants: $0.occupants.count,
                      isPersistent: $0.configuration.isPersistent)
        }
    }

    /// Destroys a room for a service admin exactly as its owner would (XEP-0045 §10.9:
    /// occupants leave with the reason and alternate venue, followers are told, the archive
    /// ends): the admin's request goes through the room itself, as owner of every room.
    public func destroy(
        _ room: JID, by admin: JID, reason: String?, alternate: JID?
    ) async -> Result<[Outbound], StanzaError> {
        let id = "parley-admin-" + Self.token(bytes: 9)
        var destroy = XMLElement(
            "destroy", namespace: MUCNamespace.owner, attributes: ["jid": alternate?.description])
        if let reason, !reason.isEmpty { destroy.append(XMLElement("reason", namespace: MUCNamespace.owner, text: reason)) }
        let request = XMLElement(
            "iq", namespace: Namespace.client,
            attributes: ["type": "set", "id": id, "from": admin.description, "to": room.bare.description],
            children: [.element(XMLElement("query", namespace: MUCNamespace.owner, children: [.element(destroy)]))])
        let stanza: Stanza
        do {
            stanza = try Stanza(parsing: request)
        } catch {
            return .failure(StanzaError(.jidMalformed, text: "not a room address: \(room)"))
        }
        let processed = await process(stanza)
        _ = await commit()
        // The room's answer to the request is for the command, not for the admin's client.
        var outbound: [Outbound] = []
        for item in processed.outbound {
            if case .stanza(let answer) = item, answer.name == "iq", answer[attribute: "id"] == id {
                if answer[attribute: "type"] == "error" {
                    return .failure(StanzaError(errorStanza: answer) ?? StanzaError(.internalServerError))
                }
                continue
            }
            outbound.append(item)
        }
        return .success(outbound)
    }

    /// Takes a room's web logs off the web for good (`hidden`), or lets its owners publish
    /// them again; saved before it answers. Returns whether the room was on the web.
    public func hideWebLogs(_ room: JID, hidden: Bool) async -> Result<Bool, StanzaError> {
        let jid = room.bare
        var current: Room
        if let loaded = rooms[jid] {
            current = loaded
        } else {
            do {
                guard let record = try await loadRoom(jid) else { return .failure(StanzaError(.itemNotFound, text: "no room \(jid)")) }
                current = record.room
                createdAt[jid] = record.created
            } catch {
                return .failure(StanzaError(.internalServerError, text: "the room cannot be loaded"))
            }
        }
        let wasPublished = current.configuration.publishesWebLogs
        current.configuration.webLogsHidden = hidden ? true : nil
        if hidden { current.configuration.webLogs = false }
        if current.configuration.isPersistent {
            do {
                try await store.saveRoom(RoomRecord(room: current, created: createdAt[jid] ?? Date().timeIntervalSince1970))
            } catch {
                logger.error("cannot save room \(jid): \(error)")
                return .failure(StanzaError(.internalServerError, text: "the change could not be saved"))
            }
        }
        if rooms[jid] != nil { rooms[jid] = current }
        return .success(wasPublished)
    }

    /// Who an announcement reaches.
    public enum Audience: String, Sendable {
        /// A message from each room to its occupants, shown in the room.
        case rooms
        /// One headline message from the service to each user in any room.
        case users
    }

    /// XEP-0133 §4.23 for a MUC service: an announcement to everyone who has a session with
    /// it now. Returns how many rooms (or users) it reached, and the stanzas.
    public func announce(_ text: String, to audience: Audience, from service: JID) -> (reached: Int, outbound: [Outbound]) {
        let body = XMLElement("body", namespace: Namespace.client, text: text)
        switch audience {
        case .rooms:
            var outbound: [Outbound] = []
            for room in rooms.values where !room.occupants.isEmpty {
                let message = XMLElement(
                    "message", namespace: Namespace.client,
                    attributes: ["type": "groupchat", "from": room.jid.description, "id": Self.token(bytes: 9)],
                    children: [.element(body)])
                outbound.append(.fanOut(message, recipients: room.occupants.flatMap(\.sessions)))
            }
            return (outbound.count, outbound)
        case .users:
            let users = Set(rooms.values.flatMap { $0.occupants.map(\.bareJID) })
            guard !users.isEmpty else { return (0, []) }
            let message = XMLElement(
                "message", namespace: Namespace.client,
                attributes: ["type": "headline", "from": service.description, "id": Self.token(bytes: 9)],
                children: [.element(body)])
            return (users.count, [.fanOut(message, recipients: users.sorted())])
        }
    }
}
