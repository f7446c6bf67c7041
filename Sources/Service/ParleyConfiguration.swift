import Component
import MUC
import Storage
import XMPPCore
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
    /// `[rooms]`: who may create rooms.
    public var rooms: RoomsConfiguration
    /// `[component] multicast…`: the server's XEP-0033 service for fan-outs.
    public var multicast: MulticastConfiguration
    /// `[weblogs]`: rooms' archives on the web, served by the `[http]` listener.
    public var webLogs = WebLogsConfiguration()

    public init(
        component: ComponentConfiguration, storage: StorageConfiguration, service: ServiceConfiguration,
        archive: ArchiveConfiguration = ArchiveConfiguration(), alerts: AlertsConfiguration = AlertsConfiguration(),
        limits: RoomLimits = RoomLimits(), http: HTTPConfiguration? = nil,
        rooms: RoomsConfiguration = RoomsConfiguration(localDomain: "")
    ) {
        self.component = component
        self.storage = storage
        self.service = service
        self.archive = archive
        self.alerts = alerts
        self.limits = limits
        self.http = http
        self.rooms = rooms
        self.multicast = MulticastConfiguration(server: RoomsConfiguration.parentDomain(of: component.domain))
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
    /// `admins`: bare JIDs that are owners of every room (as Prosody's admins are).
    public var admins: Set<JID>

    public init(name: String = "Parley rooms", admins: Set<JID> = []) {
        self.name = name
        self.admins = admins
    }
}

/// The `[rooms]` table: who may create rooms (XEP-0045 §10.1.1).
public struct RoomsConfiguration: Sendable, Hashable {
    public enum Creation: String, Sendable, Hashable {
        /// Anyone the server routes to us, federated users too.
        case anyone
        /// Users of `localDomain` (and service admins).
        case local
        /// Service admins only.
        case admins
    }

    public var creation: Creation
    /// The server's own domain: by default the component domain's parent (rooms.example.org → example.org).
    public var localDomain: String

    public init(creation: Creation = .anyone, localDomain: String) {
        self.creation = creation
        self.localDomain = localDomain
    }

    public static func parentDomain(of domain: String) -> String {
        guard let dot = domain.firstIndex(of: "."), domain.index(after: dot) < domain.endIndex else { return domain }
        return String(domain[domain.index(after: dot)...])
    }

    /// Whether `user` may create a room.
    public func allows(_ user: JID, admins: Set<JID>) -> Bool {
        if admins.contains(user.bare) { return true }
        switch creation {
        case .anyone: return true
        case .local: return user.domainpart == localDomain
        case .admins: return false
        }
    }
}

/// The `[weblogs]` table: public room logs on the `[http]` listener.
public struct WebLogsConfiguration: Sendable, Hashable {
    /// Which rooms may publish, what new rooms start with, and the readers' address.
    public var policy = WebLogsPolicy(isEnabled: true)
    /// Searches one client address may start per minute (0 = no limit).
    public var searchesPerMinute = 30
    /// Bytes of rendered pages kept in memory.
    public var cacheBytes = 64 << 20
    /// What the pages' links start with: `base_url` when set (behind a reverse proxy), else "/logs".
    public var linkBase = "/logs"

    public init() {}
}

/// The `[http]` table: the HTTP listener (`/health`, `/metrics`, `/logs/`).
public struct HTTPConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Connections open at once; more are closed as they arrive (`max_connections`).
    public var maxConnections: Int

    public init(host: String, port: Int, maxConnections: Int = 512) {
        self.host = host
        self.port = port
        self.maxConnections = maxConnections
    }
}
