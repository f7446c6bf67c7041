import Foundation

/// Why a string is not a JID (RFC 7622), said so that a stanza error can carry it.
public enum JIDError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case emptyLocalpart
    case emptyDomain
    case emptyResource
    case tooLong(part: String, limit: Int)
    case forbiddenCharacter(part: String, character: Character)
    case invalidDomainLabel(String)

    public var description: String {
        switch self {
        case .empty: "the JID is empty"
        case .emptyLocalpart: "the localpart before '@' is empty"
        case .emptyDomain: "the domainpart is empty"
        case .emptyResource: "the resourcepart after '/' is empty"
        case .tooLong(let part, let limit): "the \(part) is longer than \(limit) bytes"
        case .forbiddenCharacter(let part, let character):
            "the \(part) contains the forbidden character \(character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined())"
        case .invalidDomainLabel(let label): "the domain label '\(label)' is not valid"
        }
    }
}

/// An XMPP address (RFC 7622): `localpart@domainpart/resourcepart`, normalised
/// once at parse time so that equal addresses compare equal.
///
/// Normalisation: the localpart and domainpart are case-folded and put in
/// Unicode NFC (the effect of PRECIS UsernameCaseMapped and IDNA2008 on the
/// addresses that occur in practice); the resourcepart keeps its case (PRECIS
/// OpaqueString) and is only put in NFC. Each part is at most 1023 bytes.
public struct JID: Sendable, Hashable, CustomStringConvertible, Comparable {
    public static let maxPartBytes = 1023

    public let localpart: String?
    public let domainpart: String
    public let resourcepart: String?
    /// The address as text, built once: every stanza written needs it, and it
    /// is what equality and hashing compare (it is unambiguous, since neither
    /// '@' nor '/' can appear where they would confuse it).
    public let description: String

    /// Parses and normalises a JID string.
    public init(_ string: String) throws(JIDError) {
        guard !string.isEmpty else { throw .empty }
        // RFC 7622 §3.1: the first '/' ends the bare JID; the first '@' before it ends the localpart.
        var remainder = Substring(string)
        var resource: String? = nil
        if let slash = remainder.firstIndex(of: "/") {
            resource = String(remainder[remainder.index(after: slash)...])
            remainder = remainder[..<slash]
        }
        var local: String? = nil
        if let at = remainder.firstIndex(of: "@") {
            local = String(remainder[..<at])
            remainder = remainder[remainder.index(after: at)...]
        }
        try self.init(localpart: local, domainpart: String(remainder), resourcepart: resource)
    }

    /// Builds a JID from its parts, normalising and checking each.
    public init(localpart: String?, domainpart: String, resourcepart: String? = nil) throws(JIDError) {
        self.localpart = try localpart.map { part throws(JIDError) in try Self.normaliseLocalpart(part) }
        self.domainpart = try Self.normaliseDomainpart(domainpart)
        self.resourcepart = try resourcepart.map { part throws(JIDError) in try Self.normaliseResourcepart(part) }
        description = Self.render(self.localpart, self.domainpart, self.resourcepart)
    }

    private init(trustedLocal: String?, domain: String, resource: String?) {
        localpart = trustedLocal
        domainpart = domain
        resourcepart = resource
        description = Self.render(trustedLocal, domain, resource)
    }

    private static func render(_ localpart: String?, _ domainpart: String, _ resourcepart: String?) -> String {
        var result = ""
        if let localpart { result += localpart + "@" }
        result += domainpart
        if let resourcepart { result += "/" + resourcepart }
        return result
    }

    public static func == (lhs: JID, rhs: JID) -> Bool { lhs.description == rhs.description }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }

    /// The same address without its resource.
    public var bare: JID { JID(trustedLocal: localpart, domain: domainpart, resource: nil) }

    public var isBare: Bool { resourcepart == nil }

    /// This JID's bare form with the given resource; `resource` must be a valid resourcepart.
    public func withResource(_ resource: String) throws(JIDError) -> JID {
        JID(trustedLocal: localpart, domain: domainpart, resource: try Self.normaliseResourcepart(resource))
    }

    /// The domain alone, as a JID.
    public var domain: JID { JID(trustedLocal: nil, domain: domainpart, resource: nil) }

    public static func < (lhs: JID, rhs: JID) -> Bool { lhs.description < rhs.description }

    // MARK: - Normalisation

    /// RFC 7622 §3.3.1: characters that may not appear in a localpart.
    private static let localpartForbidden: Set<Character> = ["\"", "&", "'", "/", ":", "<", ">", "@"]

    /// ASCII text needs no Unicode normalisation (it is already NFC): only case folding.
    private static func fold(_ raw: String) -> String {
        if raw.utf8.allSatisfy({ $0 < 0x80 }) {
            return raw.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? raw.lowercased() : raw
        }
        return raw.precomposedStringWithCanonicalMapping.lowercased()
    }

    static func normaliseLocalpart(_ raw: String) throws(JIDError) -> String {
        guard !raw.isEmpty else { throw .emptyLocalpart }
        let normalised = fold(raw)
        for character in normalised {
            if localpartForbidden.contains(character) || character.unicodeScalars.contains(where: isSpaceOrControl) {
                throw .forbiddenCharacter(part: "localpart", character: character)
            }
        }
        guard normalised.utf8.count <= maxPartBytes else { throw .tooLong(part: "localpart", limit: maxPartBytes) }
        return normalised
    }

    static func normaliseDomainpart(_ raw: String) throws(JIDError) -> String {
        // RFC 7622 §3.2: a trailing dot is stripped before any other processing.
        var domain = raw.hasSuffix(".") ? String(raw.dropLast()) : raw
        guard !domain.isEmpty else { throw .emptyDomain }
        domain = fold(domain)
        guard domain.utf8.count <= maxPartBytes else { throw .tooLong(part: "domainpart", limit: maxPartBytes) }
        if domain.hasPrefix("[") && domain.hasSuffix("]") { return domain }  // IPv6 literal
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-") else {
                throw .invalidDomainLabel(String(label))
            }
            for scalar in label.unicodeScalars {
                let ascii = scalar.isASCII
                let allowedASCII = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
                    || scalar == "_"
                if (ascii && !allowedASCII) || isSpaceOrControl(scalar) {
                    throw .forbiddenCharacter(part: "domainpart", character: Character(scalar))
                }
            }
        }
        return domain
    }

    static func normaliseResourcepart(_ raw: String) throws(JIDError) -> String {
        guard !raw.isEmpty else { throw .emptyResource }
        let isASCII = raw.utf8.allSatisfy { $0 < 0x80 }
        let normalised = isASCII ? raw : raw.precomposedStringWithCanonicalMapping
        if isASCII {
            // Control characters are the only ASCII a resourcepart may not hold.
            if let control = normalised.utf8.first(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw .forbiddenCharacter(part: "resourcepart", character: Character(Unicode.Scalar(control)))
            }
        }
        for scalar in normalised.unicodeScalars where !isASCII && scalar.properties.generalCategory == .control {
            throw .forbiddenCharacter(part: "resourcepart", character: Character(scalar))
        }
        guard normalised.utf8.count <= maxPartBytes else {
            throw .tooLong(part: "resourcepart", limit: maxPartBytes)
        }
        return normalised
    }

    private static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
    }
}
