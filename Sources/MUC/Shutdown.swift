import XMLStream
import XMPPCore

/// XEP-0045 status 332: the service is going down. Each session in the room is
/// told that its own occupant left, so that no client keeps believing it is in
/// the room; the others leave at the same moment, so one presence each suffices.
extension Room {
    public func shutdownPresences(context: RoomContext) -> [XMLElement] {
        let details = PresenceDetails(type: "unavailable", statuses: [.removedShutdown], payload: [])
        return occupants.flatMap { occupant in
            occupant.sessions.map { session in
                occupantPresence(
                    of: occupant, to: session, recipientRole: occupant.role, details: details,
                    occupantID: context.occupantID(self, occupant.bareJID))
            }
        }
    }
}

extension Room {
    /// After a crash the room no longer knows its occupants, but the store remembers which
    /// sessions were in it: each is told, as at an orderly stop, that it is out of the room.
    public static func leftBehindPresence(room: JID, nick: String, to session: JID) -> XMLElement? {
        guard let from = try? JID(localpart: room.localpart, domainpart: room.domainpart, resourcepart: nick) else { return nil }
        let x = XMLElement(
            "x", namespace: MUCNamespace.user,
            children: [
                .element(XMLElement("item", namespace: MUCNamespace.user, attributes: ["affiliation": "none", "role": "none"])),
                .element(XMLElement("status", namespace: MUCNamespace.user, attributes: ["code": String(StatusCode.selfPresence.rawValue)])),
                .element(XMLElement("status", namespace: MUCNamespace.user, attributes: ["code": String(StatusCode.removedShutdown.rawValue)])),
            ])
        return XMLElement(
            "presence", namespace: Namespace.client,
            attributes: ["from": from.description, "to": session.description, "type": "unavailable"],
            children: [.element(x)])
    }
}
