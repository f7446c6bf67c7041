/// The XML namespaces Parley speaks, each named once.
public enum Namespace {
    // RFC 6120 / 6121 and XEP-0114
    public static let client = "jabber:client"
    public static let componentAccept = "jabber:component:accept"
    public static let streams = "http://etherx.jabber.org/streams"
    public static let streamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
    public static let stanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas"
    public static let xml = "http://www.w3.org/XML/1998/namespace"

    // Small shared XEPs
    public static let dataForms = "jabber:x:data"                          // XEP-0004
    public static let discoInfo = "http://jabber.org/protocol/disco#info"  // XEP-0030
    public static let discoItems = "http://jabber.org/protocol/disco#items"
    public static let commands = "http://jabber.org/protocol/commands"    // XEP-0050
    public static let rsm = "http://jabber.org/protocol/rsm"              // XEP-0059
    public static let version = "jabber:iq:version"                       // XEP-0092
    public static let ping = "urn:xmpp:ping"                              // XEP-0199
    public static let delay = "urn:xmpp:delay"                            // XEP-0203
    public static let forward = "urn:xmpp:forward:0"                      // XEP-0297
    public static let stanzaID = "urn:xmpp:sid:0"                         // XEP-0359
}

extension Namespace {
    public static let mam = "urn:xmpp:mam:2"                              // XEP-0313
    public static let mamExtended = "urn:xmpp:mam:2#extended"
    public static let fulltext = "urn:xmpp:fulltext:0"
}
