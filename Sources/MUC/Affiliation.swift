/// A long-lived relation between a user (bare JID) and a room (XEP-0045 §5.2).
public enum Affiliation: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case owner, admin, member, none, outcast

    /// Higher means more privileged; outcasts are below everyone.
    public var rank: Int {
        switch self {
        case .owner: 4
        case .admin: 3
        case .member: 2
        case .none: 1
        case .outcast: 0
        }
    }

    public static func < (lhs: Affiliation, rhs: Affiliation) -> Bool { lhs.rank < rhs.rank }

    /// XEP-0045 §5.1.2: the role a user with this affiliation gets on entering.
    public func defaultRole(moderated: Bool) -> Role {
        switch self {
        case .owner, .admin: .moderator
        case .member: .participant
        case .none: moderated ? .visitor : .participant
        case .outcast: .none
        }
    }
}

/// A temporary position of an occupant in a room (XEP-0045 §5.1).
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case moderator, participant, visitor, none

    public var rank: Int {
        switch self {
        case .moderator: 3
        case .participant: 2
        case .visitor: 1
        case .none: 0
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role may speak in a moderated room.
    public var hasVoice: Bool { self >= .participant }
}
