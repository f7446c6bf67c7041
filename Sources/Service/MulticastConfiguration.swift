import XMPPCore

/// `[component] multicast…`: whether Parley hands its fan-outs to the server's
/// XEP-0033 multicast service, and where that service is.
public struct MulticastConfiguration: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        /// Ask the server (XEP-0033 §3 discovery) and use what it offers.
        case auto
        /// One stanza per recipient, always.
        case off
        /// This JID is the multicast service; no discovery.
        case service(JID)
    }

    public var mode: Mode = .auto
    /// The server domain whose multicast service is discovered (default: the component domain's parent).
    public var server: String
    /// Most addresses in one multicast stanza; the server's limit, when it has one.
    public var maxAddresses: Int = 1000

    public init(mode: Mode = .auto, server: String, maxAddresses: Int = 1000) {
        self.mode = mode
        self.server = server
        self.maxAddresses = maxAddresses
    }
}

extension ConfigurationLoader {
    static func readMulticast(_ table: inout TableReader, componentDomain: String) throws(ConfigurationError) -> MulticastConfiguration {
        let server = try table.optionalString("multicast_server") ?? RoomsConfiguration.parentDomain(of: componentDomain)
        guard (try? JID(server))?.localpart == nil, (try? JID(server))?.resourcepart == nil, (try? JID(server)) != nil else {
            throw table.error("multicast_server", "'\(server)' is not a domain")
        }
        var configuration = MulticastConfiguration(server: server)
        configuration.maxAddresses = try table.optionalInt("multicast_max_addresses", in: 2...100_000) ?? 1000
        switch try table.optionalString("multicast") ?? "auto" {
        case "auto": configuration.mode = .auto
        case "off": configuration.mode = .off
        case let raw:
            guard let jid = try? JID(raw), jid.resourcepart == nil else {
                throw table.error("multicast", "expected \"auto\", \"off\" or the JID of the server's multicast service, got \"\(raw)\"")
            }
            configuration.mode = .service(jid)
        }
        return configuration
    }
}
