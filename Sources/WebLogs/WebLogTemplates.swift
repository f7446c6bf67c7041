/// The pages' Mustache templates, the stylesheet and the one small script. `{{x}}`
/// escapes with `HTML.escape` (the `PARLEY_HTML` content type: byte by byte, where
/// Mustache's own escaper goes by `Character` and lets a quote with a combining mark
/// through); `{{{x}}}` takes HTML that `HTML` built from escaped text, nothing else.
enum WebLogTemplates {
    static let head = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <link rel="stylesheet" href="{{base}}/style.css">
        <script src="{{base}}/time.js" defer></script>
        {{#canonical}}<link rel="canonical" href="{{canonical}}">{{/canonical}}
        </head>
        <body>
        <header><nav class="crumbs"><a href="{{base}}/">Rooms</a>{{#room}} › <a href="{{base}}/{{path}}/">{{name}}</a>{{/room}}</nav></header>
        <main>

        """

    static let foot = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        </main>
        <footer>All times are UTC{{#service}}; rooms of {{service}}{{/service}}.</footer>
        </body>
        </html>

        """

    static let searchForm = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        <form class="search" action="{{base}}/{{room.path}}/search" method="get" role="search">
        <input type="search" name="q" value="{{query}}" placeholder="Search this room" aria-label="Search this room" maxlength="256">
        <button type="submit">Search</button>
        </form>

        """

    static let index = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>Rooms</h1>
        {{^rooms}}<p>No room publishes its logs yet.</p>{{/rooms}}
        {{#rooms}}
        <section class="room">
        <h2><a href="{{base}}/{{path}}/">{{name}}</a> <small>{{jid}}</small></h2>
        {{#description}}<p class="description">{{description}}</p>{{/description}}
        {{#subject}}<p class="subject">Subject: {{subject}}</p>{{/subject}}
        <p class="facts">{{occupants}} in the room now{{#lastActivity}} · last message <time datetime="{{iso}}">{{text}}</time>{{/lastActivity}}</p>
        </section>
        {{/rooms}}
        {{> foot}}
        """

    static let calendar = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>{{room.name}}</h1>
        {{#room.description}}<p class="description">{{room.description}}</p>{{/room.description}}
        {{> searchForm}}
        {{^months}}<p>Nothing has been said here yet.</p>{{/months}}
        {{#months}}
        <section class="month">
        <h2>{{title}}</h2>
        <ol class="calendar">
        {{#days}}<li>{{#href}}<a href="{{href}}">{{number}}</a>{{/href}}{{^href}}<span>{{number}}</span>{{/href}}</li>{{/days}}
        </ol>
        </section>
        {{/months}}
        {{> foot}}
        """

    static let day = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>{{room.name}}</h1>
        <p class="date"><strong>{{date}}</strong></p>
        <nav class="days">{{#previous}}<a rel="prev" href="{{href}}">← {{text}}</a>{{/previous}}
        <a href="{{base}}/{{room.path}}/">Calendar</a>
        {{#next}}<a rel="next" href="{{href}}">{{text}} →</a>{{/next}}
        <a href="{{lines}}" download>JSON Lines</a></nav>
        {{> searchForm}}
        {{^entries}}<p>Nothing was said on this day.</p>{{/entries}}
        <ol class="log">
        {{{log}}}</ol>
        {{> foot}}
        """

    static let search = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>Search {{room.name}}</h1>
        {{> searchForm}}
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        {{#searched}}{{^hits}}<p>No message matches every word.</p>{{/hits}}{{/searched}}
        <ol class="log">
        {{#hits}}
        <li class="message"><a class="time" href="{{href}}"><time datetime="{{iso}}">{{date}} {{clock}}</time></a> <span class="nick">{{nick}}</span> <span class="body">{{{html}}}</span></li>
        {{/hits}}
        </ol>
        {{#older}}<nav class="days"><a rel="next" href="{{older}}">Older results →</a></nav>{{/older}}
        {{> foot}}
        """

    static let notFound = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>Not found</h1>
        <p>There is no such page. A room's logs are here only while its owner publishes them and anyone may enter it.</p>
        {{> foot}}
        """

    static let problem = """
        {{% CONTENT_TYPE: PARLEY_HTML }}
        {{> head}}
        <h1>{{heading}}</h1>
        <p>{{message}}</p>
        {{> foot}}
        """

    static let stylesheet = """
        :root { color-scheme: light dark; --muted: #6b7280; --line: #e5e7eb; --mark: #fde68a; }
        @media (prefers-color-scheme: dark) { :root { --muted: #9ca3af; --line: #374151; --mark: #854d0e; } }
        body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 0 1rem; }
        header, footer { color: var(--muted); padding: .75rem 0; }
        footer { border-top: 1px solid var(--line); margin-top: 2rem; font-size: .875rem; }
        h1 small, h2 small { color: var(--muted); font-weight: normal; font-size: .6em; }
        .description, .subject, .facts, .date { margin: .25rem 0; }
        .facts, .notice { color: var(--muted); }
        .room { border-bottom: 1px solid var(--line); padding: .5rem 0; }
        .days { display: flex; flex-wrap: wrap; gap: 1rem; margin: .5rem 0; }
        .search { display: flex; gap: .5rem; margin: 1rem 0; }
        .search input { flex: 1; min-width: 0; font: inherit; padding: .25rem .5rem; }
        .search button { font: inherit; }
        .log { list-style: none; padding: 0; margin: 0; }
        .log li { padding: .2rem .25rem; border-radius: .25rem; overflow-wrap: anywhere; }
        .log li:target { background: var(--mark); }
        .time { color: var(--muted); text-decoration: none; font-variant-numeric: tabular-nums; margin-right: .5rem; }
        .local { color: var(--muted); font-size: .75em; margin-left: .25rem; }
        .nick { font-weight: 600; }
        .nick::after { content: ":"; }
        .action .body, .subject .body, .removed .body { font-style: italic; }
        .removed .body { color: var(--muted); }
        mark { background: var(--mark); color: inherit; }
        .calendar { display: grid; grid-template-columns: repeat(7, 2.5rem); gap: .25rem; list-style: none; padding: 0; }
        .calendar li { text-align: center; }
        .calendar span { color: var(--muted); }
        @media (max-width: 40rem) { .time { display: block; } }

        """

    /// Adds the reader's local time beside each UTC time; the pages work without it.
    static let script = """
        document.querySelectorAll("time[datetime]").forEach(function (element) {
          var date = new Date(element.getAttribute("datetime"));
          if (isNaN(date)) return;
          var local = document.createElement("span");
          local.className = "local";
          local.textContent = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + " local";
          element.title = date.toLocaleString();
          element.after(local);
        });

        """
}
