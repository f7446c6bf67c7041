/// XEP-0114 §3: the handshake a component sends to prove it knows the shared secret.
public enum ComponentHandshake {
    /// The lowercase hex SHA-1 of the stream id followed by the secret.
    public static func digest(streamID: String, secret: String) -> String {
        Digest.sha1Hex(streamID + secret)
    }
}
