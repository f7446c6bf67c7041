import XMLStream
import XMPPCore

/// XEP-0199: the service answers pings so that clients and servers can check the link.
struct Ping: ServiceIQHandler {
    let namespace = Namespace.ping
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [Namespace.ping]

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        nil
    }
}
