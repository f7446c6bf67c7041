/// XEP-0060's namespaces and Parley's alert namespace, each named once.
public enum PubSubNamespace {
    public static let pubsub = "http://jabber.org/protocol/pubsub"
    public static let event = "http://jabber.org/protocol/pubsub#event"
    public static let errors = "http://jabber.org/protocol/pubsub#errors"
    public static let subscribeOptions = "http://jabber.org/protocol/pubsub#subscribe_options"
    /// Parley's keyword alerts (Docs/protocol.md).
    public static let alerts = "urn:parley:alerts:0"
    /// The subscription option restricting alerts to some rooms.
    public static let roomsOption = "parley#rooms"
    public static let deliverOption = "pubsub#deliver"

    /// The disco features of the keyword alert service (XEP-0060 §10).
    public static let features = [
        pubsub, "\(pubsub)#subscribe", "\(pubsub)#retrieve-items", "\(pubsub)#retrieve-subscriptions",
        "\(pubsub)#subscription-options", "\(pubsub)#auto-create", alerts,
    ]
}
