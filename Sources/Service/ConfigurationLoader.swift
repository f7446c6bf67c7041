import Component
import Foundation
import MUC
import Storage
import TOMLKit
import XMLStream
import XMPPCore

/// Reads `parley.toml` into a `ParleyConfiguration`. Strict on purpose: an
/// unknown key is an error (it is almost always a typo), and so is a value of
/// the wrong type or out of range. Nothing starts on a half-valid file.
public enum ConfigurationLoader {
    public static func load(path: String) throws(ConfigurationError) -> ParleyConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, key: nil, problem: "cannot read the file (\(error.localizedDescription))")
        }
        let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, file: path, baseDirectory: baseDirectory)
    }

    public static func parse(_ text: String, file: String, baseDirectory: String) throws(ConfigurationError) -> ParleyConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                file: file, key: nil,
                problem: "not valid TOML: \(error.description) at line \(error.source.begin.line), column \(error.source.begin.column)")
        } catch {
            throw ConfigurationError(file: file, key: nil, problem: "not valid TOML: \(error)")
        }
        var top = TableReader(table: root, path: nil, file: file)
        var componentTable = try top.requiredTable("component")
        var storageTable = try top.requiredTable("storage")
        let serviceTable = try top.optionalTable("service")
        let archiveTable = try top.optionalTable("archive")
        let alertsTable = try top.optionalTable("alerts")
        let limitsTable = try top.optionalTable("limits")
        let httpTable = try top.optionalTable("http")
        let roomsTable = try top.optionalTable("rooms")
        let webLogsTable = try top.optionalTable("weblogs")
        try top.rejectUnknownKeys()

        let component = try readComponent(&componentTable, baseDirectory: baseDirectory)
        let multicast = try readMulticast(&componentTable, componentDomain: component.domain)
        try componentTable.rejectUnknownKeys()

        let database = try storageTable.requiredString("database")
        guard !database.isEmpty else {
            throw storageTable.error("database", "must not be empty")
        }
        var durability = Durability.power
        if let raw = try storageTable.optionalString("durability") {
            guard let value = Durability(rawValue: raw) else {
                throw storageTable.error("durability", "expected \"power\" or \"crash\", got \"\(raw)\"")
            }
            durability = value
        }
        try storageTable.rejectUnknownKeys()

        var service = ServiceConfiguration()
        if var serviceTable {
            service.name = try serviceTable.optionalString("name") ?? service.name
            for raw in try serviceTable.optionalStringArray("admins") ?? [] {
                guard let jid = try? JID(raw), jid.localpart != nil, jid.resourcepart == nil else {
                    throw serviceTable.error("admins", "'\(raw)' is not a bare user JID such as admin@example.org")
                }
                service.admins.insert(jid)
            }
            try serviceTable.rejectUnknownKeys()
        }
        var archive = ArchiveConfiguration()
        if var archiveTable {
            archive.retentionDays = try archiveTable.optionalInt("retention_days", in: 0...36500) ?? 0
            let minutes = try archiveTable.optionalInt("sweep_interval_minutes", in: 1...10_080) ?? 60
            archive.sweepInterval = .seconds(minutes * 60)
            archive.keepDestroyedDays = try archiveTable.optionalInt("keep_destroyed_days", in: 0...36500) ?? archive.keepDestroyedDays
            try archiveTable.rejectUnknownKeys()
        }
        var alerts = AlertsConfiguration()
        if var alertsTable {
            alerts.maxKeywordsPerUser = try alertsTable.optionalInt("max_keywords_per_user", in: 1...100_000) ?? 100
            try alertsTable.rejectUnknownKeys()
        }
        var limits = RoomLimits()
        if var limitsTable {
            try readLimits(&limitsTable, into: &limits)
            try limitsTable.rejectUnknownKeys()
        }
        var rooms = RoomsConfiguration(localDomain: RoomsConfiguration.parentDomain(of: component.domain))
        if var roomsTable {
            if let raw = try roomsTable.optionalString("creation") {
                guard let creation = RoomsConfiguration.Creation(rawValue: raw) else {
                    throw roomsTable.error("creation", "expected \"anyone\", \"local\" or \"admins\", got \"\(raw)\"")
                }
                rooms.creation = creation
            }
            if let domain = try roomsTable.optionalString("local_domain") {
                guard let jid = try? JID(domain), jid.localpart == nil, jid.resourcepart == nil else {
                    throw roomsTable.error("local_domain", "'\(domain)' is not a domain")
                }
                rooms.localDomain = jid.domainpart
            }
            try roomsTable.rejectUnknownKeys()
        }
        var http: HTTPConfiguration? = nil
        if var httpTable {
            let listen = try httpTable.requiredString("listen")
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
                  (1...65535).contains(port), colon != listen.startIndex else {
                throw httpTable.error("listen", "expected HOST:PORT such as \"127.0.0.1:5281\", got \"\(listen)\"")
            }
            let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            http = HTTPConfiguration(host: host, port: port)
            if let limit = try httpTable.optionalInt("max_connections", in: 1...100_000) { http?.maxConnections = limit }
            try httpTable.rejectUnknownKeys()
        }
        var configuration = ParleyConfiguration(
            component: component,
            storage: StorageConfiguration(databasePath: absolute(database, base: baseDirectory), durability: durability),
            service: service, archive: archive, alerts: alerts, limits: limits, http: http, rooms: rooms)
        configuration.multicast = multicast
        if var webLogsTable {
            configuration.webLogs = try readWebLogs(&webLogsTable, http: http)
            try webLogsTable.rejectUnknownKeys()
        } else if http == nil {
            configuration.webLogs.policy.isEnabled = false
        }
        if let http, configuration.webLogs.policy.baseURL == nil {
            let host = http.host.contains(":") ? "[\(http.host)]" : http.host
            configuration.webLogs.policy.baseURL = "http://\(host):\(http.port)/logs"
        }
        return configuration
    }

    private static func readWebLogs(
        _ table: inout TableReader, http: HTTPConfiguration?
    ) throws(ConfigurationError) -> WebLogsConfiguration {
        var webLogs = WebLogsConfiguration()
        if let enabled = try table.optionalBool("enabled") { webLogs.policy.isEnabled = enabled }
        if let initial = try table.optionalBool("default") { webLogs.policy.defaultForNewRooms = initial }
        if webLogs.policy.isEnabled && http == nil {
            throw table.error("enabled", "web logs are served by the HTTP listener: add [http] listen, or set enabled = false")
        }
        if let base = try table.optionalString("base_url") {
            guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                  url.query == nil, url.fragment == nil else {
                throw table.error("base_url", "expected an http(s) URL such as \"https://chat.example.org/logs\", got \"\(base)\"")
            }
            webLogs.policy.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
            webLogs.linkBase = webLogs.policy.baseURL ?? webLogs.linkBase
        }
        for raw in try table.optionalStringArray("hidden_rooms") ?? [] {
            guard let room = try? JID(raw), room.localpart != nil, room.resourcepart == nil else {
                throw table.error("hidden_rooms", "'\(raw)' is not a room JID such as room@rooms.example.org")
            }
            webLogs.policy.hiddenRooms.insert(room)
        }
        if let perMinute = try table.optionalInt("searches_per_minute", in: 0...100_000) { webLogs.searchesPerMinute = perMinute }
        if let megabytes = try table.optionalInt("cache_megabytes", in: 0...65_536) { webLogs.cacheBytes = megabytes << 20 }
        return webLogs
    }

    /// `[limits]`: every key optional, `0` turns a limit off.
    private static func readLimits(_ table: inout TableReader, into limits: inout RoomLimits) throws(ConfigurationError) {
        let bytes = 0...(64 * 1024 * 1024)
        let counts = 0...1_000_000
        let keys: [(key: String, limit: WritableKeyPath<RoomLimits, Int>, range: ClosedRange<Int>)] = [
            ("nick_bytes", \.nickBytes, 0...1023),
            ("status_bytes", \.statusBytes, bytes),
            ("presence_payload_bytes", \.presencePayloadBytes, bytes),
            ("subject_bytes", \.subjectBytes, bytes),
            ("body_bytes", \.bodyBytes, bytes),
            ("room_name_bytes", \.roomNameBytes, bytes),
            ("room_description_bytes", \.roomDescriptionBytes, bytes),
            ("invitations_per_message", \.invitationsPerMessage, 0...1000),
            ("message_burst", \.messageBurst, counts),
            ("messages_per_minute", \.messagesPerMinute, counts),
            ("presence_burst", \.presenceBurst, counts),
            ("presence_per_minute", \.presencePerMinute, counts),
            ("subject_burst", \.subjectBurst, counts),
            ("subject_changes_per_minute", \.subjectChangesPerMinute, counts),
            ("occupants_per_room", \.occupantsPerRoom, counts),
            ("occupants_per_service", \.occupantsPerService, 0...100_000_000),
            ("rooms_per_user", \.roomsPerUser, counts),
            ("room_creation_burst", \.roomCreationBurst, counts),
            ("room_creations_per_hour", \.roomCreationsPerHour, counts),
            ("followers_per_room", \.followersPerRoom, counts),
            ("follows_per_user", \.followsPerUser, counts),
            ("query_burst", \.queryBurst, counts),
            ("queries_per_minute", \.queriesPerMinute, counts),
            ("queued_queries", \.queuedQueries, counts),
            ("queued_queries_per_user", \.queuedQueriesPerUser, counts),
            ("query_milliseconds", \.queryMilliseconds, 0...3_600_000),
        ]
        for (key, limit, range) in keys {
            if let value = try table.optionalInt(key, in: range) { limits[keyPath: limit] = value }
        }
    }

    private static func readComponent(
        _ table: inout TableReader, baseDirectory: String
    ) throws(ConfigurationError) -> ComponentConfiguration {
        let domain = try table.requiredString("domain")
        do {
            let jid = try JID(domain)
            guard jid.localpart == nil, jid.resourcepart == nil else {
                throw table.error("domain", "must be a bare domain such as rooms.example.org, got '\(domain)'")
            }
        } catch let error as JIDError {
            throw table.error("domain", "'\(domain)' is not a valid domain: \(error)")
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw table.error("domain", "\(error)")
        }
        let host = try table.optionalString("host") ?? "127.0.0.1"
        let port = try table.optionalInt("port", in: 1...65535) ?? 5347
        let inlineSecret = try table.optionalString("secret")
        let secretFile = try table.optionalString("secret_file")
        let secret: String
        switch (inlineSecret, secretFile) {
        case (.some, .some):
            throw table.error("secret", "give either 'secret' or 'secret_file', not both")
        case (nil, nil):
            throw table.error("secret", "missing: give 'secret' or 'secret_file'")
        case (.some(let value), nil):
            secret = value
        case (nil, .some(let file)):
            let path = absolute(file, base: baseDirectory)
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw table.error("secret_file", "cannot read '\(path)'")
            }
            secret = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !secret.isEmpty else {
            throw table.error(secretFile == nil ? "secret" : "secret_file", "the secret is empty")
        }
        let keepalive = try table.optionalInt("keepalive_seconds", in: 5...3600) ?? 60
        let reconnectMaximum = try table.optionalInt("reconnect_max_seconds", in: 1...3600) ?? 30
        let maxStanzaBytes = try table.optionalInt("max_stanza_bytes", in: 4096...(64 * 1024 * 1024)) ?? 256 * 1024
        let linkCheck = try table.optionalInt("link_check_seconds", in: 1...86400) ?? 60
        var tls: ComponentTLS? = nil
        let caFile = try table.optionalString("tls_ca_file")
        let pin = try table.optionalString("tls_fingerprint")
        let serverName = try table.optionalString("tls_server_name")
        if try table.optionalBool("tls") ?? false {
            var settings = ComponentTLS(serverName: serverName ?? RoomsConfiguration.parentDomain(of: domain.lowercased()))
            if let caFile {
                let path = absolute(caFile, base: baseDirectory)
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw table.error("tls_ca_file", "cannot read '\(path)'")
                }
                settings.caFile = path
            }
            if let pin {
                guard let bytes = ComponentTLS.fingerprint(pin) else {
                    throw table.error("tls_fingerprint", "expected a SHA-256 fingerprint such as \"sha256:AB:CD:…\" (64 hex digits), got \"\(pin)\"")
                }
                settings.pinnedSHA256 = bytes
            }
            tls = settings
        } else if let key = [("tls_ca_file", caFile), ("tls_fingerprint", pin), ("tls_server_name", serverName)].first(where: { $0.1 != nil })?.0 {
            throw table.error(key, "only means something with tls = true")
        }
        return ComponentConfiguration(
            domain: domain.lowercased(), host: host, port: port, secret: secret,
            keepaliveInterval: .seconds(keepalive),
            reconnectMaximumDelay: .seconds(reconnectMaximum),
            limits: XMLStreamLimits(maxStanzaBytes: maxStanzaBytes),
            tickInterval: .seconds(linkCheck), tls: tls)
    }

    static func absolute(_ path: String, base: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
}

/// Reads one TOML table, remembering which keys were used so that the rest can be reported as unknown.
struct TableReader {
    let table: TOMLTable
    let path: String?
    let file: String
    private var used: Set<String> = []

    init(table: TOMLTable, path: String?, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    func qualified(_ key: String) -> String {
        path.map { "\($0).\(key)" } ?? key
    }

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, key: qualified(key), problem: problem)
    }

    private mutating func value(_ key: String) -> TOMLValueConvertible? {
        used.insert(key)
        return table[key]
    }

    private func typeMismatch(_ key: String, expected: String, got value: TOMLValueConvertible) -> ConfigurationError {
        error(key, "expected \(expected), got \(String(describing: value.type)) \(value.debugDescription)")
    }

    mutating func requiredTable(_ key: String) throws(ConfigurationError) -> TableReader {
        guard let table = try optionalTable(key) else {
            throw error(key, "missing: the file needs a [\(qualified(key))] table")
        }
        return table
    }

    mutating func optionalTable(_ key: String) throws(ConfigurationError) -> TableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw typeMismatch(key, expected: "a table", got: value) }
        return TableReader(table: table, path: qualified(key), file: file)
    }

    mutating func requiredString(_ key: String) throws(ConfigurationError) -> String {
        guard let string = try optionalString(key) else { throw error(key, "missing: this key is required") }
        return string
    }

    mutating func optionalString(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw typeMismatch(key, expected: "a string", got: value) }
        return string
    }

    mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.int else { throw typeMismatch(key, expected: "an integer", got: value) }
        guard range.contains(int) else {
            throw error(key, "\(int) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return int
    }

    mutating func optionalStringArray(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw typeMismatch(key, expected: "an array of strings", got: value) }
        var strings: [String] = []
        for element in array {
            guard let string = element.string else {
                throw error(key, "expected strings, got \(element.debugDescription)")
            }
            strings.append(string)
        }
        return strings
    }

    mutating func optionalBool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw typeMismatch(key, expected: "true or false", got: value) }
        return bool
    }

    func rejectUnknownKeys() throws(ConfigurationError) {
        for key in table.keys.sorted() where !used.contains(key) {
            throw error(key, "unknown key")
        }
    }
}
