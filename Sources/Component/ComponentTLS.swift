/// Direct TLS on the component link (`[component] tls = true`): how the
/// server's certificate is checked.
public struct ComponentTLS: Sendable, Hashable {
    /// The name the certificate must carry (and the SNI sent).
    public var serverName: String
    /// PEM file of the CAs to trust; nil: the system's (OpenSSL's default paths).
    public var caFile: String?
    /// SHA-256 of the certificate (DER) to accept, whatever signed it; when set, nothing else is checked.
    public var pinnedSHA256: [UInt8]?

    public init(serverName: String, caFile: String? = nil, pinnedSHA256: [UInt8]? = nil) {
        self.serverName = serverName
        self.caFile = caFile
        self.pinnedSHA256 = pinnedSHA256
    }

    /// Parses `sha256:AB:CD:…` or plain hex (colons optional), as `openssl x509 -fingerprint -sha256` prints it.
    public static func fingerprint(_ text: String) -> [UInt8]? {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        if hex.hasPrefix("sha256 fingerprint=") { hex.removeFirst(19) }
        hex.removeAll { $0 == ":" || $0 == " " }
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

/// Why TLS on the component link failed.
public struct ComponentTLSError: Error, CustomStringConvertible {
    public let description: String
}
