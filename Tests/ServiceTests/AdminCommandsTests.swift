import Logging
import MUC
import Service
import Storage
import Testing
import XMLStream
import XMPPCore

@Suite("XEP-0133 admin commands at the service JID")
struct AdminCommandsTests {
    let domain = try! JID("rooms.localhost")
    let rooms: RoomHost
    let router: Router

    init() {
        rooms = RoomHost(
            domain: domain, store: InMemoryRoomStore(), serviceAdmins: [try! JID("grace@localhost")],
            webLogs: WebLogsPolicy(isEnabled: true), logger: Logger(label: "test"))
        router = Router(
            domain: domain, serviceName: "Test rooms", rooms: rooms,
            commands: AdminCommands(domain: domain, admins: [try! JID("grace@localhost")], rooms: rooms),
            logger: Logger(label: "test"))
    }

    private func stanza(_ name: String, from: String, to: String = "rooms.localhost", type: String? = nil,
                        _ children: [XMLElement] = []) -> XMLElement {
        XMLElement(name, namespace: Namespace.client,
                   attributes: ["from": from, "to": to, "id": "c1", "type": type],
                   children: children.map { .element($0) })
    }

    private func command(_ node: String, from: String = "grace@localhost/desk", action: String? = nil,
                         session: String? = nil, form: [String: String]? = nil) -> XMLElement {
        var command = XMLElement("command", namespace: Namespace.commands,
                                 attributes: ["node": node, "action": action, "sessionid": session])
        if let form {
            command.append(DataForm(type: .submit, fields: form.sorted { $0.key < $1.key }.map {
                DataForm.Field($0.key, values: [$0.value])
            }).element)
        }
        return stanza("iq", from: from, type: "set", [command])
    }

    private func condition(_ reply: XMLElement?) -> StanzaError.Condition? {
        reply.flatMap { StanzaError(errorStanza: $0) }?.condition
    }

    @Test("an admin sees four commands; anyone else sees none and is refused each")
    func visibility() async throws {
        let itemsQuery = XMLElement("query", namespace: Namespace.discoItems, attributes: ["node": Namespace.commands])
        let forAdmin = await router.handle(stanza("iq", from: "grace@localhost/desk", type: "get", [itemsQuery])).stanzas
        #expect(forAdmin.first?.child("query", namespace: Namespace.discoItems)?.elements.count == 5)
        let forUser = await router.handle(stanza("iq", from: "erin@localhost/x", type: "get", [itemsQuery])).stanzas
        #expect(forUser.first?.child("query", namespace: Namespace.discoItems)?.elements.isEmpty == true)
        for node in AdminCommands.Command.allCases.map(\.rawValue) {
            let reply = await router.handle(command(node, from: "erin@localhost/x")).stanzas
            #expect(condition(reply.first) == .forbidden, "\(node)")
        }
    }

    @Test("destroy asks for a form in a session, then destroys the room its occupants are in")
    func destroyInTwoSteps() async throws {
        _ = await router.handle(stanza("presence", from: "alice@localhost/a", to: "doomed@rooms.localhost/Alice",
                                       [XMLElement("x", namespace: "http://jabber.org/protocol/muc")]))
        let first = try #require(await router.handle(command(AdminCommands.Command.destroyRoom.rawValue)).stanzas.first)
        let executing = try #require(first.child("command", namespace: Namespace.commands))
        #expect(executing[attribute: "status"] == "executing")
        let session = try #require(executing[attribute: "sessionid"])
        // Another session id, or the same one for another command, is refused.
        let wrong = await router.handle(command(
            AdminCommands.Command.announce.rawValue, action: "complete", session: session, form: ["announcement": "x"])).stanzas
        #expect(condition(wrong.first) == .badRequest)

        let done = await router.handle(command(
            AdminCommands.Command.destroyRoom.rawValue, action: "complete", session: session,
            form: ["room": "doomed@rooms.localhost", "reason": "closing"])).stanzas
        let result = try #require(done.first)
        #expect(result.child("command", namespace: Namespace.commands)?[attribute: "status"] == "completed")
        let gone = try #require(done.first { $0.name == "presence" })
        #expect(gone[attribute: "to"] == "alice@localhost/a")
        #expect(gone[attribute: "type"] == "unavailable")
        #expect(await rooms.occupancy().isEmpty)
        // The session is used up.
        let again = await router.handle(command(
            AdminCommands.Command.destroyRoom.rawValue, action: "complete", session: session,
            form: ["room": "doomed@rooms.localhost"])).stanzas
        #expect(condition(again.first) == .badRequest)
    }

    @Test("a room of another service, or none, is refused")
    func destroyRefusals() async {
        let elsewhere = await router.handle(command(
            AdminCommands.Command.destroyRoom.rawValue, form: ["room": "x@conference.example.org"])).stanzas
        #expect(condition(elsewhere.first) == .jidMalformed)
        let missing = await router.handle(command(
            AdminCommands.Command.destroyRoom.rawValue, form: ["room": "nothere@rooms.localhost"])).stanzas
        #expect(condition(missing.first) == .itemNotFound)
    }

    @Test("an admin hides a room's web logs: off at once, the owner's form refused until allowed again")
    func hideWebLogs() async throws {
        func configure(_ value: String) async -> XMLElement? {
            let form = DataForm(type: .submit, fields: [
                DataForm.Field("FORM_TYPE", values: ["http://jabber.org/protocol/muc#roomconfig"]),
                DataForm.Field("parley#roomconfig_weblogs", values: [value]),
            ])
            return await router.handle(stanza("iq", from: "alice@localhost/a", to: "pub@rooms.localhost", type: "set",
                                              [XMLElement("query", namespace: "http://jabber.org/protocol/muc#owner",
                                                          children: [.element(form.element)])])).stanzas.first
        }
        _ = await router.handle(stanza("presence", from: "alice@localhost/a", to: "pub@rooms.localhost/Alice",
                                       [XMLElement("x", namespace: "http://jabber.org/protocol/muc")]))
        #expect(await configure("1")?[attribute: "type"] == "result")
        let hide = try #require(await router.handle(command(
            AdminCommands.Command.webLogs.rawValue, form: ["room": "pub@rooms.localhost", "hidden": "1"])).stanzas.first)
        #expect(hide.child("command", namespace: Namespace.commands)?[attribute: "status"] == "completed")
        #expect(condition(await configure("1")) == .notAllowed)
        _ = await router.handle(command(
            AdminCommands.Command.webLogs.rawValue, form: ["room": "pub@rooms.localhost", "hidden": "0"]))
        #expect(await configure("1")?[attribute: "type"] == "result")
        let missing = await router.handle(command(
            AdminCommands.Command.webLogs.rawValue, form: ["room": "nothere@rooms.localhost"])).stanzas
        #expect(condition(missing.first) == .itemNotFound)
    }

    @Test("statistics answer at once with the figures of the rooms in memory")
    func statistics() async throws {
        _ = await router.handle(stanza("presence", from: "alice@localhost/a", to: "busy@rooms.localhost/Alice",
                                       [XMLElement("x", namespace: "http://jabber.org/protocol/muc")]))
        let reply = try #require(await router.handle(command(AdminCommands.Command.statistics.rawValue)).stanzas.first)
        let answer = try #require(reply.child("command", namespace: Namespace.commands))
        #expect(answer[attribute: "status"] == "completed")
        let form = try DataForm(element: try #require(answer.child("x", namespace: Namespace.dataForms)))
        #expect(form.field("occupants")?.value == "1")
        #expect(form.field("rooms-loaded")?.value == "1")
    }

    @Test("cancel ends the session; an unknown action is bad-action")
    func cancelAndActions() async throws {
        let first = try #require(await router.handle(command(AdminCommands.Command.announce.rawValue)).stanzas.first)
        let session = try #require(first.child("command", namespace: Namespace.commands)?[attribute: "sessionid"])
        let canceled = await router.handle(command(AdminCommands.Command.announce.rawValue, action: "cancel", session: session)).stanzas
        #expect(canceled.first?.child("command", namespace: Namespace.commands)?[attribute: "status"] == "canceled")
        let previous = await router.handle(command(AdminCommands.Command.statistics.rawValue, action: "prev")).stanzas
        let error = try #require(previous.first.flatMap { StanzaError(errorStanza: $0) })
        #expect(error.condition == .badRequest)
        #expect(error.applicationCondition?.name == "bad-action")
    }
}
