import XMLStream
import XMPPCore

/// How stanzas appear in the debug log (`--log-level debug`): the XML as sent,
/// with what people wrote (bodies, subjects) replaced by its size unless the
/// admin asked for it (`--log-stanza-bodies`). Room passwords never appear.
public struct StanzaLog: Sendable, Hashable {
    public var includesBodies: Bool

    public init(includesBodies: Bool = false) {
        self.includesBodies = includesBodies
    }

    /// One line for one stanza.
    public func line(_ stanza: XMLElement) -> String {
        XMLSerializer.serialize(redacted(stanza), inheritedNamespace: Namespace.client)
    }

    /// The stanza with private text replaced by `[N bytes]`.
    func redacted(_ element: XMLElement) -> XMLElement {
        var copy = element
        // Passwords: <password/> (entering), the room secret in configuration forms, MucSub's attribute.
        if copy[attribute: "password"] != nil { copy[attribute: "password"] = "[redacted]" }
        if element.name == "field", element[attribute: "var"] == "muc#roomconfig_roomsecret" {
            copy.children = copy.children.map { node in
                guard case .element(var value) = node, value.name == "value" else { return node }
                value.children = [.text("[redacted]")]
                return .element(value)
            }
            return copy
        }
        let hidesText = element.name == "password" || (!includesBodies && Self.writtenByPeople.contains(element.name))
        if hidesText {
            let size = element.text.utf8.count
            copy.children = copy.children.filter { if case .element = $0 { true } else { false } }
            if size > 0 { copy.children.insert(.text("[\(size) bytes]"), at: 0) }
        }
        copy.children = copy.children.map { node in
            if case .element(let child) = node { return .element(redacted(child)) }
            return node
        }
        return copy
    }

    private static let writtenByPeople: Set<String> = ["body", "subject", "status", "reason"]
}
