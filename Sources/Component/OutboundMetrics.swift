import ParleyMetrics
import XMLStream
import XMPPCore

extension ServiceMetrics {
    /// Counts what one write sends: stanzas by kind (a fan-out once per
    /// recipient) and errors by their defined condition.
    func count(_ outbound: [Outbound]) {
        for item in outbound {
            let (stanza, copies) = switch item {
            case .stanza(let stanza): (stanza, 1)
            case .fanOut(let stanza, let recipients): (stanza, recipients.count)
            }
            sent(kind: stanza.name, count: copies)
            if stanza[attribute: "type"] == "error" {
                let condition = stanza.elements.first { $0.name == "error" }?.firstChild(inNamespace: Namespace.stanzaErrors)?.name
                errorSent(condition: condition ?? "other", count: copies)
            }
        }
    }
}
