import Foundation
import Logging
import XMLStream
import XMPPCore

/// Notices a second Parley attached under the same domain. ejabberd accepts
/// two components for one domain and splits the traffic between them at
/// random, which looks like lost messages and vanishing occupants. Parley
/// sends itself a ping now and then with an id only it knows: a ping or an
/// answer with such an id that it did not send came from a twin.
public actor TwinDetector {
    static let idPrefix = "parley-link-check-"
    private static let remembered = 64

    private let domain: JID
    private let logger: Logger
    private var sent: [String] = []
    /// When a twin was last seen; nil while none has been.
    public private(set) var twinSeen: Date?

    public init(domain: JID, logger: Logger) {
        self.domain = domain
        self.logger = logger
    }

    /// A ping to ourselves, to send now.
    func probe() -> XMLElement {
        let id = Self.idPrefix + UUID().uuidString
        sent.append(id)
        if sent.count > Self.remembered { sent.removeFirst(sent.count - Self.remembered) }
        var ping = XMLElement.stanza("iq", from: domain, to: domain, id: id, type: IQ.Kind.get.rawValue)
        ping.append(XMLElement("ping", namespace: Namespace.ping))
        return ping
    }

    /// Looks at an IQ to the service; true when it was one of the link checks
    /// (a result, which needs no answer).
    func observe(_ iq: IQ) -> Bool {
        guard iq.id.hasPrefix(Self.idPrefix), iq.from == domain else { return false }
        let ours = sent.contains(iq.id)
        if !ours {
            if twinSeen == nil || twinSeen.map({ Date().timeIntervalSince($0) > 600 }) == true {
                logger.error("""
                    another Parley instance is attached to the server under \(domain) (it sent \(iq.id)): \
                    the server splits the traffic between them at random; stop one of them
                    """)
            }
            twinSeen = Date()
        } else if !iq.isRequest {
            sent.removeAll { $0 == iq.id }
        }
        return !iq.isRequest
    }
}
