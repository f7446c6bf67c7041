import XMLStream
import XMPPCore

/// A MAM query on a room's archive (XEP-0313 §4), parsed from the request
/// once: the form's filters and the RSM page.
public struct ArchiveQuery: Sendable, Hashable {
    public var queryID: String?
    /// Only messages at or after this time (seconds since 1970).
    public var start: Double?
    /// Only messages at or before this time.
    public var end: Double?
    /// Only messages from this occupant nick (`with` = room@service/nick).
    public var nick: String?
    /// `#extended`: only messages after / before these stanza-ids.
    public var afterID: String?
    public var beforeID: String?
    /// `#extended`: exactly these stanza-ids.
    public var ids: [String]?
    /// `{urn:xmpp:fulltext:0}fulltext`: words that must all appear.
    public var fulltext: String?
    public var page: RSMRequest
    /// XEP-0313 §4.1.4 `<flip-page/>`: the page's order is reversed.
    public var flipPage: Bool

    public static let defaultPageSize = 50
    public static let maximumPageSize = 250
    /// `#extended` `ids`: at most a page's worth.
    public static let maximumIDs = 250

    public init(
        queryID: String? = nil, start: Double? = nil, end: Double? = nil, nick: String? = nil, afterID: String? = nil,
        beforeID: String? = nil, ids: [String]? = nil, fulltext: String? = nil, page: RSMRequest = RSMRequest(),
        flipPage: Bool = false
    ) {
        self.queryID = queryID
        self.start = start
        self.end = end
        self.nick = nick
        self.afterID = afterID
        self.beforeID = beforeID
        self.ids = ids
        self.fulltext = fulltext
        self.page = page
        self.flipPage = flipPage
    }

    /// How many results the page may hold.
    public var pageSize: Int {
        min(page.max ?? Self.defaultPageSize, Self.maximumPageSize)
    }

    /// Parses `<query xmlns='urn:xmpp:mam:2'>` addressed to `room`.
    public init(element query: XMLElement, room: JID) throws(StanzaError) {
        self.init(queryID: query[attribute: "queryid"])
        if let formElement = query.child("x", namespace: Namespace.dataForms) {
            let form: DataForm
            do {
                form = try DataForm(element: formElement)
            } catch {
                throw StanzaError(.badRequest, text: "bad form: \(error)")
            }
            if let type = form.formType, type != Namespace.mam {
                throw StanzaError(.badRequest, text: "FORM_TYPE must be \(Namespace.mam)")
            }
            for field in form.fields {
                guard let variable = field.variable, let value = field.value, !value.isEmpty || variable == "ids" else { continue }
                switch variable {
                case "FORM_TYPE": continue
                // Stamps are whole milliseconds; half a millisecond of slack makes a
                // stamp Parley reported select its own message whatever the binary rounding.
                case "start":
                    guard let time = DateTime.parse(value) else { throw StanzaError(.badRequest, text: "start is not a XEP-0082 DateTime") }
                    start = time - 0.0005
                case "end":
                    guard let time = DateTime.parse(value) else { throw StanzaError(.badRequest, text: "end is not a XEP-0082 DateTime") }
                    end = time + 0.0005
                case "with":
                    guard let jid = try? JID(value) else { throw StanzaError(.badRequest, text: "with is not a JID") }
                    guard jid.bare == room, let occupantNick = jid.resourcepart else {
                        // A room's archive knows senders by occupant JID (XEP-0313 §6.1.1).
                        throw StanzaError(.badRequest, text: "with must be an occupant JID of this room")
                    }
                    nick = occupantNick
                case "after-id": afterID = value
                case "before-id": beforeID = value
                case "ids":
                    guard field.values.count <= Self.maximumIDs else {
                        throw StanzaError(.policyViolation, text: "ask for at most \(Self.maximumIDs) ids at once")
                    }
                    ids = field.values
                case "{\(Namespace.fulltext)}fulltext", "fulltext", "search", "withtext": fulltext = value
                default:
                    throw StanzaError(.badRequest, text: "unsupported field '\(variable)'")
                }
            }
        }
        if let set = query.child("set", namespace: Namespace.rsm) {
            do {
                page = try RSMRequest(element: set)
            } catch {
                throw StanzaError(.badRequest, text: "\(error)")
            }
        }
        flipPage = query.child("flip-page", namespace: Namespace.mam) != nil
    }

    /// XEP-0313 §4.1.1: the form a client may ask for, with every field supported.
    public static var form: DataForm {
        typealias F = DataForm.Field
        return DataForm(
            type: .form,
            fields: [
                F("FORM_TYPE", type: .hidden, values: [Namespace.mam]),
                F("with", type: .jidSingle),
                F("start", type: .textSingle),
                F("end", type: .textSingle),
                F("before-id", type: .textSingle),
                F("after-id", type: .textSingle),
                F("ids", type: .listMulti),
                F("{\(Namespace.fulltext)}fulltext", type: .textSingle, label: "Search for words"),
            ])
    }
}

/// One page of archive results, as the store returns it.
public struct ArchivePage: Sendable {
    public var messages: [ArchivedMessage]
    /// Whether this page reaches the end of the results in the paging direction.
    public var isComplete: Bool
    /// How many messages match the filters in all.
    public var count: Int
    /// The position of the first message among all matches.
    public var firstIndex: Int?

    public init(messages: [ArchivedMessage], isComplete: Bool, count: Int, firstIndex: Int?) {
        self.messages = messages
        self.isComplete = isComplete
        self.count = count
        self.firstIndex = firstIndex
    }
}
