import Foundation
import MUC
import Storage
import Testing
import WebLogs
import XMLStream
import XMPPCore

/// The site over a real database, driven without sockets.
@Suite("Web logs: pages, access, caching")
struct WebLogSiteTests {
    let path: String
    let store: SQLiteRoomStore
    let site: WebLogSite
    static let service = try! JID("rooms.localhost")
    static let lobby = try! JID("lobby@rooms.localhost")
    /// 2025-12-05 10:00 UTC; "today" is 2025-12-07.
    static let start = 1_764_928_800.0
    static let today = start + 2 * 86_400

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-web-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("test.sqlite").path
        store = try SQLiteRoomStore(path: path)
        site = WebLogSite(
            settings: .init(service: Self.service, policy: WebLogsPolicy(isEnabled: true), searchesPerMinute: 3),
            published: store.published, readers: try ArchiveReaders(path: path, count: 1, budget: 1),
            occupants: { rooms in Dictionary(uniqueKeysWithValues: rooms.map { ($0, 4) }) }, now: { Self.today })
    }

    func save(_ room: JID = lobby, name: String = "The Lobby", _ change: (inout RoomConfiguration) -> Void = { _ in }) async throws {
        var configuration = RoomConfiguration()
        configuration.name = name
        configuration.webLogs = true
        change(&configuration)
        try await store.saveRoom(RoomRecord(
            jid: room, configuration: configuration, affiliations: [try JID("alice@localhost"): .owner], registeredNicks: [:],
            subject: RoomSubject(text: "Release <b>planning</b>", nick: "alice", date: Self.start - 60),
            occupantIDSalt: "salt", created: 1))
    }

    static func message(_ id: String, _ body: String, at time: Double, nick: String = "bob", room: JID = lobby) -> ArchivedMessage {
        var stanza = XMLElement("message", namespace: Namespace.client, attributes: ["from": "\(room)/\(nick)", "type": "groupchat"])
        stanza.append(XMLElement("body", namespace: Namespace.client, text: body))
        return ArchivedMessage(
            stanzaID: id, room: room, timestamp: time, nick: nick, senderJID: try? JID("\(nick)@secret.example"), body: body,
            stanza: stanza)
    }

    func get(_ path: String, ifNoneMatch: String? = nil, from address: String = "192.0.2.1") async -> (WebResponse, String) {
        let parts = path.split(separator: "?", maxSplits: 1)
        let response = await site.respond(to: WebRequest(
            path: parts[0], query: WebRequest.parseQuery(parts.count > 1 ? String(parts[1]) : ""), clientAddress: address,
            ifNoneMatch: ifNoneMatch))
        return (response, String(buffer: response.body))
    }

    func fill() async throws {
        try await save()
        try await store.append([
            Self.message("m1", "hello <script>alert(1)</script> see https://example.org/x", at: Self.start),
            Self.message("m2", "/me deploys on friday", at: Self.start + 60, nick: "carol"),
            Self.message("m3", "spam spam", at: Self.start + 120, nick: "mallory"),
            Self.message("m4", "next day: Déploiement done", at: Self.start + 86_400),
        ], occupancy: [])
        _ = try await store.retract(Self.lobby, Retraction(
            stanzaID: "m3", moderator: try JID("lobby@rooms.localhost/alice"), moderatorOccupantID: "o", reason: "spam",
            timestamp: Self.start + 130))
    }

    @Test("a day shows messages, actions, subject changes and tombstones in order, escaped, without JIDs")
    func dayPage() async throws {
        try await fill()
        let (response, html) = await get("/lobby/2025-12-05")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/html; charset=utf-8")
        #expect(response.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        #expect(response.header("ETag") != nil && response.header("Last-Modified") != nil)
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"))
        #expect(html.contains("<a href=\"https://example.org/x\" rel=\"nofollow ugc noopener\">"))
        #expect(html.contains("* carol deploys on friday"))
        #expect(html.contains("alice changed the subject to: Release &lt;b&gt;planning&lt;/b&gt;"))
        #expect(html.contains("message removed by a moderator: spam") && !html.contains("spam spam"))
        #expect(html.contains("<li id=\"m1\"") && html.contains("<time datetime=\"2025-12-05T10:00:00Z\">10:00</time>"))
        #expect(!html.contains("secret.example") && !html.contains("alice@localhost"))
        #expect(html.range(of: "Release")!.lowerBound < html.range(of: "hello")!.lowerBound)
        #expect(html.contains("href=\"/logs/lobby/2025-12-06\""), "a link to the next day")
    }

    @Test("index, calendar, JSON Lines and the permalink")
    func otherPages() async throws {
        try await fill()
        let (_, index) = await get("/")
        #expect(index.contains("The Lobby") && index.contains("4 in the room now") && index.contains("href=\"/logs/lobby/\""))
        let (_, calendar) = await get("/lobby/")
        #expect(calendar.contains("December 2025") && calendar.contains("href=\"/logs/lobby/2025-12-05\"")
            && calendar.contains("href=\"/logs/lobby/2025-12-06\"") && !calendar.contains("href=\"/logs/lobby/2025-12-07\""))
        let (lines, jsonl) = await get("/lobby/2025-12-05.jsonl")
        #expect(lines.header("Content-Disposition")?.contains("lobby-2025-12-05.jsonl") == true)
        let rows = jsonl.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(rows.map { $0?["type"] } == ["subject", "message", "action", "removed"])
        #expect(rows[1]?["text"] == "hello <script>alert(1)</script> see https://example.org/x")
        #expect(!jsonl.contains("secret.example"))
        let (redirect, _) = await get("/lobby/message/m4")
        #expect(redirect.status == 302 && redirect.header("Location") == "/logs/lobby/2025-12-06#m4")
        #expect(await get("/lobby/message/nope").0.status == 404)
    }

    @Test("private, hidden, unknown and malformed all get the same 404; a room turning private is gone at once")
    func access() async throws {
        try await fill()
        let (unknown, unknownPage) = await get("/nosuchroom/")
        #expect(unknown.status == 404)
        #expect(await get("/lobby/2025-12-05").0.status == 200)
        #expect(await get("/").1.contains("The Lobby"), "listed (and the index kept for a second)")
        try await save { $0.isMembersOnly = true }
        let (closed, closedPage) = await get("/lobby/2025-12-05")
        #expect(closed.status == 404 && closedPage == unknownPage)
        #expect(await get("/lobby/message/m1").0.status == 404)
        #expect(await get("/lobby/search?q=hello").0.status == 404)
        #expect(!(await get("/").1.contains("The Lobby")))
        // Public again, with logs on again: a fresh page, not the one cached before.
        try await save(name: "Lobby again")
        #expect(await get("/lobby/2025-12-05").1.contains("Lobby again"))
        for password in ["secret"] { try await save { $0.password = password } }
        #expect(await get("/lobby/").0.status == 404)
        try await save { $0.isPublic = false }
        #expect(await get("/lobby/").0.status == 404)
        try await save()
        let hidden = WebLogSite(
            settings: .init(service: Self.service, policy: WebLogsPolicy(isEnabled: true, hiddenRooms: [Self.lobby])),
            published: store.published, readers: try ArchiveReaders(path: path, count: 1, budget: 1), occupants: { _ in [:] },
            now: { Self.today })
        #expect(await hidden.respond(to: WebRequest(path: "/lobby/")).status == 404)
        #expect(await get("/lobby/2025-12-08").0.status == 404, "a day in the future")
        // A destroyed room is gone from the web with its archive, and a new room of the same
        // name that publishes starts empty.
        try await store.endRoom(Self.lobby, at: Self.today)
        #expect(await get("/lobby/").0.status == 404)
        try await save()
        #expect(await get("/lobby/message/m1").0.status == 404)
        let (_, fresh) = await get("/lobby/2025-12-05")
        #expect(!fresh.contains("hello") && !fresh.contains("id=\"m1\""), "the old room's messages")
        #expect(await get("/../../etc/passwd").0.status == 404)
    }

    @Test("ETag revalidation answers 304; a moderation changes the page at once")
    func caching() async throws {
        try await fill()
        let (first, _) = await get("/lobby/2025-12-06")
        let etag = try #require(first.header("ETag"))
        #expect(await get("/lobby/2025-12-06", ifNoneMatch: etag).0.status == 304)
        _ = try await store.retract(Self.lobby, Retraction(
            stanzaID: "m4", moderator: try JID("lobby@rooms.localhost/alice"), moderatorOccupantID: "o", reason: nil,
            timestamp: Self.today))
        let (after, html) = await get("/lobby/2025-12-06", ifNoneMatch: etag)
        #expect(after.status == 200 && html.contains("message removed by a moderator") && !html.contains("Déploiement"))
        #expect(await get("/style.css").0.header("Cache-Control") == "public, max-age=86400")
    }

    @Test("search: every word, any case or accent, highlighted, paged, rate-limited per address")
    func search() async throws {
        try await fill()
        let (hit, html) = await get("/lobby/search?q=deploiement+DONE")
        #expect(hit.status == 200 && hit.header("X-Robots-Tag") == "noindex")
        #expect(html.contains("<mark>Déploiement</mark> <mark>done</mark>") && html.contains("href=\"/logs/lobby/2025-12-06#m4\""))
        #expect(!(await get("/lobby/search?q=spam", from: "192.0.2.9").1.contains("<mark>")), "a removed message is not found")
        let (_, script) = await get("/lobby/search?q=script", from: "192.0.2.9")
        #expect(script.contains("&lt;<mark>script</mark>&gt;"))
        // The third search from 192.0.2.9 in a minute is its last.
        #expect(await get("/lobby/search?q=hello", from: "192.0.2.9").0.status == 200)
        let (limited, _) = await get("/lobby/search?q=hello", from: "192.0.2.9")
        #expect(limited.status == 429 && limited.header("Retry-After") != nil)
        #expect(await get("/lobby/search?q=hello", from: "192.0.2.10").0.status == 200)
        #expect(await get("/lobby/search?q=" + String(repeating: "a+", count: 20), from: "192.0.2.11").0.status == 400)
        // IPv6 addresses share a bucket per /64.
        for host in ["1", "2", "3"] { _ = await get("/lobby/search?q=hello", from: "2001:db8:1:2::\(host)") }
        #expect(await get("/lobby/search?q=hello", from: "2001:db8:1:2:ffff::9").0.status == 429)
        #expect(await get("/lobby/search?q=hello", from: "2001:db8:1:3::1").0.status == 200)
        // A query cannot leave the search box's attribute, combining marks or not.
        let (_, box) = await get("/lobby/search?q=%22%CC%81+autofocus+onfocus%3Dalert(1)", from: "192.0.2.12")
        #expect(box.contains("value=\"&quot;\u{301} autofocus onfocus=alert(1)\""))
        #expect(!box.contains("value=\"\"") && !box.contains("\" autofocus"))
    }

    @Test("a removed message's author is not in the download either; a day over its byte budget stops early")
    func budgets() async throws {
        try await fill()
        let (_, jsonl) = await get("/lobby/2025-12-05.jsonl")
        #expect(!jsonl.contains("mallory") && jsonl.contains("\"type\":\"removed\""))
        let small = WebLogSite(
            settings: .init(service: Self.service, policy: WebLogsPolicy(isEnabled: true), maxDayBytes: 10),
            published: store.published, readers: try ArchiveReaders(path: path, count: 1, budget: 1),
            occupants: { _ in [:] }, now: { Self.today })
        let page = String(buffer: await small.respond(to: WebRequest(path: "/lobby/2025-12-05")).body)
        #expect(page.contains("id=\"m1\"") && !page.contains("id=\"m2\""))
    }

    @Test("search pages go back in time by the last hit shown")
    func searchPaging() async throws {
        try await save()
        try await store.append((0..<30).map { Self.message("p\($0)", "needle \($0)", at: Self.start + Double($0)) }, occupancy: [])
        let (_, first) = await get("/lobby/search?q=needle")
        #expect(first.contains("</mark> 29<") && first.contains("</mark> 5<") && !first.contains("</mark> 4<"))
        let older = try #require(first.range(of: "search?q=needle&amp;before=")).upperBound
        let sequence = first[older...].prefix { $0.isNumber }
        let (_, second) = await get("/lobby/search?q=needle&before=\(sequence)")
        #expect(second.contains("</mark> 4<") && second.contains("</mark> 0<") && !second.contains("</mark> 5<"))
    }
}
