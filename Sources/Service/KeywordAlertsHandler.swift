import Alerts
import XMLStream
import XMPPCore

/// Keyword alerts (XEP-0060 at the service JID) as one of the service's protocols.
struct KeywordAlertsHandler: ServiceIQHandler {
    let namespace = PubSubNamespace.pubsub
    let types: Set<IQ.Kind> = [.get, .set]
    let discoFeatures = PubSubNamespace.features
    let alerts: KeywordAlertsProtocol

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        try await alerts.handle(iq)
    }
}
