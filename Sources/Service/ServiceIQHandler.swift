import XMLStream
import XMPPCore

/// One protocol the service JID answers: it owns an IQ payload namespace and
/// the disco features that advertise it.
public protocol ServiceIQHandler: Sendable {
    /// The payload namespace of the IQs this handler answers.
    var namespace: String { get }
    /// The IQ types it answers; any other type is `service-unavailable`.
    var types: Set<IQ.Kind> { get }
    /// What it adds to the service's disco#info.
    var discoFeatures: [String] { get }
    /// The payload of the `result`, or nil for an empty result.
    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement?

    /// Everything sent in answer, in order; by default the result of `handle`
    /// or its error. Protocols that answer with several stanzas (XEP-0430's
    /// entries before the result) say so here.
    func responses(to iq: IQ) async -> [XMLElement]
}

extension ServiceIQHandler {
    func responses(to iq: IQ) async -> [XMLElement] {
        do {
            return [iq.result(try await handle(iq))]
        } catch {
            return [iq.error(error)]
        }
    }
}
