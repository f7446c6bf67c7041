import Component
import XMLStream

/// Everything `parley run` needs, read and checked from the TOML file before anything starts.
public struct ParleyConfiguration: Sendable, Hashable {
    public var component: ComponentConfiguration
    public var storage: StorageConfiguration
    public var service: ServiceConfiguration

    public init(component: ComponentConfiguration, storage: StorageConfiguration, service: ServiceConfiguration) {
        self.component = component
        self.storage = storage
        self.service = service
    }
}

/// The `[storage]` table.
public struct StorageConfiguration: Sendable, Hashable {
    /// Absolute path of the SQLite database (relative paths in the file are
    /// resolved against the file's own directory).
    public var databasePath: String

    public init(databasePath: String) {
        self.databasePath = databasePath
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
