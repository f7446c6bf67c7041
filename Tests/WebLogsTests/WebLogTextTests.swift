import Storage
import Testing
import WebLogs
import XMPPCore

@Suite("Web logs: escaping, links, dates, paths")
struct WebLogTextTests {
    @Test("every user string is text: markup, quotes and ampersands are escaped")
    func escaping() {
        #expect(HTML.escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;")
        #expect(HTML.escape("a \"b\" & 'c'") == "a &quot;b&quot; &amp; &#39;c&#39;")
        #expect(HTML.linkified("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;")
    }

    @Test("URLs become links that pass no ranking and no opener; sentence punctuation stays outside")
    func links() {
        #expect(HTML.linkified("see https://example.org/a?b=1&c=2.")
            == "see <a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">https://example.org/a?b=1&amp;c=2</a>.")
        #expect(HTML.linkified("(http://x.org/wiki/A_(b))")
            == "(<a href=\"http://x.org/wiki/A_(b)\" rel=\"nofollow ugc noopener\">http://x.org/wiki/A_(b)</a>)")
        // Not a link: another scheme, a scheme glued to a word, a bare scheme.
        #expect(HTML.linkified("javascript:alert(1) xhttp://a.b https://") == "javascript:alert(1) xhttp://a.b https://")
        // A quote cannot end the attribute: it ends the URL.
        #expect(HTML.linkified("https://a.org/\"onmouseover=\"x")
            == "<a href=\"https://a.org/\" rel=\"nofollow ugc noopener\">https://a.org/</a>&quot;onmouseover=&quot;x")
    }

    @Test("a flood of closing parentheses after a link costs one pass, and keeps the balance")
    func parenthesisFlood() {
        let flood = "http://a.org/x" + String(repeating: ")", count: 200_000)
        let html = HTML.linkified(flood)
        #expect(html.hasPrefix("<a href=\"http://a.org/x\" rel=\"nofollow ugc noopener\">http://a.org/x</a>)"))
        #expect(HTML.linkified("(see http://a.org/(b)))") == "(see <a href=\"http://a.org/(b)\" rel=\"nofollow ugc noopener\">http://a.org/(b)</a>))")
    }

    @Test("a quote with a combining mark is still escaped (Mustache's own escaper goes by Character)")
    func combiningMarks() {
        #expect(HTML.escape("\"\u{301} onfocus=x") == "&quot;\u{301} onfocus=x")
        #expect(HTML.escape("<\u{301}script>") == "&lt;\u{301}script&gt;")
    }

    @Test("search hits: the matched words in <mark>, everything else escaped")
    func highlights() {
        #expect(HTML.highlighted("a <b> \u{1}deploy\u{2} & \u{1}Déploy\u{2}")
            == "a &lt;b&gt; <mark>deploy</mark> &amp; <mark>Déploy</mark>")
    }

    @Test("days: civil dates both ways, only real dates parse")
    func dates() {
        #expect(UTCDate(WebLogDay(number: 0)).text == "1970-01-01")
        let day = UTCDate(text: "2025-12-05")
        #expect(day?.webLogDay == WebLogDay(containing: 1_764_892_800 + 3600))
        #expect(UTCDate(text: "2024-02-29")?.webLogDay.number == 19_782)
        for bad in ["2026-02-30", "2026-13-01", "26-12-05", "2026-1-05", "2026-12-05x", "１９７０-01-01", "1969-12-31"] {
            #expect(UTCDate(text: bad[...]) == nil, "\(bad)")
        }
        #expect(UTCDate.clock(1_764_892_800 + 3723.9) == ("2025-12-05T01:02:03Z", "01:02"))
        #expect(UTCDate.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(UTCDate.httpDate(1_764_892_800) == "Fri, 05 Dec 2025 00:00:00 GMT")
    }

    @Test("paths: rooms are localparts of this service, days are dates, nothing else is served")
    func paths() throws {
        let service = try JID("rooms.localhost")
        let lobby = try JID("lobby@rooms.localhost")
        #expect(WebLogPath("/", service: service) == .index)
        #expect(WebLogPath("/lobby/", service: service) == .calendar(room: lobby))
        #expect(WebLogPath("/lobby/2026-12-05", service: service) == .day(room: lobby, day: UTCDate(year: 2026, month: 12, day: 5).webLogDay))
        #expect(WebLogPath("/lobby/2026-12-05.jsonl", service: service)
            == .dayLines(room: lobby, day: UTCDate(year: 2026, month: 12, day: 5).webLogDay))
        #expect(WebLogPath("/lobby/message/abc-1", service: service) == .message(room: lobby, id: "abc-1"))
        #expect(WebLogPath("/caf%C3%A9/", service: service) == .calendar(room: try JID("café@rooms.localhost")))
        for bad in ["/../", "/%2E%2E/", "/lobby/../", "/lobby%2Fx/", "/a@b/", "/lobby/2026-02-30", "/lobby", "/lobby/x/y/z",
                    "/%ZZ/", "/%00/", "/lobby%40evil.example/", "/lobby/message/", "//", "/lo bby/", "lobby/"] {
            #expect(WebLogPath(bad[...], service: service) == nil, "\(bad)")
        }
    }

    @Test("queries: + is a space, percent-escapes decode, the first of a name wins")
    func queries() {
        #expect(WebRequest.parseQuery("q=deploy+friday%21&before=12&q=x") == ["q": "deploy friday!", "before": "12"])
        #expect(WebRequest.parseQuery("q=%E2%9C%93&bad=%Z1") == ["q": "✓"])
    }
}
