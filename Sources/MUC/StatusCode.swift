/// The status codes of XEP-0045 §15.6.2 that Parley sends, named once.
public enum StatusCode: Int, Sendable, Hashable, Comparable {
    /// The room is non-anonymous: real JIDs are visible to everyone.
    case nonAnonymous = 100
    /// An affiliation changed while the user was not in the room.
    case affiliationChanged = 101
    /// Room shows unavailable members (not used) / configuration change that is not privacy-related.
    case configurationChanged = 104
    /// This presence refers to the recipient itself.
    case selfPresence = 110
    /// The room is now logged (archived).
    case loggingEnabled = 170
    case loggingDisabled = 171
    case nowNonAnonymous = 172
    case nowSemiAnonymous = 173
    /// A new room was created.
    case roomCreated = 201
    /// The service changed the user's nick.
    case nickModified = 210
    /// The user was banned.
    case banned = 301
    /// The user changed nick.
    case nickChanged = 303
    /// The user was kicked.
    case kicked = 307
    /// Removed because of an affiliation change.
    case removedAffiliationChange = 321
    /// Removed because the room became members-only.
    case removedMembersOnly = 322
    /// Removed because the service is shutting down.
    case removedShutdown = 332
    /// Removed because of an error reply from the user's client (XEP-0045 §15.6.2, v1.31+).
    case removedError = 333

    public static func < (lhs: StatusCode, rhs: StatusCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
