import COpenSSL

/// Hashes from OpenSSL's libcrypto, as lowercase hex.
public enum Digest {
    public static func sha1Hex(_ text: String) -> String {
        hex(text, algorithm: EVP_sha1(), expectedLength: 20)
    }

    public static func sha256Hex(_ text: String) -> String {
        hex(text, algorithm: EVP_sha256(), expectedLength: 32)
    }

    private static func hex(_ text: String, algorithm: OpaquePointer?, expectedLength: UInt32) -> String {
        let input = Array(text.utf8)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = input.withUnsafeBytes { bytes in
            EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, algorithm, nil)
        }
        precondition(ok == 1 && length == expectedLength, "OpenSSL could not compute the digest")
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(Int(length) * 2)
        for byte in digest.prefix(Int(length)) {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
