import XMLStream

/// A service discovery identity (XEP-0030 §3.1).
public struct DiscoIdentity: Sendable, Hashable {
    public var category: String
    public var type: String
    public var name: String?

    public init(category: String, type: String, name: String? = nil) {
        self.category = category
        self.type = type
        self.name = name
    }
}

/// The answer to a disco#info query (XEP-0030 §3.1), with XEP-0128 extension forms.
public struct DiscoInfo: Sendable, Hashable {
    public var node: String?
    public var identities: [DiscoIdentity]
    public var features: [String]
    public var extensions: [DataForm]

    public init(node: String? = nil, identities: [DiscoIdentity], features: [String], extensions: [DataForm] = []) {
        self.node = node
        self.identities = identities
        self.features = features
        self.extensions = extensions
    }

    public var element: XMLElement {
        var query = XMLElement("query", namespace: Namespace.discoInfo, attributes: ["node": node])
        for identity in identities {
            query.append(XMLElement(
                "identity", namespace: Namespace.discoInfo,
                attributes: ["category": identity.category, "type": identity.type, "name": identity.name]))
        }
        // XEP-0030 §3.1: each feature once.
        var seen = Set<String>()
        for feature in features where seen.insert(feature).inserted {
            query.append(XMLElement("feature", namespace: Namespace.discoInfo, attributes: ["var": feature]))
        }
        for form in extensions { query.append(form.element) }
        return query
    }
}

/// One item of a disco#items answer (XEP-0030 §4).
public struct DiscoItem: Sendable, Hashable {
    public var jid: JID
    public var node: String?
    public var name: String?

    public init(jid: JID, node: String? = nil, name: String? = nil) {
        self.jid = jid
        self.node = node
        self.name = name
    }

    public var element: XMLElement {
        XMLElement(
            "item", namespace: Namespace.discoItems,
            attributes: ["jid": jid.description, "node": node, "name": name])
    }
}
