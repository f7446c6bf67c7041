"""Web logs, as a reader with a browser and as an attacker see them: an owner publishes a
room from the ordinary configuration form, a real browser (Debian's chromium, through
Playwright) reads, links and searches it, and nothing from a private room is on any page."""

from __future__ import annotations

import asyncio
import urllib.error
import json
import os
import uuid
from pathlib import Path

from harness.muc import (assert_error, configure, create_room, disco_info_forms, join, say, send_subject,
                         sync)
from harness.parley_features import is_retraction, moderate_request, new_room, stanza_id_of
from harness.web import browser, crawl, fetch

WEBLOGS = "parley#roomconfig_weblogs"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "Docs" / "images"


def base(stack) -> str:
    return f"http://127.0.0.1:{stack.settings.component_port + 2}/logs"


def localpart(room: str) -> str:
    return room.split("@")[0]


async def publish(alice, bob, room: str, name: str):
    """A room with weblogs on from its creation form, and a conversation in it."""
    await create_room(alice, room, "Alice", config={
        "muc#roomconfig_roomname": name, "muc#roomconfig_roomdesc": "Where the next release is planned",
        WEBLOGS: True})
    await join(bob, room, "Bob")


async def test_an_owner_publishes_and_a_browser_reads_links_and_searches(stack, alice, bob, service, tmp_path):
    room = new_room(service, "weblog")
    await publish(alice, bob, room, "Release planning")
    send_subject(alice, room, "Release 2.0 <b>freeze</b> on Friday")
    await sync(alice, room)
    script = await say(bob, room, "<script>alert(1)</script> is text here")
    await say(bob, room, "notes at https://example.org/notes, thanks")
    await say(bob, room, "/me waves")
    spam = stanza_id_of(await say(bob, room, "buy spamware now"), room)
    assert (await alice.set(room, moderate_request(spam, reason="off topic")))["type"] == "result"
    await alice.expect_message(lambda m: is_retraction(m, room, spam))
    deploy = stanza_id_of(await say(bob, room, "the deployment is on Friday"), room)

    # XEP-0045 muc#roominfo_logs: where the logs are, for clients that show it.
    info = disco_info_forms(await bob.disco_info(room))
    logs = info["http://jabber.org/protocol/muc#roominfo"].value("muc#roominfo_logs")
    assert logs == f"{base(stack)}/{localpart(room)}/", logs

    playwright, chromium = await browser()
    try:
        page = await chromium.new_page(viewport={"width": 420, "height": 900})  # a phone's width
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
        await page.goto(f"{base(stack)}/")
        await page.get_by_role("link", name="Release planning").click()
        await page.wait_for_url(f"{base(stack)}/{localpart(room)}/")
        await page.locator("ol.calendar a").last.click()
        await page.wait_for_selector("ol.log li")
        text = await page.inner_text("ol.log")
        assert "<script>alert(1)</script> is text here" in text, text
        assert "* Bob waves" in text and "message removed by a moderator: off topic" in text, text
        assert "spamware" not in text and "Alice changed the subject to: Release 2.0 <b>freeze</b>" in text, text
        link = page.get_by_role("link", name="https://example.org/notes")
        assert await link.get_attribute("rel") == "nofollow ugc noopener"
        assert await page.locator(f"li[id='{stanza_id_of(script, room)}'] .local").count() == 1, "no local time"
        await page.wait_for_timeout(300)
        assert dialogs == [], f"a body ran as script: {dialogs}"
        await page.screenshot(path=str(tmp_path / "day.png"), full_page=True)

        # A permalink lands on the right day with the message as the target.
        await page.goto(f"{base(stack)}/{localpart(room)}/message/{deploy}")
        assert page.url.endswith(f"#{deploy}"), page.url
        assert await page.evaluate("document.querySelector(':target').id") == deploy

        await page.fill("input[name=q]", "DEPLOYMENT friday")
        await page.press("input[name=q]", "Enter")
        await page.wait_for_selector("mark")
        marks = [m.lower() for m in await page.locator("mark").all_inner_texts()]
        assert marks == ["deployment", "friday"], marks
        await page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        await page.goto(f"{base(stack)}/")
        await page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
        if os.environ.get("INTEROP_UPDATE_SCREENSHOTS") == "1":
            for name in ("index", "day", "search"):
                (SCREENSHOTS / f"weblogs-{name}.png").write_bytes((tmp_path / f"{name}.png").read_bytes())
    finally:
        await chromium.close()
        await playwright.stop()

    # The same day over plain HTTP: the headers a browser relies on, revalidation, JSON Lines.
    permalink = await fetch(f"{base(stack)}/{localpart(room)}/message/{deploy}")
    assert permalink.status == 302
    day_url = "http://127.0.0.1:{}{}".format(stack.settings.component_port + 2, permalink.headers["Location"].split("#")[0])
    day = await fetch(day_url)
    assert day.status == 200 and "script-src 'self'" in day.headers["Content-Security-Policy"]
    assert day.headers["X-Content-Type-Options"] == "nosniff" and day.headers.get("Last-Modified")
    assert (await fetch(day_url, headers={"If-None-Match": day.headers["ETag"]})).status == 304
    lines = [json.loads(line) for line in (await fetch(day_url + ".jsonl")).body.splitlines()]
    assert [line["type"] for line in lines] == ["subject", "message", "message", "action", "removed", "message"], lines
    assert "@localhost" not in json.dumps(lines), "a real JID in the download"


async def test_nothing_from_a_private_room_reaches_any_page(stack, alice, bob, carol, service):
    secret = f"TOPSECRET-{uuid.uuid4().hex[:8]}"
    hidden = new_room(service, "private")
    await create_room(carol, hidden, "Carol", config={"muc#roomconfig_membersonly": True})
    await say(carol, hidden, f"the code is {secret}")
    refused = await configure(carol, hidden, {WEBLOGS: True}, check=False)
    assert_error(refused, "modify", "not-acceptable")

    was_public = f"WASPUBLIC-{uuid.uuid4().hex[:8]}"
    closing = new_room(service, "closing")
    await publish(alice, bob, closing, "Soon private")
    await say(bob, closing, f"said while public {was_public}")
    index = await fetch(f"{base(stack)}/")
    assert f"/logs/{localpart(closing)}/" in index.links
    await configure(alice, closing, {"muc#roomconfig_membersonly": True})

    unknown = await fetch(f"{base(stack)}/nosuchroom-{uuid.uuid4().hex[:6]}/")
    assert unknown.status == 404
    for room in (hidden, closing):
        for path in ("/", "/search?q=" + secret, "/message/x"):
            probe = await fetch(f"{base(stack)}/{localpart(room)}{path}")
            assert probe.status == 404 and probe.body == unknown.body, (room, path, probe.status)
    pages = await crawl(f"{base(stack)}/", f"{base(stack)}/")
    assert pages, "the crawl found nothing"
    for url, page in pages.items():
        assert secret not in page.body and was_public not in page.body, url
        assert "@localhost" not in page.body, f"a real JID on {url}"
    for trick in ("/..%2F..%2Fetc%2Fpasswd", "/%2e%2e/", "/" + localpart(hidden) + "%00/", "//etc/passwd"):
        assert (await fetch(f"{base(stack)}{trick}")).status == 404, trick


async def test_a_search_flood_is_slowed_and_the_rooms_keep_answering(stack, alice, bob, service):
    room = new_room(service, "flood")
    await publish(alice, bob, room, "Flooded")
    await say(bob, room, "a needle in the archive")
    url = f"{base(stack)}/{localpart(room)}/search?q=needle"
    answers = await asyncio.gather(*(fetch(url) for _ in range(40)))
    statuses = [answer.status for answer in answers]
    assert statuses.count(429) >= 5 and statuses.count(200) >= 1, statuses
    limited = next(answer for answer in answers if answer.status == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    # The XMPP side never waited for the web.
    await say(alice, room, "still here")


async def test_only_reading_methods_and_head_gets_headers_without_a_body(stack, service):
    import urllib.request
    port = stack.settings.component_port + 2

    def request(method: str, path: str):
        try:
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method),
                                        timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    loop = asyncio.get_running_loop()
    for method in ("POST", "PUT", "DELETE"):
        for path in ("/logs/", "/health", "/nothing"):
            status, headers, _ = await loop.run_in_executor(None, request, method, path)
            assert status == 405 and headers.get("Allow") == "GET, HEAD", (method, path, status)
    for path in ("/health", "/metrics", "/logs/", "/logs/style.css"):
        status, headers, body = await loop.run_in_executor(None, request, "HEAD", path)
        expected, _, _ = await loop.run_in_executor(None, request, "GET", path)
        # /health may be 503 (a twin seen earlier in the session): HEAD answers as GET does.
        assert status == expected and body == b"" and int(headers["Content-Length"]) > 0, (path, status, headers)


async def test_a_service_admin_takes_a_room_off_the_web_and_its_owner_cannot_put_it_back(connect, stack, alice, bob,
                                                                                            service):
    from harness.xmpp import DEFAULT_PLUGINS
    grace = await connect("grace", plugins=DEFAULT_PLUGINS + ("xep_0050",))   # [service] admins
    room = new_room(service, "offweb")
    await publish(alice, bob, room, "Too public")
    await say(bob, room, "something regrettable")
    calendar = f"{base(stack)}/{localpart(room)}/"
    assert (await fetch(calendar)).status == 200

    async def run(hidden: bool):
        form = grace.xmpp.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="room", value=room)
        form.add_field(var="hidden", ftype="boolean", value=hidden)
        reply = await grace.xmpp.plugin["xep_0050"].send_command(service, "parley:admin#weblogs", payload=form)
        assert reply["command"]["status"] == "completed", reply

    await run(True)
    assert (await fetch(calendar)).status == 404, "still on the web after the admin hid it"
    refused = await configure(alice, room, {WEBLOGS: True}, check=False)
    assert_error(refused, "cancel", "not-allowed")
    await run(False)
    await configure(alice, room, {WEBLOGS: True})
    assert (await fetch(calendar)).status == 200
