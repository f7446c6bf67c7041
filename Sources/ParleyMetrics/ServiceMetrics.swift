import CoreMetrics

/// The handles Parley records its figures with, made once from one factory:
/// the Prometheus exporter in `parley run`, nothing at all (`.none`) elsewhere.
public final class ServiceMetrics: Sendable {
    /// Records nothing: for tests and tools that do not export metrics.
    public static let none = ServiceMetrics(factory: NOOPMetricsHandler.instance)

    /// The stanza kinds that label `stanzas_received` and `stanzas_sent`.
    public static let stanzaKinds = ["message", "presence", "iq", "other"]
    /// RFC 6120 §8.3.3: the only conditions that label `stanza_errors_sent`; anything
    /// else (a relayed error may carry whatever a client wrote) counts as `other`.
    public static let conditions = [
        "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone", "internal-server-error",
        "item-not-found", "jid-malformed", "not-acceptable", "not-allowed", "not-authorized", "policy-violation",
        "recipient-unavailable", "redirect", "registration-required", "remote-server-not-found",
        "remote-server-timeout", "resource-constraint", "service-unavailable", "subscription-required",
        "undefined-condition", "unexpected-request", "other",
    ]
    /// What labels `limit_refusals`.
    public enum Limit: String, Sendable, CaseIterable {
        case messageRate = "message_rate"
        case presenceRate = "presence_rate"
        case subjectRate = "subject_rate"
        /// A size or count of `[limits]` inside a room (a body, a nick, occupants of the room…).
        case roomLimits = "room_limits"
        case roomCreation = "room_creation"
        case roomsPerUser = "rooms_per_user"
        case followsPerUser = "follows_per_user"
        case serviceOccupants = "service_occupants"
        case queryRate = "query_rate"
        case queryQueue = "query_queue"
        case queryQueuePerUser = "query_queue_per_user"
        case stanzaSize = "stanza_size"
        case outboundSize = "outbound_size"
    }

    let factory: any MetricsFactory
    public let linkUp: Gauge
    public let reconnects: Counter
    public let pacingTimeouts: Counter
    public let roomsLoaded: Gauge
    public let roomsPersistent: Gauge
    public let occupants: Gauge
    public let followers: Gauge
    public let databaseBytes: Gauge
    public let archiveCommit: Timer
    public let archiveBatch: Recorder
    public let messagesArchived: Counter
    public let archiveCommitFailures: Counter
    public let mamQuery: Timer
    public let fullTextQuery: Timer
    public let alertsSent: Counter
    private let received: [String: Counter]
    private let sent: [String: Counter]
    private let errors: [String: Counter]
    private let refusals: [Limit: Counter]

    public init(factory: any MetricsFactory, version: String = "", startTime: Double = 0) {
        self.factory = factory
        func counter(_ definition: MetricDefinition, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: definition.name, dimensions: dimensions, factory: factory)
        }
        func gauge(_ definition: MetricDefinition, _ dimensions: [(String, String)] = []) -> Gauge {
            Gauge(label: definition.name, dimensions: dimensions, factory: factory)
        }
        func labelled(_ definition: MetricDefinition, _ values: [String]) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: values.map { ($0, counter(definition, [(definition.labels[0], $0)])) })
        }
        gauge(ParleyMetric.buildInfo, [("version", version)]).record(1)
        gauge(ParleyMetric.startTime).record(startTime)
        linkUp = gauge(ParleyMetric.linkUp)
        linkUp.record(0)
        reconnects = counter(ParleyMetric.reconnects)
        pacingTimeouts = counter(ParleyMetric.pacingTimeouts)
        roomsLoaded = gauge(ParleyMetric.roomsLoaded)
        roomsPersistent = gauge(ParleyMetric.roomsPersistent)
        occupants = gauge(ParleyMetric.occupants)
        followers = gauge(ParleyMetric.followers)
        databaseBytes = gauge(ParleyMetric.databaseBytes)
        archiveCommit = Timer(label: ParleyMetric.archiveCommitSeconds.name, factory: factory)
        archiveBatch = Recorder(label: ParleyMetric.archiveBatchMessages.name, aggregate: true, factory: factory)
        messagesArchived = counter(ParleyMetric.messagesArchived)
        archiveCommitFailures = counter(ParleyMetric.archiveCommitFailures)
        mamQuery = Timer(label: ParleyMetric.archiveQuerySeconds.name, dimensions: [("kind", "mam")], factory: factory)
        fullTextQuery = Timer(label: ParleyMetric.archiveQuerySeconds.name, dimensions: [("kind", "fulltext")], factory: factory)
        alertsSent = counter(ParleyMetric.alertsSent)
        received = labelled(ParleyMetric.stanzasReceived, Self.stanzaKinds)
        sent = labelled(ParleyMetric.stanzasSent, Self.stanzaKinds)
        errors = labelled(ParleyMetric.errorsSent, Self.conditions)
        refusals = Dictionary(uniqueKeysWithValues: Limit.allCases.map {
            ($0, counter(ParleyMetric.limitRefusals, [("limit", $0.rawValue)]))
        })
    }

    public func received(kind: String, count: Int = 1) {
        (received[kind] ?? received["other"])?.increment(by: Int64(count))
    }

    public func sent(kind: String, count: Int = 1) {
        (sent[kind] ?? sent["other"])?.increment(by: Int64(count))
    }

    public func errorSent(condition: String, count: Int = 1) {
        (errors[condition] ?? errors["other"])?.increment(by: Int64(count))
    }

    public func refused(_ limit: Limit) {
        refusals[limit]?.increment()
    }
}

extension Timer {
    /// Records the time from `start` to now.
    public func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = start.duration(to: .now)
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
