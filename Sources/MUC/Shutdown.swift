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
