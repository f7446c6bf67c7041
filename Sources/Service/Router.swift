import Alerts
import Component
import Inbox
import ParleyMetrics
import Logging
import MUC
import Storage
import XMLStream
import XMPPCore

/// The first stop of every stanza from the server: parses it once, then hands
/// it on by the kind of address it is for — the service JID, a room JID or an
/// occupant JID. Every request that cannot be served gets its stanza error here.
public struct Router: ComponentStanzaHandler {
    /// What a `to` address names on this service.
    public enum Destination: Sendable, Hashable {
        case service
        case room(JID)
        case occupant(JID)
        /// An address on some other domain, or a resource on the bare domain.
        case elsewhere
    }

    public let domain: JID
    private let rooms: RoomHost
    private let iqHandlers: [String: any ServiceIQHandler]
    private let logger: Logger
    /// Checks that no other instance is attached under the same domain.
    public let twins: TwinDetector
    /// No stanza larger than this is written (`component.max_stanza_bytes`): the server would drop the link.
    private let maxStanzaBytes: Int
    private let metrics: ServiceMetrics
    /// The server's XEP-0033 service for fan-outs, when configured and found.
    public let multicast: MulticastRelay?

    public init(
        domain: JID, serviceName: String, rooms: RoomHost, alerts: KeywordAlertsProtocol? = nil,
        inbox: InboxProtocol? = nil, follows: (any InboxStore)? = nil, commands: AdminCommands? = nil,
        multicast: MulticastRelay? = nil, maxStanzaBytes: Int = 256 * 1024, metrics: ServiceMetrics = .none,
        logger: Logger
    ) {
        self.metrics = metrics
        self.multicast = multicast
        var features: [any ServiceIQHandler] = [
            Ping(), SoftwareVersion(), ServiceDiscoItems(rooms: rooms, alerts: alerts?.alerts, commands: commands),
        ]
        if let commands { features.append(commands) }
        if let alerts { features.append(KeywordAlertsHandler(alerts: alerts)) }
        if let inbox { features.append(InboxHandler(inbox: inbox)) }
        if let follows { features.append(FollowedRoomsHandler(store: follows)) }
        var disco = ServiceDiscoInfo(
            name: serviceName, features: [MUCNamespace.muc] + features.flatMap(\.discoFeatures), pubsub: alerts != nil)
        disco.commands = commands
        var handlers: [String: any ServiceIQHandler] = [:]
        for handler in features + [disco as any ServiceIQHandler] {
            precondition(handlers[handler.namespace] == nil, "two handlers for \(handler.namespace)")
            handlers[handler.namespace] = handler
        }
        self.domain = domain
        self.rooms = rooms
        self.iqHandlers = handlers
        self.logger = logger
        self.twins = TwinDetector(domain: domain, logger: logger)
        self.maxStanzaBytes = maxStanzaBytes
    }

    /// An orderly stop: what the rooms say to their occupants.
    public func farewell() async -> [Outbound] {
        await rooms.farewell()
    }

    /// The link came up: what the rooms have to say (see `RoomHost.linkReady`).
    public func linkReady() async -> [Outbound] {
        let discovery = await multicast?.linkReady() ?? []
        return discovery.map(Outbound.stanza) + (await rooms.linkReady())
    }

    /// The link check (see `TwinDetector`).
    public func tick() async -> [Outbound] {
        await rooms.commitOccupancyIfDue()
        return [.stanza(await twins.probe())]
    }

    public func destination(of jid: JID) -> Destination {
        guard jid.domainpart == domain.domainpart else { return .elsewhere }
        switch (jid.localpart, jid.resourcepart) {
        case (nil, nil): return .service
        case (.some, nil): return .room(jid)
        case (.some, .some): return .occupant(jid)
        case (nil, .some): return .elsewhere
        }
    }

    /// Routes the stanzas of one read, then commits the archive rows they made
    /// in one transaction, and only then lets their answers out. A stanza whose
    /// message could not be stored is answered with an error instead, and
    /// nobody hears of it.
    public func handle(_ batch: [ComponentInput]) async -> [Outbound] {
        var answers: [(stanza: XMLElement, outbound: [Outbound], ticket: Int?)] = []
        answers.reserveCapacity(batch.count)
        for input in batch {
            switch input {
            case .stanza(let element):
                let (outbound, ticket) = await route(element)
                answers.append((element, outbound, ticket))
            case .rejected(let element, let reason):
                answers.append((element, rejection(element, reason: reason), nil))
            }
        }
        let failed: Set<Int>
        if answers.contains(where: { $0.ticket != nil }) {
            failed = await rooms.commit()
        } else {
            failed = []
            await rooms.commitOccupancyIfDue()
        }
        let outbound = answers.flatMap { answer in
            if let ticket = answer.ticket, failed.contains(ticket) {
                return [Outbound.stanza(RoomHost.storageFailure.reply(to: answer.stanza))]
            }
            return bounded(answer.outbound, answering: answer.stanza)
        }
        guard let multicast else { return outbound }
        return await multicast.expand(outbound, maxStanzaBytes: maxStanzaBytes)
    }

    /// The last line of defence: a stanza over `maxStanzaBytes` would make the
    /// server drop the link (and the same request would drop it again), so it
    /// is not sent; when it was the asker's answer, the asker gets an error instead.
    private func bounded(_ outbound: [Outbound], answering request: XMLElement) -> [Outbound] {
        // Escaping can make text up to six times longer (`"` → `&quot;`): below a sixth of
        // the limit nothing needs measuring.
        let cheap = maxStanzaBytes / 6
        return outbound.flatMap { item -> [Outbound] in
            let element: XMLElement
            switch item {
            case .stanza(let stanza): element = stanza
            case .fanOut(let stanza, _): element = stanza
            }
            guard element.approximateSize(upTo: cheap) > cheap else { return [item] }
            let size = XMLSerializer.serialize(element, inheritedNamespace: Namespace.client).utf8.count + 128
            guard size > maxStanzaBytes else { return [item] }
            metrics.refused(.outboundSize)
            logger.error("""
                not sending a \(element.name) of \(size) bytes to \(element[attribute: "to"] ?? "several recipients"): \
                larger than component.max_stanza_bytes (\(maxStanzaBytes))
                """)
            let isAnswer = element[attribute: "to"] == request[attribute: "from"]
                && element[attribute: "id"] == request[attribute: "id"]
            let type = request[attribute: "type"]
            guard isAnswer, type != "error", !(request.name == "iq" && type == "result") else { return [] }
            return [.stanza(StanzaError(
                .resourceConstraint, type: .cancel,
                text: "the answer would be larger than this service sends (\(maxStanzaBytes) bytes)").reply(to: request))]
        }
    }

    /// One stanza on its own (a batch of one).
    public func handle(_ element: XMLElement) async -> [Outbound] {
        await handle([.stanza(element)])
    }

    private func route(_ element: XMLElement) async -> ([Outbound], Int?) {
        if let multicast, MulticastRelay.mayConcern(element), let handled = await multicast.observe(element) {
            return (handled, nil)
        }
        let stanza: Stanza
        do {
            stanza = try Stanza(parsing: element)
        } catch {
            logger.debug("unusable stanza from \(element[attribute: "from"] ?? "?"): \(error.error)")
            return (error.canReply ? [.stanza(error.error.reply(to: element, from: domain.description))] : [], nil)
        }
        switch destination(of: stanza.to) {
        case .service:
            return (await handleForService(stanza).map(Outbound.stanza), nil)
        case .room, .occupant:
            let processed = await rooms.process(stanza)
            return (processed.outbound, processed.ticket)
        case .elsewhere:
            return (refuse(stanza, StanzaError(.itemNotFound, text: "\(stanza.to) is not served here")).map(Outbound.stanza), nil)
        }
    }

    /// A stanza the parser skipped for breaking a size or depth limit: its
    /// sender is told with `policy-violation`, and the link goes on.
    public func handleRejected(_ element: XMLElement, reason: XMLStreamError) async -> [Outbound] {
        await handle([.rejected(element, reason: reason)])
    }

    private func rejection(_ element: XMLElement, reason: XMLStreamError) -> [Outbound] {
        metrics.refused(.stanzaSize)
        let type = element[attribute: "type"]
        guard type != "error", !(element.name == "iq" && type == "result"),
              let from = element[attribute: "from"], (try? JID(from)) != nil else { return [] }
        let replyFrom = element[attribute: "to"].flatMap { try? JID($0) }?.description ?? domain.description
        return [.stanza(StanzaError(.policyViolation, text: "stanza refused: \(reason)").reply(to: element, from: replyFrom))]
    }

    private func handleForService(_ stanza: Stanza) async -> [XMLElement] {
        switch stanza {
        case .iq(let iq):
            if await twins.observe(iq) { return [] }
            guard iq.isRequest else { return [] }
            guard let payload = iq.payload, let handler = iqHandlers[payload.namespace],
                  handler.types.contains(iq.type) else {
                // RFC 6120 §8.4: an IQ nobody here understands.
                return [iq.error(StanzaError(.serviceUnavailable))]
            }
            guard QueryRateLimiter.isExpensive(iq) else { return await handler.responses(to: iq) }
            let late: LateAnswer
            switch await rooms.admitExpensiveRead(from: iq.from) {
            case .refused(let error): return [iq.error(error)]
            case .inLine: return await handler.responses(to: iq)
            case .offPath(_, let answer): late = answer
            }
            // Read on the read connections while the next stanzas go on; the answer follows
            // when it is ready, bounded like every other. It must see every message handled
            // before it, so those are committed first.
            await rooms.flush()
            let router = self
            Task {
                let answers = await handler.responses(to: iq).map(Outbound.stanza)
                late.send(router.bounded(answers, answering: iq.element))
            }
            return []
        case .message(let message):
            guard message.type != .error else { return [] }
            return [StanzaError(.serviceUnavailable, text: "the service does not take messages").reply(to: message.element)]
        case .presence:
            // Presence to the service itself means nothing here (RFC 6121 §4.3: ignoring it is allowed).
            return []
        }
    }

    /// The error reply, unless the stanza is one that must not be answered.
    private func refuse(_ stanza: Stanza, _ error: StanzaError) -> [XMLElement] {
        stanza.acceptsErrorReply ? [error.reply(to: stanza.element)] : []
    }
}
