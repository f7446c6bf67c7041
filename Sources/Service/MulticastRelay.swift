import Foundation
import Logging
import XMLStream
import XMPPCore

/// XEP-0033 for fan-outs: a room event for K occupants leaves Parley as one
/// stanza with K `bcc` addresses, sent to the server's multicast service, which
/// makes the copies (Prosody with Config/prosody/mod_parley_multicast.lua,
/// ejabberd with mod_multicast; Docs/attaching.md). The service is found as
/// XEP-0033 §3 says, again each time the link comes up; until then, and on
/// servers without one, each copy is its own stanza. A refusal costs nothing:
/// the refused copies are sent one by one, and the service is given up
/// (`forbidden` and the like) or sent fewer addresses (`not-acceptable`).
public actor MulticastRelay {
    public static let namespace = "http://jabber.org/protocol/address"
    static let idPrefix = "parley-multicast-disco-"
    /// Addresses in one stanza stay under this many bytes, well inside any server's stanza limit.
    static let maximumAddressBytes = 48 * 1024
    /// How long a sent multicast is remembered, in case the service refuses it.
    static let remembered: TimeInterval = 30

    private let domain: JID
    private let configuration: MulticastConfiguration
    private let logger: Logger
    /// The service in use; nil: one stanza per recipient.
    public private(set) var service: JID?

    /// Whether the service's copies leave in line with what Parley sends straight to the
    /// same user. A service on the server's own domain (Prosody with mod_parley_multicast)
    /// copies as it reads, so they do; one on a domain of its own (ejabberd's mod_multicast,
    /// another process) may deliver its copies after a stanza Parley sent straight later, so
    /// presences that must come before a joiner's self-presence are not sent through it.
    var keepsOrder: Bool {
        guard let service else { return false }
        return service.description == configuration.server
    }
    private var chunk: Int
    /// Discovery requests in flight, by id: the JID asked.
    private var asked: [String: JID] = [:]

    private struct Sent {
        var stanza: XMLElement
        var chunks: [[JID]]
        var time: TimeInterval
    }
    private var sent: [String: Sent] = [:]
    private var sentOrder: [(key: String, time: TimeInterval)] = []

    public init(domain: JID, configuration: MulticastConfiguration, logger: Logger) {
        self.domain = domain
        self.configuration = configuration
        self.logger = logger
        self.chunk = configuration.maxAddresses
    }

    /// The link came up: find the service again (the server may have been reconfigured).
    public func linkReady() -> [XMLElement] {
        service = nil
        asked = [:]
        sent = [:]
        sentOrder = []
        switch configuration.mode {
        case .off:
            return []
        case .service(let jid):
            use(jid, how: "as configured")
            return []
        case .auto:
            guard let server = try? JID(configuration.server) else { return [] }
            return [ask(server, Namespace.discoInfo)]
        }
    }

    private func ask(_ jid: JID, _ namespace: String) -> XMLElement {
        let id = Self.idPrefix + UUID().uuidString
        asked[id] = jid
        var iq = XMLElement.stanza("iq", from: domain, to: jid, id: id, type: IQ.Kind.get.rawValue)
        iq.append(XMLElement("query", namespace: namespace))
        return iq
    }

    private func use(_ jid: JID, how: String) {
        service = jid
        chunk = configuration.maxAddresses
        logger.notice("fan-outs go through the XEP-0033 multicast service \(jid) (\(how))")
    }

    /// Whether a stanza from the server may be for the relay: cheap, and called for every stanza.
    public nonisolated static func mayConcern(_ element: XMLElement) -> Bool {
        guard element[attribute: "type"] == "result" || element[attribute: "type"] == "error" else { return false }
        if element[attribute: "id"]?.hasPrefix(idPrefix) == true { return true }
        // A refusal comes from the service, a bare domain; occupants' bounces come from users.
        return element[attribute: "type"] == "error" && element[attribute: "from"].map { !$0.contains("@") } == true
    }

    /// Handles discovery answers and the service's refusals; nil when the stanza is not the relay's.
    public func observe(_ element: XMLElement) -> [Outbound]? {
        if let id = element[attribute: "id"], let jid = asked.removeValue(forKey: id) {
            return discovered(element, from: jid).map(Outbound.stanza)
        }
        guard element[attribute: "type"] == "error", let service,
              element[attribute: "from"] == service.description else { return nil }
        return refused(element)
    }

    /// Takes one discovery answer; returns the next questions, if any.
    private func discovered(_ answer: XMLElement, from jid: JID) -> [XMLElement] {
        let query = answer.elements.first { $0.name == "query" }
        switch query?.namespace {
        case Namespace.discoInfo?:
            let features = query?.children("feature", namespace: Namespace.discoInfo).compactMap { $0[attribute: "var"] } ?? []
            if features.contains(Self.namespace) {
                if service == nil { use(jid, how: "discovered") }
                asked = [:]
                return []
            } else if jid.description == configuration.server {
                // §3: not the server itself; perhaps one of its items (ejabberd's multicast.example.org).
                return [ask(jid, Namespace.discoItems)]
            }
            noneFound()
            return []
        case Namespace.discoItems?:
            let items = query?.children("item", namespace: Namespace.discoItems)
                .compactMap { $0[attribute: "jid"].flatMap { try? JID($0) } }
                .filter { $0.localpart == nil && $0.resourcepart == nil && $0 != domain } ?? []
            let questions = items.prefix(32).map { ask($0, Namespace.discoInfo) }
            noneFound()
            return questions
        default:
            // An error: the server or an item does not answer disco.
            noneFound()
            return []
        }
    }

    private func noneFound() {
        // Every question asked is in `asked` until answered: none left means none found.
        guard service == nil, asked.isEmpty else { return }
        logger.notice("""
            the server \(configuration.server) offers no XEP-0033 multicast: one stanza per recipient \
            (Docs/attaching.md shows how to give Prosody or ejabberd one)
            """)
    }

    // MARK: - Sending

    /// Turns each fan-out into one stanza per chunk of recipients for the service.
    public func expand(_ outbound: [Outbound], maxStanzaBytes: Int) -> [Outbound] {
        guard let service else { return outbound }
        let outbound = keepsOrder ? PresenceCoalescing.coalesce(outbound) : outbound
        // Room for the addresses beside the stanza, inside what the server takes.
        let largest = maxStanzaBytes - Self.maximumAddressBytes - 1024
        let now = Date().timeIntervalSince1970
        forget(before: now - Self.remembered)
        var result: [Outbound] = []
        result.reserveCapacity(outbound.count)
        for item in outbound {
            guard case .fanOut(var stanza, let recipients) = item, recipients.count >= 2,
                  let from = stanza[attribute: "from"], largest > 0,
                  stanza.approximateSize(upTo: largest) <= largest else {
                result.append(item)
                continue
            }
            if stanza[attribute: "id"] == nil { stanza[attribute: "id"] = "parley-" + RoomHost.token(bytes: 9) }
            let key = from + " " + (stanza[attribute: "id"] ?? "")
            // Two fan-outs with one id in flight could not be told apart in a refusal.
            guard sent[key] == nil else {
                result.append(item)
                continue
            }
            let chunks = split(recipients)
            sent[key] = Sent(stanza: stanza, chunks: chunks, time: now)
            sentOrder.append((key, now))
            for chunk in chunks {
                var copy = stanza
                copy.attributes.insert(XMLAttribute(name: "to", value: service.description), at: 0)
                copy.append(XMLElement(
                    "addresses", namespace: Self.namespace,
                    children: chunk.map {
                        .element(XMLElement("address", namespace: Self.namespace, attributes: ["type": "bcc", "jid": $0.description]))
                    }))
                result.append(.stanza(copy))
            }
        }
        return result
    }

    private func split(_ recipients: [JID]) -> [[JID]] {
        var chunks: [[JID]] = []
        var current: [JID] = []
        var bytes = 0
        for recipient in recipients {
            let size = recipient.description.utf8.count + 32
            if !current.isEmpty && (current.count >= chunk || bytes + size > Self.maximumAddressBytes) {
                chunks.append(current)
                current = []
                bytes = 0
            }
            current.append(recipient)
            bytes += size
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    private func forget(before cutoff: TimeInterval) {
        var drop = 0
        while drop < sentOrder.count && (sentOrder[drop].time < cutoff || sentOrder.count - drop > 10_000) {
            sent[sentOrder[drop].key] = nil
            drop += 1
        }
        if drop > 0 { sentOrder.removeFirst(drop) }
    }

    /// The service bounced a multicast: its copies go out one by one, and the service is
    /// sent fewer addresses (`not-acceptable`, its limit) or none at all (anything else).
    private func refused(_ error: XMLElement) -> [Outbound] {
        let condition = StanzaError(errorStanza: error)?.condition ?? .undefinedCondition
        let key = (error[attribute: "to"] ?? "") + " " + (error[attribute: "id"] ?? "")
        guard var entry = sent[key], !entry.chunks.isEmpty else {
            logger.warning("the multicast service \(error[attribute: "from"] ?? "?") refused a stanza no longer remembered (\(condition))")
            return []
        }
        // Which chunk: the addresses the error echoes (ejabberd does), else the largest left
        // (a smaller last chunk is the one that may have passed a size limit).
        let echoed = Set(error.elements.first { $0.name == "addresses" && $0.namespace == Self.namespace }?
            .children("address", namespace: Self.namespace).compactMap { $0[attribute: "jid"].flatMap { try? JID($0) } } ?? [])
        let index = entry.chunks.firstIndex { !echoed.isEmpty && Set($0) == echoed }
            ?? entry.chunks.indices.max { entry.chunks[$0].count < entry.chunks[$1].count } ?? 0
        let recipients = entry.chunks.remove(at: index)
        sent[key] = entry.chunks.isEmpty ? nil : entry
        if condition == .notAcceptable && recipients.count > 2 {
            chunk = max(2, min(chunk, recipients.count / 2))
            logger.notice("the multicast service took no \(recipients.count) addresses at once: sending at most \(chunk)")
        } else if service != nil {
            logger.warning("""
                the multicast service \(service?.description ?? "") refused a stanza (\(condition)): one stanza per \
                recipient from now until the link comes up again (Docs/attaching.md shows its configuration)
                """)
            service = nil
        }
        return [.fanOut(entry.stanza, recipients: recipients)]
    }
}
