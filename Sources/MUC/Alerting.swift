import XMPPCore

/// Who a room lets keyword alerts reach (DESIGN.md §3): only users who may
/// read the room now — who could join it — and, for rooms that are not in
/// the directory, only those already in it or affiliated with it, so that an
/// alert never reveals a hidden room to a stranger.
extension Room {
    public func mayReceiveAlerts(_ user: JID, context: RoomContext) -> Bool {
        guard configuration.isArchived, mayReadArchive(user, context: context) else { return false }
        if configuration.isPublic { return true }
        return effectiveAffiliation(of: user.bare, context: context) >= .member
            || occupants.contains { $0.bareJID == user.bare }
    }
}
