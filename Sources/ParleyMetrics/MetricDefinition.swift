/// One metric family Parley exports: its Prometheus name, its help line, its
/// kind and labels. `ParleyMetric.all` is the list Docs/operations.md documents.
public struct MetricDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    public let name: String
    public let kind: Kind
    public let help: String
    public let labels: [String]
    /// Upper bounds of a histogram's buckets (seconds for `_seconds`).
    public let buckets: [Double]

    public init(_ name: String, _ kind: Kind, _ help: String, labels: [String] = [], buckets: [Double] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
        self.buckets = buckets
    }
}

/// Every metric Parley exports, named after Prometheus conventions.
public enum ParleyMetric {
    static let latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public static let buildInfo = MetricDefinition(
        "parley_build_info", .gauge, "Always 1; the version label says which Parley runs.", labels: ["version"])
    public static let startTime = MetricDefinition(
        "parley_start_time_seconds", .gauge, "When this process started, in seconds since the Unix epoch.")
    public static let linkUp = MetricDefinition(
        "parley_component_link_up", .gauge, "1 while the component link to the XMPP server is up and authenticated, else 0.")
    public static let reconnects = MetricDefinition(
        "parley_component_reconnects_total", .counter, "Times the component link was lost or could not be opened and Parley tried again.")
    public static let pacingTimeouts = MetricDefinition(
        "parley_component_pacing_timeouts_total", .counter,
        "Times the server did not route a pacing marker back in time, so later answers went out unpaced until one came back.")
    public static let stanzasReceived = MetricDefinition(
        "parley_stanzas_received_total", .counter, "Stanzas received from the server, by kind (message, presence, iq).",
        labels: ["kind"])
    public static let stanzasSent = MetricDefinition(
        "parley_stanzas_sent_total", .counter, "Stanzas sent to the server, by kind; a fan-out counts one per recipient.",
        labels: ["kind"])
    public static let errorsSent = MetricDefinition(
        "parley_stanza_errors_sent_total", .counter, "Stanza errors sent, by RFC 6120 defined condition.",
        labels: ["condition"])
    public static let limitRefusals = MetricDefinition(
        "parley_limit_refusals_total", .counter,
        "Requests refused by a rate or size limit ([limits], component.max_stanza_bytes), by limit.", labels: ["limit"])
    public static let roomsLoaded = MetricDefinition(
        "parley_rooms_loaded", .gauge, "Rooms in memory now (rooms with occupants; the others hibernate in the database).")
    public static let roomsPersistent = MetricDefinition(
        "parley_rooms_persistent", .gauge, "Persistent rooms kept in the database.")
    public static let occupants = MetricDefinition(
        "parley_occupants", .gauge, "Occupants of all rooms now.")
    public static let followers = MetricDefinition(
        "parley_followers", .gauge, "Follows (MucSub subscriptions) of all rooms.")
    public static let archiveCommitSeconds = MetricDefinition(
        "parley_archive_commit_seconds", .histogram,
        "Time to commit one batch of archived messages (one SQLite transaction, synced per [storage] durability).",
        buckets: latencyBuckets)
    public static let archiveBatchMessages = MetricDefinition(
        "parley_archive_commit_batch_messages", .histogram, "Messages committed in one archive transaction.",
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    public static let messagesArchived = MetricDefinition(
        "parley_messages_archived_total", .counter, "Messages committed to the archive.")
    public static let archiveCommitFailures = MetricDefinition(
        "parley_archive_commit_failures_total", .counter,
        "Archive batches that could not be committed (their senders got internal-server-error; nobody else saw them).")
    public static let archiveQuerySeconds = MetricDefinition(
        "parley_archive_query_seconds", .histogram, "Time to answer one MAM query, by kind (mam, fulltext).",
        labels: ["kind"], buckets: latencyBuckets)
    public static let alertsSent = MetricDefinition(
        "parley_alerts_sent_total", .counter, "Keyword alert events sent (one per subscriber alerted).")
    public static let databaseBytes = MetricDefinition(
        "parley_database_bytes", .gauge, "Size of the SQLite database with its write-ahead log, in bytes.")

    public static let all: [MetricDefinition] = [
        buildInfo, startTime, linkUp, reconnects, pacingTimeouts, stanzasReceived, stanzasSent, errorsSent, limitRefusals,
        roomsLoaded, roomsPersistent, occupants, followers, archiveCommitSeconds, archiveBatchMessages,
        messagesArchived, archiveCommitFailures, archiveQuerySeconds, alertsSent, databaseBytes,
    ]

    public static func named(_ name: String) -> MetricDefinition? {
        all.first { $0.name == name }
    }
}
