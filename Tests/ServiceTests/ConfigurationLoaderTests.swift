import Foundation
import MUC
import Service
import Storage
import Testing
import XMPPCore

@Suite("Configuration loading")
struct ConfigurationLoaderTests {
    static let valid = """
        [component]
        domain = "Rooms.Example.ORG"
        host = "10.0.0.1"
        port = 5348
        secret = "s3cret"

        [storage]
        database = "var/parley.sqlite"
        """

    private func parse(_ text: String) throws(ConfigurationError) -> ParleyConfiguration {
        try ConfigurationLoader.parse(text, file: "/etc/parley/parley.toml", baseDirectory: "/etc/parley")
    }

    private func error(_ text: String) -> ConfigurationError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a valid file gives every value, with defaults and relative paths resolved")
    func valid() throws {
        let configuration = try parse(Self.valid)
        #expect(configuration.component.domain == "rooms.example.org")
        #expect(configuration.component.host == "10.0.0.1")
        #expect(configuration.component.port == 5348)
        #expect(configuration.component.secret == "s3cret")
        #expect(configuration.component.keepaliveInterval == .seconds(60))
        #expect(configuration.component.limits.maxStanzaBytes == 256 * 1024)
        #expect(configuration.storage.databasePath == "/etc/parley/var/parley.sqlite")
        #expect(configuration.service.name == "Parley rooms")
    }

    @Test("the documented example in Config/ is valid")
    func documentedExample() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Config/parley.toml").standardizedFileURL.path
        let configuration = try ConfigurationLoader.load(path: path)
        #expect(configuration.component.domain == "rooms.localhost")
    }

    @Test("a missing table or key names the key")
    func missing() {
        #expect(error("[storage]\ndatabase = \"x\"") == ConfigurationError(
            file: "/etc/parley/parley.toml", key: "component", problem: "missing: the file needs a [component] table"))
        let noDomain = Self.valid.replacingOccurrences(of: "domain = \"Rooms.Example.ORG\"\n", with: "")
        #expect(error(noDomain)?.key == "component.domain")
        let noSecret = Self.valid.replacingOccurrences(of: "secret = \"s3cret\"\n", with: "")
        #expect(error(noSecret)?.key == "component.secret")
        let noDatabase = Self.valid.replacingOccurrences(of: "database = \"var/parley.sqlite\"", with: "")
        #expect(error(noDatabase)?.key == "storage.database")
    }

    @Test("a wrong type names the key, what was expected and what was found")
    func wrongType() throws {
        let text = Self.valid.replacingOccurrences(of: "port = 5348", with: "port = \"5348\"")
        let problem = try #require(error(text))
        #expect(problem.key == "component.port")
        #expect(problem.problem.contains("expected an integer"))
        #expect(problem.description.hasPrefix("/etc/parley/parley.toml: key 'component.port':"))
        #expect(error(Self.valid.replacingOccurrences(of: "[storage]\n", with: "storage = 1\n[x]\n"))?.key == "storage")
    }

    @Test("[weblogs]: defaults, every key, and errors that name the key")
    func webLogs() throws {
        let http = Self.valid + "\n[http]\nlisten = \"127.0.0.1:5281\"\n"
        let plain = try parse(http)
        #expect(plain.webLogs.policy.isEnabled && !plain.webLogs.policy.defaultForNewRooms)
        #expect(plain.webLogs.policy.baseURL == "http://127.0.0.1:5281/logs" && plain.webLogs.linkBase == "/logs")
        #expect(plain.http?.maxConnections == 512)
        #expect(try parse(Self.valid).webLogs.policy.isEnabled == false, "no [http]: no web logs")
        let full = try parse(http + """
            max_connections = 64
            [weblogs]
            default = true
            base_url = "https://chat.example.org/logs/"
            hidden_rooms = ["secret@rooms.example.org"]
            searches_per_minute = 5
            cache_megabytes = 8
            """)
        #expect(full.http?.maxConnections == 64 && full.webLogs.policy.defaultForNewRooms)
        #expect(full.webLogs.linkBase == "https://chat.example.org/logs")
        #expect(full.webLogs.policy.hiddenRooms == [try JID("secret@rooms.example.org")])
        #expect(full.webLogs.searchesPerMinute == 5 && full.webLogs.cacheBytes == 8 << 20)
        #expect(error(Self.valid + "\n[weblogs]\ndefault = true\n")?.key == "weblogs.enabled")
        #expect(try parse(Self.valid + "\n[weblogs]\nenabled = false\n").webLogs.policy.isEnabled == false)
        #expect(error(http + "[weblogs]\nbase_url = \"ftp://x/logs\"\n")?.key == "weblogs.base_url")
        #expect(error(http + "[weblogs]\nhidden_rooms = [\"rooms.example.org\"]\n")?.key == "weblogs.hidden_rooms")
        #expect(error(http + "[weblogs]\nsearches = 1\n")?.key == "weblogs.searches")
        #expect(error(http + "max_connections = 0\n")?.key == "http.max_connections")
    }

    @Test("an unknown key is an error, at any level")
    func unknownKey() {
        #expect(error(Self.valid + "\nextra = 1\n")?.key == "storage.extra")
        #expect(error("typo = 1\n" + Self.valid)?.key == "typo")
        #expect(error(Self.valid.replacingOccurrences(of: "port = 5348", with: "prot = 5348"))?.key == "component.prot")
    }

    @Test("values out of range are refused")
    func ranges() {
        #expect(error(Self.valid.replacingOccurrences(of: "port = 5348", with: "port = 70000"))?.key == "component.port")
        #expect(error(Self.valid.replacingOccurrences(of: "port = 5348", with: "port = 5348\nkeepalive_seconds = 1"))?.key
            == "component.keepalive_seconds")
    }

    @Test("the domain must be a bare domain")
    func domain() {
        #expect(error(Self.valid.replacingOccurrences(of: "Rooms.Example.ORG", with: "rooms@example.org"))?.key == "component.domain")
        #expect(error(Self.valid.replacingOccurrences(of: "Rooms.Example.ORG", with: "bad domain"))?.key == "component.domain")
    }

    @Test("secret and secret_file: exactly one, and the file must be readable")
    func secretFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "  from-file\n".write(to: directory.appendingPathComponent("secret"), atomically: true, encoding: .utf8)
        let withFile = Self.valid.replacingOccurrences(of: "secret = \"s3cret\"", with: "secret_file = \"secret\"")
        let configuration = try ConfigurationLoader.parse(withFile, file: "p.toml", baseDirectory: directory.path)
        #expect(configuration.component.secret == "from-file")

        let both = Self.valid.replacingOccurrences(of: "secret = \"s3cret\"", with: "secret = \"a\"\nsecret_file = \"secret\"")
        #expect(error(both)?.key == "component.secret")
        let missingFile = Self.valid.replacingOccurrences(of: "secret = \"s3cret\"", with: "secret_file = \"/nonexistent/secret\"")
        #expect(error(missingFile)?.key == "component.secret_file")
    }

    @Test("the archive table: retention days and sweep interval, checked")
    func archive() throws {
        let configuration = try parse(Self.valid + "\n[archive]\nretention_days = 90\nsweep_interval_minutes = 5\n")
        #expect(configuration.archive.retentionDays == 90)
        #expect(configuration.archive.sweepInterval == .seconds(300))
        #expect(try parse(Self.valid).archive.retentionDays == 0)
        #expect(error(Self.valid + "\n[archive]\nretention_days = -1\n")?.key == "archive.retention_days")
        #expect(error(Self.valid + "\n[archive]\nretention = 1\n")?.key == "archive.retention")
    }

    @Test("TOML syntax errors give the line")
    func syntax() {
        let problem = error("[component\n")
        #expect(problem?.key == nil)
        #expect(problem?.problem.contains("line 1") == true)
    }

    @Test("an unreadable file is a configuration error, not a crash")
    func unreadable() {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: "/nonexistent/parley.toml") }
    }

    @Test("[limits]: each key optional, 0 turns a limit off, unknown keys and bad values name the key")
    func limits() throws {
        #expect(try parse(Self.valid).limits == RoomLimits())
        let configuration = try parse(Self.valid + "\n[limits]\nbody_bytes = 0\nnick_bytes = 32\ninvitations_per_message = 2\n")
        #expect(configuration.limits.bodyBytes == 0)
        #expect(configuration.limits.nickBytes == 32)
        #expect(configuration.limits.invitationsPerMessage == 2)
        #expect(configuration.limits.subjectBytes == RoomLimits().subjectBytes)
        #expect(error(Self.valid + "\n[limits]\nbody_byte = 10\n")?.key == "limits.body_byte")
        #expect(error(Self.valid + "\n[limits]\nnick_bytes = 5000\n")?.key == "limits.nick_bytes")
        #expect(try parse(Self.valid.replacingOccurrences(of: "secret = \"s3cret\"", with: "secret = \"s3cret\"\nlink_check_seconds = 5"))
            .component.tickInterval == .seconds(5))
    }

    @Test("[storage] durability: power by default, crash on request, anything else names the key")
    func durability() throws {
        #expect(try parse(Self.valid).storage.durability == .power)
        let crash = Self.valid.replacingOccurrences(of: "database = \"var/parley.sqlite\"", with: "database = \"var/parley.sqlite\"\ndurability = \"crash\"")
        #expect(try parse(crash).storage.durability == .crash)
        #expect(error(crash.replacingOccurrences(of: "\"crash\"", with: "\"fast\""))?.key == "storage.durability")
    }

    @Test("[http] listen: HOST:PORT, absent means no listener")
    func http() throws {
        #expect(try parse(Self.valid).http == nil)
        let configuration = try parse(Self.valid + "\n[http]\nlisten = \"127.0.0.1:5281\"\n")
        #expect(configuration.http == HTTPConfiguration(host: "127.0.0.1", port: 5281))
        #expect(try parse(Self.valid + "\n[http]\nlisten = \"[::1]:5281\"\n").http == HTTPConfiguration(host: "::1", port: 5281))
        #expect(error(Self.valid + "\n[http]\nlisten = \"5281\"\n")?.key == "http.listen")
        #expect(error(Self.valid + "\n[http]\nlisten = \"host:99999\"\n")?.key == "http.listen")
    }

    @Test("[service] admins and [rooms] creation, with errors that name the key")
    func adminsAndCreation() throws {
        let configuration = try parse(Self.valid + """

            [service]
            admins = ["admin@example.org", "ops@example.org"]

            [rooms]
            creation = "local"
            """)
        #expect(configuration.service.admins == [try JID("admin@example.org"), try JID("ops@example.org")])
        #expect(configuration.rooms.creation == .local)
        #expect(configuration.rooms.localDomain == "example.org")
        #expect(try parse(Self.valid).rooms.creation == .anyone)
        #expect(error(Self.valid + "\n[service]\nadmins = [\"not a jid@\"]\n")?.key == "service.admins")
        #expect(error(Self.valid + "\n[service]\nadmins = \"admin@example.org\"\n")?.key == "service.admins")
        #expect(error(Self.valid + "\n[rooms]\ncreation = \"nobody\"\n")?.key == "rooms.creation")
    }

    private func withComponent(_ lines: String) -> String {
        Self.valid.replacingOccurrences(of: "secret = \"s3cret\"", with: "secret = \"s3cret\"\n" + lines)
    }

    @Test("component TLS: off by default; a pin or a CA file; the server name defaults to the parent domain")
    func componentTLS() throws {
        #expect(try parse(Self.valid).component.tls == nil)
        let pinned = try parse(withComponent("tls = true\ntls_fingerprint = \"sha256:" + Array(repeating: "0a", count: 32).joined(separator: ":") + "\""))
        #expect(pinned.component.tls?.pinnedSHA256 == Array(repeating: 0x0A, count: 32))
        #expect(pinned.component.tls?.serverName == "example.org")
        #expect(error(withComponent("tls = true\ntls_fingerprint = \"sha256:AB\""))?.key == "component.tls_fingerprint")
        #expect(error(withComponent("tls_fingerprint = \"sha256:AB\""))?.key == "component.tls_fingerprint")
        #expect(error(withComponent("tls = true\ntls_ca_file = \"/nonexistent/ca.pem\""))?.key == "component.tls_ca_file")
        #expect(error(withComponent("tls = \"yes\""))?.key == "component.tls")
    }

    @Test("multicast: auto by default, off, or a service JID; anything else names the key")
    func multicast() throws {
        #expect(try parse(Self.valid).multicast.mode == .auto)
        #expect(try parse(Self.valid).multicast.server == "example.org")
        #expect(try parse(withComponent("multicast = \"off\"")).multicast.mode == .off)
        #expect(try parse(withComponent("multicast = \"multicast.example.org\"")).multicast.mode
                == .service(try JID("multicast.example.org")))
        #expect(error(withComponent("multicast = \"room@x/y\""))?.key == "component.multicast")
        #expect(error(withComponent("multicast_max_addresses = 1"))?.key == "component.multicast_max_addresses")
    }
}
