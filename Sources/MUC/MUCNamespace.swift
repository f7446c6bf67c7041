/// XEP-0045's namespaces and form types, and those of its satellites, each named once.
public enum MUCNamespace {
    public static let muc = "http://jabber.org/protocol/muc"
    public static let user = "http://jabber.org/protocol/muc#user"
    public static let admin = "http://jabber.org/protocol/muc#admin"
    public static let owner = "http://jabber.org/protocol/muc#owner"
    /// FORM_TYPE of the room configuration form (XEP-0045 §15.5.3).
    public static let roomConfig = "http://jabber.org/protocol/muc#roomconfig"
    /// FORM_TYPE of the room information extension (XEP-0045 §15.5.4).
    public static let roomInfo = "http://jabber.org/protocol/muc#roominfo"
    /// FORM_TYPE of voice requests (XEP-0045 §8.6).
    public static let request = "http://jabber.org/protocol/muc#request"
    /// FORM_TYPE of the registration form (XEP-0045 §7.10).
    public static let register = "http://jabber.org/protocol/muc#register"
    public static let inBandRegister = "jabber:iq:register"
    public static let occupantID = "urn:xmpp:occupant-id:0"   // XEP-0421
    public static let selfPing = "urn:xmpp:ping"               // XEP-0410 uses XEP-0199's ping
    public static let stableID = "http://jabber.org/protocol/muc#stable_id"  // XEP-0045 §17.4
    public static let selfPingOptimization = "http://jabber.org/protocol/muc#self-ping-optimization"
}

extension MUCNamespace {
    // XEP-0425 message moderation and XEP-0424 retraction, in the version the
    // XEP's text stores (:0, wrapped in XEP-0422 apply-to) and the newer :1.
    public static let moderate0 = "urn:xmpp:message-moderate:0"
    public static let retract0 = "urn:xmpp:message-retract:0"
    public static let fasten = "urn:xmpp:fasten:0"
    public static let moderate1 = "urn:xmpp:message-moderate:1"
    public static let retract1 = "urn:xmpp:message-retract:1"
}
