import MUC
import Mustache
import Storage
import XMPPCore

/// Renders the web logs' pages from typed values. Page structure comes from the
/// templates; the lines of a day are built here, through `HTML`, because a day can
/// hold thousands of them.
public struct WebLogPages: Sendable {
    /// Where links point: `[weblogs] base_url`'s path or the whole URL, without a trailing "/".
    public let base: String
    public let service: JID
    private let library: MustacheLibrary

    public init(base: String, service: JID) {
        self.base = base
        self.service = service
        Self.registerContentType
        var templates: [String: MustacheTemplate] = [:]
        let sources = [
            "head": WebLogTemplates.head, "foot": WebLogTemplates.foot, "searchForm": WebLogTemplates.searchForm,
            "index": WebLogTemplates.index, "calendar": WebLogTemplates.calendar, "day": WebLogTemplates.day,
            "search": WebLogTemplates.search, "notFound": WebLogTemplates.notFound, "problem": WebLogTemplates.problem,
        ]
        for (name, source) in sources {
            // The templates are constants of this file's module: a unit test parses every one.
            if let template = try? MustacheTemplate(string: source) { templates[name] = template }
        }
        library = MustacheLibrary(templates: templates)
    }

    /// Mustache escapes `{{x}}` through this: `HTML.escape`, on UTF-8 bytes.
    private struct ParleyHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { HTML.escape(text) }
    }

    private static let registerContentType: Void = MustacheContentTypes.register(ParleyHTML(), named: "PARLEY_HTML")

    /// A room as the index lists it.
    public struct Listing: Sendable {
        public var room: PublishedRoom
        public var occupants: Int

        public init(room: PublishedRoom, occupants: Int) {
            self.room = room
            self.occupants = occupants
        }
    }

    public func index(_ listings: [Listing]) -> String {
        render("index", page(title: "Rooms", room: nil, extra: [
            "rooms": listings.map { listing -> [String: Any] in
                var room = roomContext(listing.room)
                room["jid"] = listing.room.jid.description
                room["subject"] = listing.room.subject
                room["occupants"] = String(listing.occupants)
                if let last = listing.room.lastActivity {
                    let clock = UTCDate.clock(last)
                    room["lastActivity"] = ["iso": clock.iso, "text": "\(UTCDate(WebLogDay(containing: last)).text) \(clock.hourMinute)"]
                }
                room["base"] = base
                return room
            },
        ]))
    }

    public func calendar(_ room: PublishedRoom, days: [WebLogDay]) -> String {
        var months: [(year: Int, month: Int, days: Set<Int>)] = []
        for day in days.reversed() {
            let date = UTCDate(day)
            if months.last?.year == date.year && months.last?.month == date.month {
                months[months.count - 1].days.insert(date.day)
            } else {
                months.append((date.year, date.month, [date.day]))
            }
        }
        let path = roomPath(room)
        let monthContexts = months.map { month -> [String: Any] in
            let first = UTCDate(year: month.year, month: month.month, day: 1).webLogDay
            let next = month.month == 12
                ? UTCDate(year: month.year + 1, month: 1, day: 1) : UTCDate(year: month.year, month: month.month + 1, day: 1)
            let length = next.webLogDay.number - first.number
            return [
                "title": "\(UTCDate.monthNames[month.month - 1]) \(month.year)",
                "days": (1...length).map { number -> [String: Any] in
                    let date = UTCDate(year: month.year, month: month.month, day: number)
                    var day: [String: Any] = ["number": String(number)]
                    if month.days.contains(number) { day["href"] = "\(base)/\(path)/\(date.text)" }
                    return day
                },
            ]
        }
        return render("calendar", page(title: roomTitle(room), room: room, extra: ["months": monthContexts]))
    }

    public func day(
        _ room: PublishedRoom, day: WebLogDay, entries: [WebLogEntry], previous: WebLogDay?, next: WebLogDay?
    ) -> String {
        let path = roomPath(room)
        func link(_ day: WebLogDay?) -> [String: Any]? {
            day.map { ["href": "\(base)/\(path)/\(UTCDate($0).text)", "text": UTCDate($0).text] }
        }
        let date = UTCDate(day)
        var extra: [String: Any] = [
            "date": date.longText, "entries": !entries.isEmpty, "log": lines(entries),
            "lines": "\(base)/\(path)/\(date.text).jsonl",
        ]
        extra["previous"] = link(previous)
        extra["next"] = link(next)
        return render("day", page(title: "\(roomTitle(room)) — \(date.text)", room: room, extra: extra))
    }

    public func search(_ room: PublishedRoom, query: String, hits: [WebLogSearchHit]?, older: Int64?, notice: String?) -> String {
        let path = roomPath(room)
        var extra: [String: Any] = ["query": query]
        if let hits {
            extra["searched"] = true
            extra["hits"] = hits.map { hit -> [String: Any] in
                let clock = UTCDate.clock(hit.time)
                let date = UTCDate(WebLogDay(containing: hit.time)).text
                return [
                    "href": "\(base)/\(path)/\(date)#\(WebLogsPolicy.pathSegment(hit.id))", "iso": clock.iso, "date": date,
                    "clock": clock.hourMinute, "nick": hit.nick, "html": HTML.highlighted(hit.markedBody),
                ]
            }
        }
        if let older {
            extra["older"] = "\(base)/\(path)/search?q=\(Self.queryComponent(query))&before=\(older)"
        }
        extra["notice"] = notice
        return render("search", page(title: "Search — \(roomTitle(room))", room: room, extra: extra))
    }

    public func notFound() -> String {
        render("notFound", page(title: "Not found", room: nil, extra: [:]))
    }

    /// A page that says why nothing else could be shown (busy, too many searches).
    public func problem(_ heading: String, _ message: String) -> String {
        render("problem", page(title: heading, room: nil, extra: ["heading": heading, "message": message]))
    }

    /// The lines of a day, as one piece of HTML: the permalink anchor is the stanza-id.
    func lines(_ entries: [WebLogEntry]) -> String {
        var html = HTML(capacity: entries.count * 320)
        for entry in entries {
            html.markup("<li id=\"")
            html.escaped(entry.id)
            html.markup("\" class=\"")
            html.trusted(entry.kind.rawValue)
            html.markup("\"><a class=\"time\" href=\"#")
            html.escaped(entry.id)
            html.markup("\"><time datetime=\"")
            html.clock(entry.time, between: "\">")
            html.markup("</time></a> ")
            switch entry.kind {
            case .message:
                html.markup("<span class=\"nick\">")
                html.escaped(entry.nick)
                html.markup("</span> <span class=\"body\">")
                html.linkified(entry.text)
            case .action:
                html.markup("<span class=\"body\">* ")
                html.escaped(entry.nick)
                html.markup(" ")
                html.linkified(entry.text)
            case .subject:
                if entry.nick.isEmpty {
                    html.markup("<span class=\"body\">The subject is now: ")
                } else {
                    html.markup("<span class=\"body\">")
                    html.escaped(entry.nick)
                    html.markup(" changed the subject to: ")
                }
                html.linkified(entry.text)
            case .removed:
                html.markup("<span class=\"body\">message removed by a moderator")
                if !entry.text.isEmpty {
                    html.markup(": ")
                    html.escaped(entry.text)
                }
            }
            html.markup("</span></li>\n")
        }
        return html.text
    }

    private func page(title: String, room: PublishedRoom?, extra: [String: Any]) -> [String: Any] {
        var context = extra
        context["title"] = title
        context["base"] = base
        context["service"] = service.description
        if let room { context["room"] = roomContext(room) }
        return context
    }

    private func roomContext(_ room: PublishedRoom) -> [String: Any] {
        ["name": roomTitle(room), "description": room.description, "path": roomPath(room), "base": base]
    }

    private func roomTitle(_ room: PublishedRoom) -> String {
        room.name.isEmpty ? (room.jid.localpart ?? room.jid.description) : room.name
    }

    func roomPath(_ room: PublishedRoom) -> String {
        WebLogsPolicy.pathSegment(room.jid.localpart ?? "")
    }

    private func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? ""
    }

    /// A query value for a URL (form encoding: space as "+").
    static func queryComponent(_ text: String) -> String {
        WebLogsPolicy.pathSegment(text).replacingOccurrences(of: "%20", with: "+")
    }
}
