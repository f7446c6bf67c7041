import Component
import MUC
import Storage
import XMLStream

/// Everything `parley run` needs, read and checked from the TOML file before anything starts.
public struct ParleyConfiguration: Sendable, Hashable {
    public var component: ComponentConfiguration
    public var storage: StorageConfiguration
    public var service: ServiceConfiguration
    public var archive: ArchiveConfiguration
    public var alerts: AlertsConfiguration
    /// `[limits]`: what a client may put in a room.
    public var limits: RoomLimits
    /// `[http] listen`: where `/health` is served; nil when the table is absent.
    public var http: HTTPConfiguration?

    public init(
        component: ComponentConfiguration, storage: StorageConfiguration, service: ServiceConfiguration,
        archive: ArchiveConfiguration = ArchiveConfiguration(), alerts: AlertsConfiguration = AlertsConfiguration(),
        limits: RoomLimits = RoomLimits(), http: HTTPConfiguration? = nil
    ) {
        self.component = component
        self.storage = storage
        self.service = service
        self.archive = archive
        self.alerts = alerts
        self.limits = limits
        self.http = http
    }
}

/// The `[alerts]` table: limits of keyword alerts.
public struct AlertsConfiguration: Sendable, Hashable {
    public var maxKeywordsPerUser: Int

    public init(maxKeywordsPerUser: Int = 100) {
        self.maxKeywordsPerUser = maxKeywordsPerUser
    }
}

/// The `[archive]` table: how long messages are kept.
public struct ArchiveConfiguration: Sendable, Hashable {
    /// Days to keep messages of rooms that do not set their own retention; 0 = forever.
    public var retentionDays: Int
    /// How often expired messages are deleted.
    public var sweepInterval: Duration
    /// Days a destroyed room's archive stays exportable by admins (`parley archive ended`); 0 = forever.
    public var keepDestroyedDays: Int

    public init(retentionDays: Int = 0, sweepInterval: Duration = .seconds(3600), keepDestroyedDays: Int = 30) {
        self.retentionDays = retentionDays
        self.sweepInterval = sweepInterval
        self.keepDestroyedDays = keepDestroyedDays
    }
}

/// The `[storage]` table.
public struct StorageConfiguration: Sendable, Hashable {
    /// Absolute path of the SQLite database (relative paths in the file are
    /// resolved against the file's own directory).
    public var databasePath: String
    /// `durability`: what a commit survives before it is acknowledged.
    public var durability: Durability

    public init(databasePath: String, durability: Durability = .power) {
        self.databasePath = databasePath
        self.durability = durability
    }
}

/// The `[service]` table: how the service presents itself.
public struct ServiceConfiguration: Sendable, Hashable {
    /// The name in the service's disco#info identity.
    public var name: String

    public init(name: String = "Parley rooms") {
        self.name = name
    }
}

/// The `[http]` table: the small HTTP listener (`/health`).
public struct HTTPConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
