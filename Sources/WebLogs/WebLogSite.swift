import Foundation
import MUC
import NIOCore
import Storage
import XMPPCore

/// An HTTP request as the web logs need it, whatever server carried it.
public struct WebRequest: Sendable {
    /// The path below `/logs`, starting with "/".
    public var path: Substring
    public var query: [String: String]
    /// The client's address, for the search rate limit.
    public var clientAddress: String
    public var ifNoneMatch: String?

    public init(path: Substring, query: [String: String] = [:], clientAddress: String = "", ifNoneMatch: String? = nil) {
        self.path = path
        self.query = query
        self.clientAddress = clientAddress
        self.ifNoneMatch = ifNoneMatch
    }
}

/// What the web logs answer: status, headers, body.
public struct WebResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The web logs: which room and day a path names, whether the room may be shown now,
/// reading on the archive's read connections, rendering, caching and the headers that
/// keep a browser safe. Independent of the HTTP server, so tests drive it directly.
public final class WebLogSite: Sendable {
    public struct Settings: Sendable {
        public var service: JID
        public var policy: WebLogsPolicy
        /// What links start with: `[weblogs] base_url`, or "/logs".
        public var linkBase: String
        public var searchesPerMinute: Int
        public var cacheBytes: Int
        /// A day page shows at most this many messages, of at most this many bytes of text
        /// (a flood cannot make a page of gigabytes); the download and search reach the rest.
        public var maxDayEntries: Int
        public var maxDayBytes: Int
        public var searchPageSize: Int

        public init(
            service: JID, policy: WebLogsPolicy, linkBase: String = "/logs", searchesPerMinute: Int = 30,
            cacheBytes: Int = 64 << 20, maxDayEntries: Int = 20_000, maxDayBytes: Int = 8 << 20, searchPageSize: Int = 25
        ) {
            self.maxDayBytes = maxDayBytes
            self.service = service
            self.policy = policy
            self.linkBase = linkBase
            self.searchesPerMinute = searchesPerMinute
            self.cacheBytes = cacheBytes
            self.maxDayEntries = maxDayEntries
            self.searchPageSize = searchPageSize
        }
    }

    private let settings: Settings
    private let published: PublishedRooms
    private let readers: ArchiveReaders
    private let occupants: @Sendable ([JID]) async -> [JID: Int]
    private let now: @Sendable () -> Double
    private let pages: WebLogPages
    private let cache: PageCache
    private let searches: AddressRateLimiter
    private let index = RecentPage(seconds: 1)

    public init(
        settings: Settings, published: PublishedRooms, readers: ArchiveReaders,
        occupants: @escaping @Sendable ([JID]) async -> [JID: Int],
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.settings = settings
        self.published = published
        self.readers = readers
        self.occupants = occupants
        self.now = now
        pages = WebLogPages(base: settings.linkBase, service: settings.service)
        cache = PageCache(capacity: settings.cacheBytes)
        searches = AddressRateLimiter(perMinute: settings.searchesPerMinute)
    }

    static let html = "text/html; charset=utf-8"
    /// Nothing but the site's own stylesheet and script; no frames, no form posting elsewhere.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        + "base-uri 'none'; frame-ancestors 'none'"

    /// The answer when it needs no reading: a page in the cache that still holds, or the
    /// stylesheet and script. Synchronous, so that the HTTP server can answer on its own
    /// thread without handing the request to the tasks the rooms run on.
    public func cachedResponse(to request: WebRequest) -> WebResponse? {
        guard let path = WebLogPath(request.path, service: settings.service) else { return nil }
        let key: String
        switch path {
        case .stylesheet: return staticFile(WebLogTemplates.stylesheet, type: "text/css; charset=utf-8", request)
        case .script: return staticFile(WebLogTemplates.script, type: "text/javascript; charset=utf-8", request)
        case .calendar(let jid): key = "c|" + jid.description
        case .day(let jid, let day): key = "d|" + jid.description + "|\(day.number)"
        case .dayLines(let jid, let day): key = "j|" + jid.description + "|\(day.number)"
        case .index, .search, .message: return nil
        }
        guard let jid = path.room, let room = published.room(jid), settings.policy.allows(jid),
              let page = cache.page(key, room: room), published.room(jid)?.edits == room.edits
        else { return nil }
        return deliver(page, path, in: room, request)
    }

    /// A rendered page as the answer: a day's download is an attachment named after room and day.
    private func deliver(_ page: PageCache.Page, _ path: WebLogPath, in room: PublishedRoom, _ request: WebRequest) -> WebResponse {
        var response = answer(page, request, cacheControl: "no-cache")
        if case .dayLines(_, let day) = path, response.status == 200 {
            response.headers.append(("Content-Disposition", "attachment; filename=\"\(pages.roomPath(room))-\(UTCDate(day).text).jsonl\""))
        }
        return response
    }

    public func respond(to request: WebRequest) async -> WebResponse {
        if let cached = cachedResponse(to: request) { return cached }
        guard let path = WebLogPath(request.path, service: settings.service) else { return notFound() }
        switch path {
        case .stylesheet:
            return staticFile(WebLogTemplates.stylesheet, type: "text/css; charset=utf-8", request)
        case .script:
            return staticFile(WebLogTemplates.script, type: "text/javascript; charset=utf-8", request)
        case .index:
            // Occupants "now" and last activity may be a second old; which rooms are listed,
            // and what they say of themselves, never: any change renders the index again.
            let version = published.version
            if let recent = index.recent(at: now(), version: version) { return answer(recent, request, cacheControl: "no-cache") }
            let rooms = published.all.filter { settings.policy.allows($0.jid) }
            let counts = await occupants(rooms.map(\.jid))
            let rendered = page(pages.index(rooms.map { .init(room: $0, occupants: counts[$0.jid] ?? 0) }), type: Self.html)
            index.keep(rendered, at: now(), version: version)
            return answer(rendered, request, cacheControl: "no-cache")
        case .calendar(let jid), .day(let jid, _), .dayLines(let jid, _), .search(let jid), .message(let jid, _):
            // A read may wait behind others on the read connections; a room that turned
            // private (or changed) meanwhile must not be answered from what was read for it
            // before: the answer stands only if the room is still as it was, else once more.
            for _ in 0..<2 {
                // Unknown, private and hidden rooms get the same answer: nobody can probe for them.
                guard let room = published.room(jid), settings.policy.allows(jid) else { return notFound() }
                let response: WebResponse
                do {
                    response = try await respond(to: path, in: room, request)
                } catch {
                    return problem(500, "The logs cannot be read", "The archive did not answer; try again in a moment.")
                }
                if published.room(jid)?.edits == room.edits && settings.policy.allows(jid) { return response }
            }
            return published.room(jid) == nil ? notFound() : problem(503, "The room is changing", "Try again in a moment.")
        }
    }

    private func respond(to path: WebLogPath, in room: PublishedRoom, _ request: WebRequest) async throws(StorageError) -> WebResponse {
        let today = WebLogDay(containing: now())
        let key = room.jid.description
        switch path {
        case .calendar:
            let current = PageCache.Validity.editsAndAppends(room.edits, room.appends)
            let days = try await readers.connection.webLogDays(room.jid)
            let rendered = page(pages.calendar(room, days: days), type: Self.html)
            cache.store(rendered, key: "c|" + key, validity: current)
            return answer(rendered, request, cacheControl: "no-cache")
        case .day(_, let day), .dayLines(_, let day):
            guard day <= today else { return notFound() }
            let lines: Bool = if case .dayLines = path { true } else { false }
            let cacheKey = (lines ? "j|" : "d|") + key + "|\(day.number)"
            let reader = readers.connection
            let entries = try await reader.webLogEntries(
                room.jid, on: day, limit: settings.maxDayEntries, maxBytes: settings.maxDayBytes)
            let rendered: PageCache.Page
            let neighbours: (previous: WebLogDay?, next: WebLogDay?)
            if lines {
                rendered = page(WebLogLines.encode(entries), type: "application/jsonl; charset=utf-8",
                                lastModified: entries.last?.time)
                neighbours = (nil, day == today ? nil : day)
            } else {
                neighbours = try await reader.webLogNeighbours(room.jid, of: day)
                if entries.isEmpty && neighbours.previous == nil && neighbours.next == nil && day != today { return notFound() }
                rendered = page(pages.day(room, day: day, entries: entries, previous: neighbours.previous, next: neighbours.next),
                                type: Self.html, lastModified: entries.last?.time)
            }
            // A day that has a next day is complete: only an edit changes it. Today, or the
            // last day so far, also changes with the next message (its "next" link appears).
            let validity: PageCache.Validity = day < today && neighbours.next != nil
                ? .edits(room.edits) : .editsAndAppends(room.edits, room.appends)
            cache.store(rendered, key: cacheKey, validity: validity)
            return deliver(rendered, path, in: room, request)
        case .message(_, let id):
            guard let time = try await readers.connection.webLogMessageTime(room.jid, id: id) else { return notFound() }
            let location = "\(settings.linkBase)/\(pages.roomPath(room))/\(UTCDate(WebLogDay(containing: time)).text)#"
                + WebLogsPolicy.pathSegment(id)
            var response = answer(page("", type: Self.html), request, cacheControl: "no-cache", status: 302)
            response.headers.append(("Location", location))
            return response
        case .search:
            return try await search(room, request)
        case .index, .stylesheet, .script:
            return notFound()
        }
    }

    private func search(_ room: PublishedRoom, _ request: WebRequest) async throws(StorageError) -> WebResponse {
        let query = request.query["q"] ?? ""
        var response: WebResponse
        if query.trimmingCharacters(in: .whitespaces).isEmpty {
            response = answer(page(pages.search(room, query: "", hits: nil, older: nil, notice: nil), type: Self.html),
                              request, cacheControl: "no-cache")
        } else if query.utf8.count > 256 || query.split(whereSeparator: \.isWhitespace).count > 16 {
            response = answer(page(pages.search(room, query: "", hits: nil, older: nil,
                                                notice: "Search for at most 16 words and 256 bytes."), type: Self.html),
                              request, cacheControl: "no-cache", status: 400)
        } else {
            let taken = searches.take(request.clientAddress, now: now())
            guard taken.allowed else {
                var refused = problem(429, "Too many searches", "Please wait a minute before searching again.")
                refused.headers.append(("Retry-After", String(max(1, taken.retryAfter))))
                return refused
            }
            let before = request.query["before"].flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }
            let hits: [WebLogSearchHit]
            do {
                hits = try await readers.connection.webLogSearch(room.jid, query, before: before, limit: settings.searchPageSize + 1)
            } catch where error.code == 9 /* SQLITE_INTERRUPT: the time budget ran out */ {
                return problem(503, "The search took too long", "Try more specific words.")
            }
            let shown = Array(hits.prefix(settings.searchPageSize))
            let older = hits.count > settings.searchPageSize ? shown.last?.sequence : nil
            response = answer(page(pages.search(room, query: query, hits: shown, older: older, notice: nil), type: Self.html),
                              request, cacheControl: "no-cache")
        }
        // Result pages are endless combinations: not for search engines.
        response.headers.append(("X-Robots-Tag", "noindex"))
        return response
    }

    // MARK: - Responses

    private func page(_ text: String, type: String, lastModified: Double? = nil) -> PageCache.Page {
        let body = ByteBuffer(string: text)
        return PageCache.Page(body: body, etag: Self.etag(body), lastModified: lastModified, contentType: type)
    }

    private func answer(_ page: PageCache.Page, _ request: WebRequest, cacheControl: String, status: Int = 200) -> WebResponse {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", page.contentType), ("Content-Security-Policy", Self.contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"), ("Cache-Control", cacheControl),
        ]
        guard status == 200 else { return WebResponse(status: status, headers: headers, body: page.body) }
        headers.append(("ETag", page.etag))
        if let lastModified = page.lastModified { headers.append(("Last-Modified", UTCDate.httpDate(lastModified))) }
        if let tags = request.ifNoneMatch, tags.split(separator: ",").contains(where: {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == page.etag || tag == "W/" + page.etag || tag == "*"
        }) {
            return WebResponse(status: 304, headers: headers, body: ByteBuffer())
        }
        return WebResponse(status: status, headers: headers, body: page.body)
    }

    private func staticFile(_ text: String, type: String, _ request: WebRequest) -> WebResponse {
        answer(page(text, type: type), request, cacheControl: "public, max-age=86400")
    }

    private func notFound() -> WebResponse {
        answer(page(pages.notFound(), type: Self.html), WebRequest(path: "/"), cacheControl: "no-cache", status: 404)
    }

    private func problem(_ status: Int, _ heading: String, _ message: String) -> WebResponse {
        answer(page(pages.problem(heading, message), type: Self.html), WebRequest(path: "/"), cacheControl: "no-store",
               status: status)
    }

    /// A strong validator: FNV-1a over the body (a cached page is hashed once).
    static func etag(_ body: ByteBuffer) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        body.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return "\"" + String(hash, radix: 16) + "\""
    }
}

extension WebRequest {
    /// `application/x-www-form-urlencoded` as a GET form sends it: "+" is a space, the
    /// rest percent-decoded; malformed pairs are dropped, the first of a repeated name wins.
    public static func parseQuery(_ raw: String) -> [String: String] {
        var query: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? {
                WebLogPath.decoded(Substring(text.replacingOccurrences(of: "+", with: " ")))
            }
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            if query[name] == nil { query[name] = value }
        }
        return query
    }
}
