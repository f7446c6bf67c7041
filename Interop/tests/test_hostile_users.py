"""Hostile users through the server, with ordinary clients: each test plays the attacker
(a stranger, a spammer's server, a curious colleague) and shows the refusal or the hidden
data. Parley only (the rules are Parley's; Docs/security.md)."""

from __future__ import annotations

import asyncio
import contextlib

import xml.etree.ElementTree as ET

from harness.muc import (BANNED, NS_DATA, NS_MUC_USER, NS_RSM, SELF, assert_error, assert_result, attr,
                         bare, configure, create_room, destroy_room, disco_info_forms, disco_items_all,
                         error_of, expect_error_reply, expect_groupchat, expect_presence, join, join_refused, say,
                         send_groupchat, leave, send_subject, set_affiliation, type_of)
from harness.parley_features import (FULLTEXT_FIELD, NS_MUCSUB, alert_items, alert_subscribe, follow,
                                     followed_rooms, is_mucsub_event, mam_query, new_room, rsm_set,
                                     run_parley)
from harness.xmpp import flush_server_parser

NS_REGISTER = "jabber:iq:register"


def _register_form(nick: str) -> ET.Element:
    query = ET.Element(f"{{{NS_REGISTER}}}query")
    x = ET.SubElement(query, f"{{{NS_DATA}}}x", type="submit")
    for var, value in (("FORM_TYPE", "http://jabber.org/protocol/muc#register"), ("muc#register_roomnick", nick)):
        field = ET.SubElement(x, f"{{{NS_DATA}}}field", var=var)
        ET.SubElement(field, f"{{{NS_DATA}}}value").text = value
    return query


async def test_a_server_ban_removes_and_keeps_out_every_user_of_that_server(alice, bob, carol, service):
    room = new_room(service, "serverban")
    await create_room(alice, room, "Alice")          # Alice is the owner: her own affiliation wins
    await join(bob, room, "Bob")

    assert_result(await set_affiliation(alice, room, "localhost", "outcast", reason="spam wave"), "the server ban")
    await expect_presence(bob, f"{room}/Bob", unavailable=True, codes={BANNED, SELF})
    refusal = await join_refused(carol, room, "Carol")
    assert_error(refusal, "auth", "forbidden")


async def test_registering_is_no_way_around_a_room_password(alice, carol, service):
    room = new_room(service, "regpass")
    await create_room(alice, room, "Alice", config={"muc#roomconfig_passwordprotectedroom": True,
                                                    "muc#roomconfig_roomsecret": "sesame"})
    reply = await carol.set(room, _register_form("Carol"))
    assert_error(reply, "auth", "not-authorized")
    # Not a member, so the archive stays closed to her.
    page = await mam_query(carol, room)
    assert_error(page.reply, "auth", "forbidden")


async def test_registering_gives_a_visitor_no_voice(alice, bob, service):
    room = new_room(service, "regvoice")
    await create_room(alice, room, "Alice", config={"muc#roomconfig_moderatedroom": True})
    await join(bob, room, "Bob")
    assert_result(await bob.set(room, _register_form("Bob")), "Bob's registration")
    sent = send_groupchat(bob, room, "now I can talk?")
    refusal = await expect_error_reply(bob, "message", sent)
    assert_error(refusal, "auth", "forbidden")
    # Nor after coming back: registering reserved the nick, it did not make Bob a member.
    await leave(bob, room, "Bob")
    entered = await join(bob, room, "Bob")
    assert entered.item.role == "visitor", entered
    sent = send_groupchat(bob, room, "and now?")
    assert_error(await expect_error_reply(bob, "message", sent), "auth", "forbidden")


async def test_disco_info_does_not_name_the_owners_of_a_semi_anonymous_room(alice, carol, service):
    room = new_room(service, "contacts")
    await create_room(alice, room, "Alice")
    reply = await carol.disco_info(room)
    assert reply["type"] == "result", reply
    for form in disco_info_forms(reply).values():
        assert "muc#roominfo_contactjid" not in form.fields, form.fields
    assert bare(str(alice.jid)) not in ET.tostring(reply.xml, encoding="unicode")


async def test_a_moderator_cannot_make_a_stranger_follow_a_room(alice, carol, service):
    room = new_room(service, "forcedfollow")
    await create_room(alice, room, "Alice")
    subscribe = ET.Element(f"{{{NS_MUCSUB}}}subscribe", nick="Victim", jid=bare(str(carol.jid)))
    ET.SubElement(subscribe, f"{{{NS_MUCSUB}}}event", node="urn:xmpp:mucsub:nodes:messages")
    reply = await alice.set(room, subscribe)
    assert_error(reply, "cancel", "not-allowed")
    # Carol still may follow it herself.
    assert_result(await follow(carol, room, "Carol"), "Carol's own follow")


async def test_a_follower_loses_the_room_when_it_turns_members_only(alice, carol, service):
    room = new_room(service, "tighten")
    await create_room(alice, room, "Alice")
    assert_result(await follow(carol, room, "Carol"), "Carol's follow")
    await say(alice, room, "still open")
    await carol.expect_message(lambda m: is_mucsub_event(m, room), what="the event while the room is open")

    await configure(alice, room, {"muc#roomconfig_membersonly": True})
    await say(alice, room, "members only from now on")
    await say(alice, room, "second secret")
    _, listed = await followed_rooms(carol, service)
    assert room not in [jid for jid, _, _ in listed], listed
    assert not [m for m in carol.received("message") if is_mucsub_event(m, room)], "events after the room closed"


async def test_sizes_and_counts_a_client_controls_are_limited(alice, bob, service):
    room = new_room(service, "limits")
    await create_room(alice, room, "Alice")
    refusal = await join_refused(bob, room, "N" * 200)
    assert_error(refusal, "modify", "not-acceptable")

    await join(bob, room, "Bob")
    sent = send_groupchat(bob, room, "x" * 70_000)
    refusal = await expect_error_reply(bob, "message", sent)
    assert_error(refusal, "modify", "policy-violation")
    assert not [m for m in alice.received("message") if attr(m, "id") == sent["id"]]

    x = ET.Element(f"{{{NS_MUC_USER}}}x")
    for n in range(6):
        ET.SubElement(x, f"{{{NS_MUC_USER}}}invite", to=f"target{n}@elsewhere.example")
    sent = bob.send_message(room, None, kind="normal", extra=[x])
    refusal = await expect_error_reply(bob, "message", sent)
    assert_error(refusal, "modify", "policy-violation")


async def test_a_room_relays_no_decline_to_someone_who_invited_nobody(carol, service, alice):
    room = new_room(service, "declines")
    await create_room(alice, room, "Alice")
    x = ET.Element(f"{{{NS_MUC_USER}}}x")
    decline = ET.SubElement(x, f"{{{NS_MUC_USER}}}decline", to="victim@elsewhere.example")
    ET.SubElement(decline, f"{{{NS_MUC_USER}}}reason").text = "cheap watches"
    sent = carol.send_message(room, None, kind="normal", extra=[x])
    refusal = await expect_error_reply(carol, "message", sent)
    assert_error(refusal, "modify", "not-acceptable")


async def test_a_nick_cannot_be_impersonated_by_case(alice, bob, carol, service):
    room = new_room(service, "impersonate")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    for lookalike in ("bob", "BOB", "alice"):
        refusal = await join_refused(carol, room, lookalike)
        assert_error(refusal, "cancel", "conflict")


async def test_a_destroyed_rooms_archive_is_out_of_reach_of_whoever_takes_its_name(alice, carol, service, stack):
    room = new_room(service, "secret")
    await create_room(alice, room, "Alice")
    await say(alice, room, "the launch code is 1234")
    assert_result(await destroy_room(alice, room, reason="project over"), "the destroy")

    # Carol takes the name: she owns a new, empty room.
    entered = await create_room(carol, room, "Carol")
    assert not entered.history, entered.history
    page = await mam_query(carol, room)
    assert page.reply["type"] == "result" and not page.results, page.summary()
    page = await mam_query(carol, room, form={FULLTEXT_FIELD: "launch"})
    assert not page.results, page.summary()

    # The admin can still export it, by the key `parley archive ended` gives.
    listed = await run_parley("archive", "ended", "--config", str(stack.parley.config_path))
    assert listed.returncode == 0, listed.describe()
    keys = [line.split()[0] for line in listed.stdout.splitlines() if line.startswith(f"{room}/ended-")]
    assert len(keys) == 1, listed.stdout
    exported = await run_parley("archive", "export", "--config", str(stack.parley.config_path), "--room", keys[0])
    assert exported.returncode == 0, exported.describe()
    assert "the launch code is 1234" in exported.stdout


async def test_alert_items_pages_stay_small_enough_for_the_link(alice, bob, service):
    room = new_room(service, "bigalerts")
    await create_room(alice, room, "Alice")
    assert_result(await alert_subscribe(bob, service, "avalanche"), "Bob's keyword")
    bulk = "avalanche " + "snow " * 12_000          # ~60 KB, under the body limit
    for _ in range(12):
        await say(alice, room, bulk)
    reply, found = await alert_items(bob, service, "avalanche", max_items=100)
    assert reply["type"] == "result", reply
    assert 0 < len(found) < 12, len(found)
    assert len(ET.tostring(reply.xml)) < 256 * 1024
    # The link is still up, and the service still answers.
    assert (await bob.ping(service))["type"] == "result"


async def test_a_keyword_of_one_letter_and_many_combining_marks_is_refused(bob, service):
    pending = asyncio.ensure_future(alert_subscribe(bob, service, "a" + "\u0301" * 2000))
    await asyncio.sleep(0)
    flush_server_parser(bob)   # a 4 KB start tag: the server's Expat would sit on it (harness/xmpp.py)
    reply = await pending
    assert_error(reply, "modify", "not-acceptable")


async def test_a_flood_of_subject_changes_is_slowed_down(alice, bob, service):
    room = new_room(service, "subjectflood")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    sent = [send_subject(alice, room, f"subject {n}") for n in range(30)]
    ids = {message["id"] for message in sent}
    refusal = await alice.expect_message(lambda m: attr(m, "id") in ids and type_of(m) == "error",
                                         what="a refused subject change")
    assert_error(refusal, "wait", "resource-constraint")
    # The room still works for everyone.
    await say(bob, room, "still fine")


async def test_a_flood_of_new_rooms_is_slowed_down(connect, service):
    # 300 new rooms at once are allowed (a test suite creates that many); then one every 6 s.
    heidi = await connect("heidi")   # nobody else's rooms are counted against her
    rooms = [new_room(service, "flood") for _ in range(320)]
    for room in rooms:
        heidi.send_presence(f"{room}/Heidi", extra=[ET.Element("{http://jabber.org/protocol/muc}x")])
    refusal = await heidi.expect_presence(
        lambda p: type_of(p) == "error" and bare(str(p["from"])) in rooms, timeout=30,
        what="a refused room creation")
    assert_error(refusal, "wait", "resource-constraint")
    for room in rooms:
        heidi.send_presence(f"{room}/Heidi", kind="unavailable")
    await heidi.ping(service)


async def test_the_service_room_list_comes_in_pages(alice, service):
    # Enough public rooms that one stanza would be too many for a busy service.
    for n in range(3):
        await create_room(alice, new_room(service, f"listed{n}"), "Alice")
    query = ET.Element("{http://jabber.org/protocol/disco#items}query")
    ET.SubElement(ET.SubElement(query, f"{{{NS_RSM}}}set"), f"{{{NS_RSM}}}max").text = "2"
    reply = await alice.get(service, query)
    assert reply["type"] == "result", reply
    holder = reply.xml.find("{http://jabber.org/protocol/disco#items}query")
    assert len(holder.findall("{http://jabber.org/protocol/disco#items}item")) == 2
    assert int(holder.findtext(f"{{{NS_RSM}}}set/{{{NS_RSM}}}count")) >= 3
    _, everything = await disco_items_all(alice, service)
    assert len(everything) >= 3


async def test_a_search_loop_is_slowed_down_and_others_keep_searching(alice, erin, service):
    """Full-text MAM is the most expensive read a client can ask for: one user's loop gets
    `resource-constraint` (wait) after a burst, and everybody else's searches go on."""
    room = new_room(service, "searchloop")
    await create_room(alice, room, "Alice")
    await join(erin, room, "Erin")
    await say(alice, room, "needle in the haystack")
    refused = None
    for attempt in range(80):
        page = await mam_query(erin, room, form={FULLTEXT_FIELD: "needle"})
        if page.reply["type"] == "error":
            refused = (attempt, page.reply)
            break
        assert len(page.results) == 1
    assert refused is not None, "80 searches in a row were all answered"
    attempt, reply = refused
    assert attempt >= 60, f"refused after only {attempt} searches"
    assert_error(reply, "wait", "resource-constraint")
    assert len((await mam_query(alice, room, form={FULLTEXT_FIELD: "needle"})).results) == 1
    # Plain paging is not rate-limited.
    assert (await mam_query(erin, room)).reply["type"] == "result"


async def test_a_long_search_answer_comes_whole_while_another_room_goes_on(alice, bob, carol, service, stack):
    """A full-text search's answer goes to the server in slices of about 4 KiB, each only after
    the server routed the one before (an IQ Parley addresses to itself, which the server must
    route straight back): the searcher still gets every result in order, a message in another
    room sent meanwhile is delivered, and Parley never had to give up pacing on this server.
    (The searcher is one who has not searched before: the search-loop test spends erin's.)"""
    room = new_room(service, "pacedsearch")
    other = new_room(service, "pacedother")
    await create_room(alice, room, "Alice")
    await join(carol, room, "Carol")
    for index in range(60):
        send_groupchat(alice, room, f"needle {index:02d} " + "hay " * 60)
    await say(alice, room, "done")  # the room reflects in order: all 60 are archived
    await create_room(bob, other, "Bob")
    await join(alice, other, "Alice")

    page, _ = await asyncio.gather(
        mam_query(carol, room, form={FULLTEXT_FIELD: "needle"}, rsm=rsm_set(max=100)),
        say(bob, other, "meanwhile in another room"))
    assert_result(page.reply)
    assert [result.body.split()[1] for result in page.results] == [f"{index:02d}" for index in range(60)]
    assert sum(len(result.describe()) for result in page.results) > 4 * 4096, "the answer spans several slices"
    await expect_groupchat(alice, other, lambda m: m["body"] == "meanwhile in another room")
    log = stack.parley.log_path.read_text(errors="replace")
    assert "unpaced" not in log, "the server did not route a pacing marker back"


def _restart_parley(stack) -> None:
    """Parley again with its config as it is now, attached before this returns."""
    stack.parley.stop()
    stack.start_parley()


@contextlib.asynccontextmanager
async def _parley_with_limits(stack, limits: str):
    """Parley restarted with `limits` as its `[limits]` table, and as it was afterwards."""
    loop = asyncio.get_running_loop()
    config = stack.parley.config_path
    original = config.read_text()
    assert "[limits]" not in original
    config.write_text(original + f"\n[limits]\n{limits}\n")
    try:
        await loop.run_in_executor(None, _restart_parley, stack)
        yield
    finally:
        config.write_text(original)
        await loop.run_in_executor(None, _restart_parley, stack)


async def _room_of_needles(alice, service, name: str) -> str:
    """A new room of alice's with 20 messages a search for "needle" finds."""
    room = new_room(service, name)
    await create_room(alice, room, "Alice")
    for index in range(20):
        send_groupchat(alice, room, f"needle {index}")
    await say(alice, room, "done")
    return room


async def test_a_flood_of_searches_queues_a_bounded_number_of_answers(stack, alice, dave, service):
    """Many searches at once (from one address here; from many, each within its own rate, in an
    attack) hold at most `[limits] queued_queries` places until their answers are written: the
    rest get `resource-constraint` (wait) at once, the others their whole answers, and once
    those are written, searching works again. Parley runs with queued_queries = 1."""
    async with _parley_with_limits(stack, "queued_queries = 1"):
        room = await _room_of_needles(alice, service, "searchflood")
        await join(dave, room, "Dave")
        pages = await asyncio.gather(*(mam_query(dave, room, form={FULLTEXT_FIELD: "needle"}) for _ in range(6)))
        answered = [page for page in pages if page.reply["type"] == "result"]
        refused = [page for page in pages if page.reply["type"] == "error"]
        assert answered and refused, [page.reply["type"] for page in pages]
        for page in refused:
            assert_error(page.reply, "wait", "resource-constraint")
        for page in answered:
            assert len(page.results) == 20
        assert len((await mam_query(dave, room, form={FULLTEXT_FIELD: "needle"})).results) == 20


async def test_one_address_cannot_take_the_whole_search_queue(stack, alice, bob, dave, service):
    """One account firing searches at once holds at most `[limits] queued_queries_per_user`
    places: its searches past that get `resource-constraint` (wait) with a text saying why,
    while another user's search in the same moment is answered whole. Parley runs with
    queued_queries_per_user = 1 (and the service-wide queue at its default)."""
    async with _parley_with_limits(stack, "queued_queries_per_user = 1"):
        room = await _room_of_needles(alice, service, "searchshare")
        await join(dave, room, "Dave")
        await join(bob, room, "Bob")
        flood = [mam_query(dave, room, form={FULLTEXT_FIELD: "needle"}) for _ in range(6)]
        *pages, other = await asyncio.gather(*flood, mam_query(bob, room, form={FULLTEXT_FIELD: "needle"}))
        refused = [page for page in pages if page.reply["type"] == "error"]
        assert refused, "one address got six searches queued with a share of one"
        for page in refused:
            assert_error(page.reply, "wait", "resource-constraint")
            assert "not answered yet" in (error_of(page.reply)[2] or ""), page.reply
        for page in pages:
            if page.reply["type"] == "result":
                assert len(page.results) == 20
        assert_result(other.reply)
        assert len(other.results) == 20, "another address keeps its share"
        assert len((await mam_query(dave, room, form={FULLTEXT_FIELD: "needle"})).results) == 20
