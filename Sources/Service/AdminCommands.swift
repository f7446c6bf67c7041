import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

/// XEP-0133 service administration over XEP-0050 ad-hoc commands at the
/// service JID, for `[service] admins` only: list rooms, destroy a room, send
/// an announcement, show statistics. Everyone else sees no commands and is
/// refused with `forbidden`.
public struct AdminCommands: ServiceIQHandler {
    /// The `FORM_TYPE` of Parley's own commands (XEP-0133's announce keeps its own).
    public static let formType = "parley:admin"

    /// The commands, by node.
    public enum Command: String, Sendable, CaseIterable {
        case listRooms = "parley:admin#list-rooms"
        case destroyRoom = "parley:admin#destroy-room"
        case announce = "http://jabber.org/protocol/admin#announce"
        case statistics = "parley:admin#stats"
        case webLogs = "parley:admin#weblogs"

        public var name: String {
            switch self {
            case .listRooms: "List rooms"
            case .destroyRoom: "Destroy a room"
            case .announce: "Send an announcement to everyone in a room"
            case .statistics: "Service statistics"
            case .webLogs: "Take a room's web logs off the web, or allow them again"
            }
        }

        /// Commands that ask for a form before they act.
        var takesForm: Bool { self == .destroyRoom || self == .announce }
    }

    /// What the statistics and the room list read besides the rooms in memory.
    public struct Sources: Sendable {
        public var storeStatistics: @Sendable () async -> StoreStatistics?
        /// Persistent rooms with their archive figures (a read connection of their own).
        public var roomSummaries: @Sendable () async -> [AdminDatabase.RoomSummary]?
        public var started: Date

        public init(
            storeStatistics: @escaping @Sendable () async -> StoreStatistics? = { nil },
            roomSummaries: @escaping @Sendable () async -> [AdminDatabase.RoomSummary]? = { nil },
            started: Date = Date()
        ) {
            self.storeStatistics = storeStatistics
            self.roomSummaries = roomSummaries
            self.started = started
        }
    }

    public let namespace = Namespace.commands
    public let types: Set<IQ.Kind> = [.set]
    public let discoFeatures = [Namespace.commands]
    let domain: JID
    let admins: Set<JID>
    let rooms: RoomHost
    let sources: Sources
    let sessions = CommandSessions()
    /// The most rows `list-rooms` puts in one answer (the component's stanza limit).
    static let maximumListedRooms = 200

    public init(domain: JID, admins: Set<JID>, rooms: RoomHost, sources: Sources = Sources()) {
        self.domain = domain
        self.admins = admins
        self.rooms = rooms
        self.sources = sources
    }

    func isAdmin(_ user: JID) -> Bool {
        admins.contains(user.bare)
    }

    // MARK: - Discovery (XEP-0050 §2.2)

    /// disco#items of the commands node: the commands this user may run (none for non-admins).
    func items(for user: JID) -> XMLElement {
        var query = XMLElement("query", namespace: Namespace.discoItems, attributes: ["node": Namespace.commands])
        if isAdmin(user) {
            for command in Command.allCases {
                query.append(DiscoItem(jid: domain, node: command.rawValue, name: command.name).element)
            }
        }
        return query
    }

    /// disco#info of one command node, or nil when the node is not one this user may see.
    func info(node: String, for user: JID) -> XMLElement? {
        guard isAdmin(user) else { return nil }
        if node == Namespace.commands {
            return DiscoInfo(node: node, identities: [], features: [Namespace.commands]).element
        }
        guard let command = Command(rawValue: node) else { return nil }
        return DiscoInfo(
            node: node, identities: [DiscoIdentity(category: "automation", type: "command-node", name: command.name)],
            features: [Namespace.commands, Namespace.dataForms]).element
    }

    // MARK: - Execution (XEP-0050 §3)

    public func handle(_ iq: IQ) async throws(StanzaError) -> XMLElement? {
        preconditionFailure("answered by responses(to:)")
    }

    public func responses(to iq: IQ) async -> [XMLElement] {
        do {
            let (answer, outbound) = try await run(iq)
            return [iq.result(answer)] + outbound.stanzas
        } catch {
            return [iq.error(error)]
        }
    }

    private func run(_ iq: IQ) async throws(StanzaError) -> (XMLElement, [Outbound]) {
        guard let request = iq.payload, request.name == "command", let node = request[attribute: "node"] else {
            throw StanzaError(.badRequest, text: "a <command/> with a node is expected")
        }
        guard isAdmin(iq.from) else {
            throw StanzaError(.forbidden, text: "only the service's admins run commands here")
        }
        guard let command = Command(rawValue: node) else {
            throw StanzaError(.itemNotFound, text: "no command \(node)")
        }
        let action = request[attribute: "action"] ?? "execute"
        let sessionID = request[attribute: "sessionid"]
        if let sessionID, !(await sessions.belongs(sessionID, to: iq.from, node: node)) {
            throw Self.commandError(.badRequest, "bad-sessionid", text: "no such command session (it may have expired)")
        }
        switch action {
        case "cancel":
            if let sessionID { await sessions.end(sessionID) }
            return (Self.reply(node: node, session: sessionID ?? Self.newSessionID(), status: "canceled"), [])
        case "execute", "complete":
            break
        default:
            // Every command here has one stage: there is no next or previous stage.
            throw Self.commandError(.badRequest, "bad-action", text: "\(action) is not offered by this command")
        }
        let submitted = request.child("x", namespace: Namespace.dataForms).flatMap { try? DataForm(element: $0) }
        if command.takesForm, submitted?.type != .submit {
            let session = sessionID ?? Self.newSessionID()
            await sessions.begin(session, user: iq.from, node: node)
            var answer = Self.reply(node: node, session: session, status: "executing")
            answer.append(XMLElement(
                "actions", namespace: Namespace.commands, attributes: ["execute": "complete"],
                children: [.element(XMLElement("complete", namespace: Namespace.commands))]))
            answer.append(form(for: command).element)
            return (answer, [])
        }
        if let sessionID { await sessions.end(sessionID) }
        let session = sessionID ?? Self.newSessionID()
        switch command {
        case .listRooms:
            return (await listRooms(node: node, session: session), [])
        case .statistics:
            return (await statistics(node: node, session: session), [])
        case .destroyRoom:
            return try await destroyRoom(submitted ?? DataForm(type: .submit), by: iq.from, node: node, session: session)
        case .announce:
            return try await announce(submitted ?? DataForm(type: .submit), node: node, session: session)
        case .webLogs:
            return (try await webLogs(submitted ?? DataForm(type: .submit), node: node, session: session), [])
        }
    }

    private func form(for command: Command) -> DataForm {
        switch command {
        case .destroyRoom:
            DataForm(
                type: .form, title: "Destroy a room",
                instructions: ["Everyone in the room leaves with the reason and the new address; its archive ends."],
                fields: [
                    .init("FORM_TYPE", type: .hidden, values: [Self.formType]),
                    .init("room", type: .jidSingle, label: "Room", isRequired: true),
                    .init("reason", type: .textSingle, label: "Reason"),
                    .init("alternate", type: .jidSingle, label: "Where the room continues (optional)"),
                ])
        case .announce:
            DataForm(
                type: .form, title: "Making an announcement",
                instructions: ["Sent now to everyone who is in a room of this service."],
                fields: [
                    .init("FORM_TYPE", type: .hidden, values: ["http://jabber.org/protocol/admin"]),
                    .init("announcement", type: .textMulti, label: "Announcement", isRequired: true),
                    .init("audience", type: .listSingle, label: "Send it", values: [RoomHost.Audience.rooms.rawValue],
                          options: [
                              .init(label: "in every room, from the room", value: RoomHost.Audience.rooms.rawValue),
                              .init(label: "to every user, from the service", value: RoomHost.Audience.users.rawValue),
                          ]),
                ])
        case .webLogs:
            DataForm(
                type: .form, title: "Web logs of a room",
                instructions: ["Hidden: off the web at once, and its owners cannot publish it until you allow it again."],
                fields: [
                    .init("FORM_TYPE", type: .hidden, values: [Self.formType]),
                    .init("room", type: .jidSingle, label: "Room", isRequired: true),
                    .init("hidden", type: .boolean, label: "Hide the room's web logs", values: ["1"]),
                ])
        case .listRooms, .statistics:
            DataForm(type: .form)
        }
    }

    private func webLogs(_ form: DataForm, node: String, session: String) async throws(StanzaError) -> XMLElement {
        let room = try roomField(form)
        let hidden = form.field("hidden")?.booleanValue ?? true
        switch await rooms.hideWebLogs(room, hidden: hidden) {
        case .success(let wasPublished):
            var answer = Self.reply(node: node, session: session, status: "completed")
            answer.append(Self.note(hidden
                ? "\(room) is off the web\(wasPublished ? "" : " (it was not published)"); its owners cannot publish it until you allow it"
                : "\(room): its owners may publish its web logs again"))
            return answer
        case .failure(let error):
            throw error
        }
    }

    /// The `room` field of a command form: a room of this service.
    private func roomField(_ form: DataForm) throws(StanzaError) -> JID {
        guard let value = form.field("room")?.value, !value.isEmpty else {
            throw StanzaError(.badRequest, text: "the room field is required")
        }
        guard let room = try? JID(value), room.localpart != nil, room.resourcepart == nil,
              room.domainpart == domain.domainpart else {
            throw StanzaError(.jidMalformed, text: "\(value) is not a room of \(domain)")
        }
        return room
    }

    private func listRooms(node: String, session: String) async -> XMLElement {
        struct Row { var jid: String; var name: String; var occupants: Int; var followers: Int?; var messages: Int?; var last: Double? }
        var rows: [String: Row] = [:]
        for summary in await sources.roomSummaries() ?? [] {
            rows[summary.jid] = Row(
                jid: summary.jid, name: summary.name, occupants: 0, followers: summary.followers,
                messages: summary.messages, last: summary.lastMessage)
        }
        for room in await rooms.occupancy() {
            rows[room.jid.description, default: Row(jid: room.jid.description, name: room.name, occupants: 0)]
                .occupants = room.occupants
        }
        let sorted = rows.values.sorted {
            ($0.occupants, $0.last ?? 0, $1.jid) > ($1.occupants, $1.last ?? 0, $0.jid)
        }
        let shown = sorted.prefix(Self.maximumListedRooms)
        let columns: [DataForm.Field] = [
            .init("room", type: .jidSingle, label: "Room"), .init("name", type: .textSingle, label: "Name"),
            .init("occupants", type: .textSingle, label: "Occupants"),
            .init("followers", type: .textSingle, label: "Followers"),
            .init("messages", type: .textSingle, label: "Messages"),
            .init("last-message", type: .textSingle, label: "Last message"),
        ]
        let items = shown.map { row -> [DataForm.Field] in
            [
                .init("room", values: [row.jid]), .init("name", values: [row.name]),
                .init("occupants", values: [String(row.occupants)]),
                .init("followers", values: [row.followers.map(String.init) ?? "-"]),
                .init("messages", values: [row.messages.map(String.init) ?? "-"]),
                .init("last-message", values: [row.last.map { DateTime.format($0) } ?? "-"]),
            ]
        }
        let form = DataForm(
            type: .result, title: "Rooms",
            fields: [.init("FORM_TYPE", type: .hidden, values: [Self.formType])], reported: columns, items: items)
        var answer = Self.reply(node: node, session: session, status: "completed")
        let note = sorted.count > shown.count
            ? "\(sorted.count) rooms, the \(shown.count) busiest shown; `parley rooms list` shows every one"
            : "\(sorted.count) rooms"
        answer.append(Self.note(note))
        answer.append(form.element)
        return answer
    }

    private func statistics(node: String, session: String) async -> XMLElement {
        let stored = await sources.storeStatistics()
        let occupancy = await rooms.occupancy()
        var fields: [DataForm.Field] = [
            .init("FORM_TYPE", type: .hidden, values: [Self.formType]),
            .init("version", type: .textSingle, label: "Version", values: [ParleyVersion.current]),
            .init("uptime", type: .textSingle, label: "Seconds since start",
                  values: [String(Int(Date().timeIntervalSince(sources.started)))]),
            .init("rooms-loaded", type: .textSingle, label: "Rooms with occupants", values: [String(occupancy.count)]),
            .init("occupants", type: .textSingle, label: "Occupants", values: [String(occupancy.reduce(0) { $0 + $1.occupants })]),
        ]
        if let stored {
            fields += [
                .init("rooms-persistent", type: .textSingle, label: "Persistent rooms", values: [String(stored.persistentRooms)]),
                .init("followers", type: .textSingle, label: "Follows", values: [String(stored.followers)]),
                .init("database-bytes", type: .textSingle, label: "Database size (bytes)", values: [String(stored.databaseBytes)]),
            ]
        }
        var answer = Self.reply(node: node, session: session, status: "completed")
        answer.append(DataForm(type: .result, title: "Service statistics", fields: fields).element)
        return answer
    }

    private func destroyRoom(
        _ form: DataForm, by admin: JID, node: String, session: String
    ) async throws(StanzaError) -> (XMLElement, [Outbound]) {
        let room = try roomField(form)
        var alternate: JID? = nil
        if let value = form.field("alternate")?.value, !value.isEmpty {
            guard let venue = try? JID(value) else { throw StanzaError(.jidMalformed, text: "\(value) is not a JID") }
            alternate = venue
        }
        switch await rooms.destroy(room, by: admin, reason: form.field("reason")?.value, alternate: alternate) {
        case .success(let outbound):
            var answer = Self.reply(node: node, session: session, status: "completed")
            answer.append(Self.note("\(room) destroyed"))
            return (answer, outbound)
        case .failure(let error):
            throw error
        }
    }

    private func announce(_ form: DataForm, node: String, session: String) async throws(StanzaError) -> (XMLElement, [Outbound]) {
        let text = (form.field("announcement")?.values ?? []).joined(separator: "\n")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw StanzaError(.badRequest, text: "the announcement is empty")
        }
        guard text.utf8.count <= Self.maximumAnnouncementBytes else {
            throw StanzaError(.notAcceptable, text: "an announcement has at most \(Self.maximumAnnouncementBytes) bytes")
        }
        let value = form.field("audience")?.value ?? RoomHost.Audience.rooms.rawValue
        guard let audience = RoomHost.Audience(rawValue: value) else {
            throw StanzaError(.badRequest, text: "audience is rooms or users")
        }
        let (reached, outbound) = await rooms.announce(text, to: audience, from: domain)
        var answer = Self.reply(node: node, session: session, status: "completed")
        answer.append(Self.note("sent \(audience == .rooms ? "in \(reached) rooms" : "to \(reached) users")"))
        return (answer, outbound)
    }

    static let maximumAnnouncementBytes = 16 * 1024

    // MARK: - Building answers

    static func reply(node: String, session: String, status: String) -> XMLElement {
        XMLElement("command", namespace: Namespace.commands, attributes: ["node": node, "sessionid": session, "status": status])
    }

    static func note(_ text: String) -> XMLElement {
        XMLElement("note", namespace: Namespace.commands, attributes: ["type": "info"], children: [.text(text)])
    }

    /// XEP-0050 §4.6: a stanza error with the commands namespace's own condition.
    static func commandError(_ condition: StanzaError.Condition, _ specific: String, text: String) -> StanzaError {
        StanzaError(condition, text: text, applicationCondition: XMLElement(specific, namespace: Namespace.commands))
    }

    static func newSessionID() -> String {
        RoomHost.token(bytes: 12)
    }
}

/// The sessions of commands that are waiting for their form: which user and
/// which command each belongs to. Few, short-lived, and bounded.
actor CommandSessions {
    private var open: [String: (user: JID, node: String, started: Date)] = [:]
    static let lifetime: TimeInterval = 600
    static let maximum = 256

    func begin(_ id: String, user: JID, node: String) {
        let now = Date()
        open = open.filter { now.timeIntervalSince($0.value.started) < Self.lifetime }
        if open.count >= Self.maximum, let oldest = open.min(by: { $0.value.started < $1.value.started }) {
            open[oldest.key] = nil
        }
        open[id] = (user, node, now)
    }

    /// A session belongs to the full JID that began it, for the same command, while it lives.
    func belongs(_ id: String, to user: JID, node: String) -> Bool {
        guard let session = open[id] else { return false }
        return session.user == user && session.node == node
            && Date().timeIntervalSince(session.started) < Self.lifetime
    }

    func end(_ id: String) {
        open[id] = nil
    }
}
