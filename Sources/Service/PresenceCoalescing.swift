import XMLStream
import XMPPCore

/// One read's presences that differ only in their `to` become one fan-out, so that the
/// server's multicast service copies them. A join wave is where this counts: when several
/// occupants enter in one read, each existing occupant's presence goes to every joiner,
/// and without this each copy is a stanza the server has to parse off the link.
///
/// A copy joins an earlier identical presence only when its recipient gets nothing in
/// between, so every recipient sees exactly the stanzas, in exactly the order, it would
/// have seen one by one. Occupants who see real JIDs get different presences (the
/// `jid` of the item), so they are grouped apart by construction.
///
/// The relay uses it only for a multicast service that keeps order with direct stanzas
/// (`MulticastRelay.keepsOrder`): a joiner's self-presence goes straight to it and must not
/// overtake the other presences.
enum PresenceCoalescing {
    static func coalesce(_ outbound: [Outbound]) -> [Outbound] {
        // Cheap check first: fan-outs of messages carry no unicast presences.
        var unicastPresences = 0
        for item in outbound {
            if case .stanza(let stanza) = item, stanza.name == "presence" { unicastPresences += 1 }
        }
        guard unicastPresences >= 2 else { return outbound }

        var result: [Outbound] = []
        result.reserveCapacity(outbound.count)
        // Each group's presence without `to`, at its position in `result`, with its recipients.
        var groups: [XMLElement: Int] = [:]
        var recipients: [Int: [JID]] = [:]
        // Where each address last got something.
        var last: [String: Int] = [:]
        for item in outbound {
            switch item {
            case .fanOut(let stanza, let to):
                result.append(item)
                let index = result.count - 1
                for recipient in to { last[recipient.description] = index }
                if stanza.name == "presence" {
                    groups[stanza] = index
                    recipients[index] = to
                }
            case .stanza(let stanza):
                guard let address = stanza[attribute: "to"] else {
                    result.append(item)
                    continue
                }
                guard stanza.name == "presence", let recipient = try? JID(address) else {
                    result.append(item)
                    last[address] = result.count - 1
                    continue
                }
                var key = stanza
                key[attribute: "to"] = nil
                if let group = groups[key], (last[address] ?? -1) < group {
                    recipients[group, default: []].append(recipient)
                    last[address] = group
                    continue
                }
                result.append(item)
                let index = result.count - 1
                groups[key] = index
                recipients[index] = [recipient]
                last[address] = index
            }
        }
        // Only the groups that took copies change.
        for (index, to) in recipients where to.count > 1 {
            switch result[index] {
            case .stanza(var stanza):
                stanza[attribute: "to"] = nil
                result[index] = .fanOut(stanza, recipients: to)
            case .fanOut(let stanza, let original) where original.count < to.count:
                result[index] = .fanOut(stanza, recipients: to)
            case .fanOut:
                continue
            }
        }
        return result
    }
}
