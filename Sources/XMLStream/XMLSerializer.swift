/// Writes `XMLElement` values as XML text, declaring namespaces where they
/// change and escaping everything that needs it.
///
/// The output is always well-formed: characters that XML 1.0 forbids are
/// written as U+FFFD, so no string from anywhere can break the stream.
public enum XMLSerializer {
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// Serializes `element` as it would appear inside a parent whose default
    /// namespace is `inheritedNamespace` (no `xmlns` is written where they agree).
    public static func serialize(_ element: XMLElement, inheritedNamespace: String = "") -> String {
        var output = ""
        output.reserveCapacity(256)
        write(element, inheritedNamespace: inheritedNamespace, to: &output)
        return output
    }

    public static func write(_ element: XMLElement, inheritedNamespace: String, to output: inout String) {
        output += "<"
        output += element.name
        if element.namespace != inheritedNamespace {
            output += " xmlns='"
            appendEscaped(element.namespace, to: &output, inAttribute: true)
            output += "'"
        }
        var foreignPrefixes = 0
        for attribute in element.attributes {
            output += " "
            if attribute.name.hasPrefix("{"), let close = attribute.name.firstIndex(of: "}") {
                let uri = attribute.name[attribute.name.index(after: attribute.name.startIndex)..<close]
                let prefix = "a\(foreignPrefixes)"
                foreignPrefixes += 1
                output += "xmlns:\(prefix)='"
                appendEscaped(String(uri), to: &output, inAttribute: true)
                output += "' \(prefix):"
                output += attribute.name[attribute.name.index(after: close)...]
            } else {
                output += attribute.name
            }
            output += "='"
            appendEscaped(attribute.value, to: &output, inAttribute: true)
            output += "'"
        }
        if element.children.isEmpty {
            output += "/>"
            return
        }
        output += ">"
        for child in element.children {
            switch child {
            case .element(let inner):
                write(inner, inheritedNamespace: element.namespace, to: &output)
            case .text(let text):
                appendEscaped(text, to: &output, inAttribute: false)
            }
        }
        output += "</"
        output += element.name
        output += ">"
    }

    /// Appends `text` with the markup characters escaped (RFC 6120 §11.1 wants
    /// all five escaped in attributes; `>` and CR are escaped in text as well so
    /// that a round-trip through any parser gives back the same string).
    public static func appendEscaped(_ text: String, to output: inout String, inAttribute: Bool) {
        if !text.utf8.contains(where: needsEscaping) {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "'": output += inAttribute ? "&apos;" : "'"
            case "\"": output += inAttribute ? "&quot;" : "\""
            case "\r": output += "&#13;"
            case "\n": output += inAttribute ? "&#10;" : "\n"
            case "\t": output += inAttribute ? "&#9;" : "\t"
            default:
                if isAllowedInXML(scalar) {
                    output.unicodeScalars.append(scalar)
                } else {
                    output += "\u{FFFD}"
                }
            }
        }
    }

    /// The length in bytes of the longest tag (`<` to `>`) in this serializer's output:
    /// the longest token a parser can be left holding at the end of a read, since text
    /// is reported as it arrives. Exact because `<` and `>` are escaped everywhere else.
    @inlinable
    public static func longestTag<Bytes: Sequence<UInt8>>(in serialized: Bytes) -> Int {
        var longest = 0
        var offset = 0
        var opened = -1
        for byte in serialized {
            if byte == UInt8(ascii: "<") {
                opened = offset
            } else if byte == UInt8(ascii: ">"), opened >= 0 {
                longest = max(longest, offset - opened + 1)
                opened = -1
            }
            offset += 1
        }
        return longest
    }

    /// Whether `text` can be written as it is (nothing to escape or replace).
    public static func needsNoEscaping(_ text: String, inAttribute: Bool) -> Bool {
        !text.utf8.contains(where: needsEscaping)
    }

    public static func escaped(_ text: String, inAttribute: Bool = false) -> String {
        var output = ""
        appendEscaped(text, to: &output, inAttribute: inAttribute)
        return output
    }

    private static func needsEscaping(_ byte: UInt8) -> Bool {
        // Any control byte (which also catches tab, LF, CR), the five markup characters,
        // and the first byte of U+FFFE/U+FFFF (0xEF) which XML forbids.
        byte < 0x20 || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") || byte == 0xEF
    }

    /// XML 1.0 §2.2 Char production.
    private static func isAllowedInXML(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
