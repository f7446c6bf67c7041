"""The web logs from outside: plain HTTP requests (urllib, no redirects followed unless
asked) and a real browser (the Debian chromium, driven by Playwright for Python; Playwright
cannot download browsers of its own here)."""

from __future__ import annotations

import asyncio
import html.parser
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

CHROMIUM = os.environ.get("INTEROP_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str
    links: list[str] = field(default_factory=list)


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.links.append(value)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch_now(url: str, headers: dict[str, str] | None = None, follow: bool = False) -> Page:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            status, header_items, raw = response.status, response.headers.items(), response.read()
    except urllib.error.HTTPError as error:
        status, header_items, raw = error.code, error.headers.items(), error.read()
    body = raw.decode("utf-8", "replace")
    parser = _Links()
    if "html" in dict(header_items).get("Content-Type", ""):
        parser.feed(body)
    return Page(status, {k: v for k, v in header_items}, body, parser.links)


async def fetch(url: str, headers: dict[str, str] | None = None, follow: bool = False) -> Page:
    return await asyncio.get_running_loop().run_in_executor(None, fetch_now, url, headers, follow)


async def crawl(start: str, prefix: str, limit: int = 500) -> dict[str, Page]:
    """Every page reachable from `start` by links under `prefix` (searches left out: their
    links only repeat pages), breadth first, at most `limit` pages."""
    seen: dict[str, Page] = {}
    queue = [start]
    while queue and len(seen) < limit:
        url = urllib.parse.urldefrag(queue.pop(0))[0]
        if url in seen or not url.startswith(prefix) or "/search" in url:
            continue
        page = await fetch(url)
        seen[url] = page
        queue += [urllib.parse.urljoin(url, link) for link in page.links]
    return seen


async def browser():
    """A headless chromium (as root it needs --no-sandbox); close it with `await b.close()`
    and the returned Playwright with `await p.stop()`."""
    from playwright.async_api import async_playwright
    playwright = await async_playwright().start()
    chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    return playwright, chromium
