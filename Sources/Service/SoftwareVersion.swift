import XMLStream
import XMPPCore

/// The version of this build, reported by XEP-0092 and `parley --version`.
public enum ParleyVersion {
    public static let current = "0.1.0"
}

/// XEP-0092: name and version of the software. The operating system is not
/// disclosed (XEP-0092 §2 makes it optional, and it only helps attackers).
struct SoftwareVersion: ServiceIQHandler {
    let namespace = Namespace.version
    let types: Set<IQ.Kind> = [.get]
    let discoFeatures = [Namespace.version]

    func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        XMLElement(
            "query", namespace: Namespace.version,
            children: [
                .element(XMLElement("name", namespace: Namespace.version, text: "Parley")),
                .element(XMLElement("version", namespace: Namespace.version, text: ParleyVersion.current)),
            ])
    }
}
