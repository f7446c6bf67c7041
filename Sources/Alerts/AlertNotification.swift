import MUC
import XMLStream
import XMPPCore

/// The alert a subscriber receives for one message (Docs/protocol.md):
/// `<alert xmlns='urn:parley:alerts:0' room keyword>` listing every matched
/// keyword, around the archived message forwarded with its delay.
public enum AlertNotification {
    public static func alert(for message: ArchivedMessage, keywords: [String]) -> XMLElement {
        var alert = XMLElement(
            "alert", namespace: PubSubNamespace.alerts,
            attributes: ["room": message.room.description, "keyword": keywords.first])
        for keyword in keywords {
            alert.append(XMLElement("keyword", namespace: PubSubNamespace.alerts, text: keyword))
        }
        var forwarded = XMLElement("forwarded", namespace: Namespace.forward)
        forwarded.append(XMLElement(
            "delay", namespace: Namespace.delay,
            attributes: ["from": message.room.description, "stamp": DateTime.format(message.timestamp)]))
        var stanza = message.stanza
        stanza[attribute: "to"] = nil
        forwarded.append(stanza)
        alert.append(forwarded)
        return alert
    }

    /// The live pubsub event (XEP-0060 §7.1.2): one item, id = the message's stanza-id,
    /// under the node of the first matched keyword. Without `subscriber`, the event
    /// has no `to`: everyone alerted with the same keywords gets the same event.
    public static func event(
        for message: ArchivedMessage, subscriptions: [KeywordSubscription], from service: JID, to subscriber: JID? = nil
    ) -> XMLElement {
        let keywords = subscriptions.map(\.keyword)
        var item = XMLElement("item", namespace: PubSubNamespace.event, attributes: ["id": message.stanzaID])
        item.append(alert(for: message, keywords: keywords))
        var items = XMLElement(
            "items", namespace: PubSubNamespace.event, attributes: ["node": subscriptions.first?.node])
        items.append(item)
        var event = XMLElement("event", namespace: PubSubNamespace.event)
        event.append(items)
        var stanza = XMLElement(
            "message", namespace: Namespace.client,
            attributes: ["from": service.description, "to": subscriber?.description, "type": "headline"])
        stanza.append(event)
        return stanza
    }
}
