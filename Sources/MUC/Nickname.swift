import Foundation

/// Nicks as the PRECIS Nickname profile (RFC 8266) sees them: which may be
/// used at all, and when two are the same. The occupant JID keeps the nick as
/// the user wrote it; only the comparison is loose, so that `Bob`, `bob`,
/// `Ｂｏｂ` and `Bob` with an invisible character cannot pass for each other.
public enum Nickname {
    /// Why a nick may not be used, or nil: RFC 8266 builds on the FreeformClass,
    /// which refuses controls, unassigned and default-ignorable (invisible) code points.
    public static func problem(_ nick: String) -> String? {
        for scalar in nick.unicodeScalars {
            let properties = scalar.properties
            switch properties.generalCategory {
            case .control:
                return "control characters are not allowed in nicks"
            case .unassigned, .surrogate, .privateUse:
                return "unassigned or private-use characters are not allowed in nicks"
            default:
                if properties.isDefaultIgnorableCodePoint {
                    return "invisible characters are not allowed in nicks"
                }
            }
        }
        return key(nick).isEmpty ? "a nick needs a visible character" : nil
    }

    /// The form nicks are compared in (RFC 8266 §2.2 and §2.3): every space
    /// mapped to U+0020, leading and trailing spaces dropped and runs of them
    /// collapsed, NFKC, then lower case.
    public static func key(_ nick: String) -> String {
        var mapped = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in nick.unicodeScalars {
            if scalar.properties.generalCategory == .spaceSeparator {
                pendingSpace = !mapped.isEmpty
                continue
            }
            if pendingSpace { mapped.append(" ") }
            pendingSpace = false
            mapped.append(scalar)
        }
        let text = String(mapped)
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        return text.precomposedStringWithCompatibilityMapping.lowercased()
    }
}
