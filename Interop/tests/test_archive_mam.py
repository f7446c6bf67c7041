"""The room archive through Prosody: XEP-0313 (urn:xmpp:mam:2) on room JIDs with XEP-0059
paging both ways, the form's filters (with, start/end, #extended ids, full text), errors,
the form and metadata, who may read, XEP-0425 moderation, and `parley archive` on the
command line agreeing with MAM. Parley only (Docs/protocol.md, "The archive" and
"Command line access to the archive")."""

from __future__ import annotations

import asyncio
import math
import os
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.muc import (NS_CLIENT, NS_DATA, assert_error, assert_result, bare, create_room, describe,
                         disco_features, forms_in, join, parse_xmpp_datetime, say, send_groupchat,
                         sender, set_affiliation, xml_of, xmpp_datetime)
from harness.parley_features import (FULLTEXT_FIELD, NS_DELAY, NS_FORWARD, NS_MAM, NS_MAM_EXTENDED,
                                     NS_MODERATE_0, NS_MODERATE_1, NS_RETRACT_0, NS_RETRACT_1, NS_RSM,
                                     is_retraction, json_lines, mam_all, mam_query, moderate_request, new_room,
                                     parley_bin, rsm_set, run_parley, stanza_id_of)
from harness.xmpp import Client

NS_ARCHIVE_EXPORT = "urn:parley:archive:0"


def _bare(client: Client) -> str:
    return bare(str(client.jid))


async def post_many(client: Client, room: str, bodies: list[str], timeout: float = 45.0) -> list[str]:
    """Send every body at once, then wait for each echo; returns the stanza-ids in order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    sent = [send_groupchat(client, room, body) for body in bodies]
    stanza_ids = []
    for message in sent:
        echo = await client.expect_message(
            lambda m, wanted=message["id"]: xml_of(m).get("id") == wanted and bare(sender(m)) == room,
            timeout=max(0.1, deadline - loop.time()), what=f"echo of {message['id']}")
        stanza_ids.append(stanza_id_of(echo, room))
    return stanza_ids


async def say_id(client: Client, room: str, body: str) -> str:
    return stanza_id_of(await say(client, room, body), room)


def assert_result_shape(result, room: str, queryid: str, nick: str, body: str | None, recipient: Client) -> None:
    """XEP-0313 §4.2 as Docs/protocol.md promises it for a room archive."""
    envelope = result.envelope
    assert envelope.tag == f"{{{NS_CLIENT}}}message", result.describe()
    assert envelope.get("from") == room, f"result not from the room JID: {result.describe()}"
    assert bare(envelope.get("to")) == _bare(recipient), result.describe()
    assert result.queryid == queryid, result.describe()
    assert result.id, f"<result/> without an id: {result.describe()}"
    assert result.forwarded is not None, f"no <forwarded xmlns='{NS_FORWARD}'/>: {result.describe()}"
    assert result.delay is not None, f"no <delay xmlns='{NS_DELAY}'/> in <forwarded/>: {result.describe()}"
    stamp = parse_xmpp_datetime(result.delay.get("stamp") or "")
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 600, result.describe()
    message = result.message
    assert message is not None, f"no <message xmlns='jabber:client'/> in <forwarded/>: {result.describe()}"
    assert message.get("type") == "groupchat", result.describe()
    assert message.get("from") == f"{room}/{nick}", result.describe()
    assert result.body == body, result.describe()


# -- paging ----------------------------------------------------------------------------------------

async def test_300_messages_page_forward_and_backward_exactly_once_in_order(alice, service):
    room = new_room(service, "mam300")
    await create_room(alice, room, "Alice")
    bodies = [f"message {n:03d}" for n in range(300)]
    stanza_ids = await post_many(alice, room, bodies)
    assert len(set(stanza_ids)) == 300, "stanza-ids are not unique"

    # Forward: <max>50</max>, then <after>last</after> until complete.
    seen, pages, after = [], [], None
    for _ in range(10):
        page = await mam_query(alice, room, rsm=rsm_set(max=50, after=after))
        assert_result(page.reply, "a forward MAM page")
        pages.append(page)
        seen.extend(page.results)
        assert page.count == 300, page.summary()
        if page.results:
            assert page.first == page.results[0].id and page.last == page.results[-1].id, page.summary()
            assert page.first_index == str(len(seen) - len(page.results)), page.summary()
        if page.complete:
            break
        after = page.last
    assert [len(p.results) for p in pages] == [50] * 6, [len(p.results) for p in pages]
    assert [p.complete for p in pages] == [False] * 5 + [True], "complete must be set on the last page only"
    assert [r.id for r in seen] == stanza_ids, "forward paging: ids differ from the live stanza-ids"
    assert [r.body for r in seen] == bodies
    for result in seen[:3] + seen[-3:]:
        assert_result_shape(result, room, result.queryid, "Alice", result.body, alice)
    assert len({r.queryid for r in pages[0].results}) == 1

    # Backward: <before/> (the last page), then <before>first</before>.
    seen_back, pages_back, before = [], [], ""
    for _ in range(10):
        page = await mam_query(alice, room, rsm=rsm_set(max=50, before=before))
        assert_result(page.reply, "a backward MAM page")
        pages_back.append(page)
        seen_back = page.results + seen_back
        assert page.count == 300, page.summary()
        if page.results:
            assert page.first == page.results[0].id and page.last == page.results[-1].id, page.summary()
            assert page.first_index == str(300 - len(seen_back)), page.summary()
        if page.complete:
            break
        before = page.first
    assert [len(p.results) for p in pages_back] == [50] * 6, [len(p.results) for p in pages_back]
    assert [p.complete for p in pages_back] == [False] * 5 + [True], \
        "complete must be set on the last page of the backward walk only"
    assert [r.id for r in pages_back[0].results] == stanza_ids[250:], "<before/> is not the last page"
    assert [r.id for r in seen_back] == stanza_ids
    assert [r.body for r in seen_back] == bodies


async def test_result_messages_carry_the_forwarded_groupchat_with_the_live_stanza_id(alice, bob, service):
    room = new_room(service, "mamshape")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    live = [await say(alice, room, "first words"), await say(bob, room, "second <words> & more")]
    live_ids = [stanza_id_of(m, room) for m in live]

    page = await mam_query(bob, room, queryid="shape-1")

    assert_result(page.reply, "the MAM query")
    fin = page.fin
    assert fin is not None and fin.tag == f"{{{NS_MAM}}}fin", describe(page.reply)
    assert fin.get("complete") == "true", describe(page.reply)
    assert fin.find(f"{{{NS_RSM}}}set") is not None, describe(page.reply)
    assert page.count == 2 and page.first == live_ids[0] and page.last == live_ids[1], page.summary()
    assert page.ids == live_ids, page.summary()
    assert_result_shape(page.results[0], room, "shape-1", "Alice", "first words", bob)
    assert_result_shape(page.results[1], room, "shape-1", "Bob", "second <words> & more", bob)
    # The forwarded stanza is what occupants saw: same stanza-id inside, no real JIDs.
    inner = page.results[1].message
    assert [(e.get("by"), e.get("id")) for e in inner.findall("{urn:xmpp:sid:0}stanza-id")] == [(room, live_ids[1])]
    assert "bob@localhost" not in ET.tostring(inner, encoding="unicode"), describe(inner)


# -- filters ------------------------------------------------------------------------------------------

async def test_with_filters_one_occupant_and_combines_with_paging(alice, bob, service):
    room = new_room(service, "mamwith")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    ids = {}
    for n in range(4):
        ids[f"a{n}"] = await say_id(alice, room, f"alice {n}")
        ids[f"b{n}"] = await say_id(bob, room, f"bob {n}")

    page = await mam_query(alice, room, form={"with": f"{room}/Bob"})
    assert_result(page.reply)
    assert page.bodies == [f"bob {n}" for n in range(4)], page.summary()
    assert page.ids == [ids[f"b{n}"] for n in range(4)]
    assert {r.nick for r in page.results} == {"Bob"}
    assert page.count == 4 and page.complete

    first = await mam_query(alice, room, form={"with": f"{room}/Bob"}, rsm=rsm_set(max=3))
    assert first.bodies == ["bob 0", "bob 1", "bob 2"], first.summary()
    assert first.count == 4 and not first.complete
    second = await mam_query(alice, room, form={"with": f"{room}/Bob"}, rsm=rsm_set(max=3, after=first.last))
    assert second.bodies == ["bob 3"], second.summary()
    assert second.complete

    nobody = await mam_query(alice, room, form={"with": f"{room}/Nobody"})
    assert_result(nobody.reply)
    assert nobody.results == [] and nobody.count == 0 and nobody.complete, nobody.summary()


async def _two_bursts(client: Client, room: str):
    """Three messages, a pause of over two seconds, three more: (early ids, late ids, stamps by id)."""
    early = [await say_id(client, room, f"early {n}") for n in range(3)]
    await asyncio.sleep(2.2)
    late = [await say_id(client, room, f"late {n}") for n in range(3)]
    everything = await mam_query(client, room)
    assert everything.ids == early + late, everything.summary()
    stamps = {r.id: r.stamp for r in everything.results}
    gap = parse_xmpp_datetime(stamps[late[0]]) - parse_xmpp_datetime(stamps[early[-1]])
    assert gap.total_seconds() > 2, stamps
    return early, late, stamps


async def test_start_and_end_select_by_time(alice, service):
    room = new_room(service, "mamtime")
    await create_room(alice, room, "Alice")
    early, late, stamps = await _two_bursts(alice, room)
    # A whole second between the two bursts.
    last_early = parse_xmpp_datetime(stamps[early[-1]])
    # The next whole second after it (not ceil: a message stamped on a whole second would
    # be its own boundary, and `start` includes it).
    boundary = datetime.fromtimestamp(math.floor(last_early.timestamp()) + 1, timezone.utc)
    assert boundary < parse_xmpp_datetime(stamps[late[0]])

    page = await mam_query(alice, room, form={"start": xmpp_datetime(boundary)})
    assert page.ids == late, page.summary()
    page = await mam_query(alice, room, form={"end": xmpp_datetime(boundary)})
    assert page.ids == early, page.summary()
    page = await mam_query(alice, room, form={"start": "2000-01-01T00:00:00Z", "end": xmpp_datetime(boundary)})
    assert page.ids == early, page.summary()
    # The exact stamp the archive reported for the first late message, as start.
    page = await mam_query(alice, room, form={"start": stamps[late[0]]})
    assert page.ids == late, page.summary()
    # Both, with paging.
    window = {"start": xmpp_datetime(boundary), "end": "2999-01-01T00:00:00Z"}
    page = await mam_query(alice, room, form=window, rsm=rsm_set(max=2))
    assert page.ids == late[:2] and page.count == 3 and not page.complete, page.summary()
    page = await mam_query(alice, room, form=window, rsm=rsm_set(max=2, after=page.last))
    assert page.ids == late[2:] and page.complete, page.summary()
    # A window with nothing in it.
    page = await mam_query(alice, room, form={"start": "2000-01-01T00:00:00Z", "end": "2000-01-02T00:00:00Z"})
    assert_result(page.reply)
    assert page.results == [] and page.count == 0, page.summary()


async def test_end_at_a_reported_stamp_includes_that_message(alice, service):
    # `end` is "at or before" (Docs/protocol.md; XEP-0313 §4.1.2): a client that takes the
    # <delay stamp/> MAM reported for a message as `end` must get that message back.
    room = new_room(service, "mamend")
    await create_room(alice, room, "Alice")
    early, late, stamps = await _two_bursts(alice, room)

    page = await mam_query(alice, room, form={"end": stamps[early[-1]]})
    assert page.ids == early, f"end={stamps[early[-1]]}: {page.summary()}"
    page = await mam_query(alice, room, form={"start": stamps[early[1]], "end": stamps[late[1]]})
    assert page.ids == early[1:] + late[:2], page.summary()


async def test_extended_after_id_before_id_and_ids(alice, service):
    room = new_room(service, "mamext")
    await create_room(alice, room, "Alice")
    ids = [await say_id(alice, room, f"m{n}") for n in range(10)]

    page = await mam_query(alice, room, form={"after-id": ids[2]})
    assert page.ids == ids[3:], page.summary()
    page = await mam_query(alice, room, form={"before-id": ids[7]})
    assert page.ids == ids[:7], page.summary()
    page = await mam_query(alice, room, form={"after-id": ids[2], "before-id": ids[7]})
    assert page.ids == ids[3:7] and page.count == 4 and page.complete, page.summary()
    page = await mam_query(alice, room, form={"ids": [ids[8], ids[1], ids[5]]})
    assert page.ids == [ids[1], ids[5], ids[8]], page.summary()
    # Combined with paging.
    page = await mam_query(alice, room, form={"after-id": ids[2]}, rsm=rsm_set(max=3))
    assert page.ids == ids[3:6] and page.count == 7 and not page.complete, page.summary()
    page = await mam_query(alice, room, form={"after-id": ids[2]}, rsm=rsm_set(max=3, before=""))
    # Paging backwards, the last page of the filtered results is not the end in that direction.
    assert page.ids == ids[7:10] and page.count == 7 and not page.complete, page.summary()
    page = await mam_query(alice, room, form={"after-id": ids[2]}, rsm=rsm_set(max=3, before=page.first))
    assert page.ids == ids[4:7] and not page.complete, page.summary()
    page = await mam_query(alice, room, form={"after-id": ids[2]}, rsm=rsm_set(max=3, before=page.first))
    assert page.ids == ids[3:4] and page.complete, page.summary()


async def test_fulltext_is_case_and_accent_insensitive_on_word_boundaries(alice, bob, service):
    room = new_room(service, "mamfts")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    ids = {
        "cafe1": await say_id(alice, room, "Meet me at the Café at noon"),
        "cafe2": await say_id(bob, room, "CAFE opens at eight"),
        "cafeteria": await say_id(alice, room, "the cafeteria is closed"),
        "ops1": await say_id(alice, room, "ops meeting moved"),
        "stops": await say_id(bob, room, "the train stops here"),
        "devops": await say_id(alice, room, "DevOps rocks"),
        "ops2": await say_id(bob, room, "Ops: all done"),
    }

    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "cafe"})
    assert_result(page.reply)
    assert page.ids == [ids["cafe1"], ids["cafe2"]], page.summary()
    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "CAFÉ"})
    assert page.ids == [ids["cafe1"], ids["cafe2"]], page.summary()
    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "ops"})
    assert page.ids == [ids["ops1"], ids["ops2"]], f"'ops' must not find 'stops' or 'DevOps': {page.summary()}"
    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "cafe opens"})
    assert page.ids == [ids["cafe2"]], f"every word must appear: {page.summary()}"
    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "nowhere"})
    assert_result(page.reply)
    assert page.results == [] and page.count == 0, page.summary()
    # Combined with paging and with `with`.
    first = await mam_query(alice, room, form={FULLTEXT_FIELD: "ops"}, rsm=rsm_set(max=1))
    assert first.ids == [ids["ops1"]] and first.count == 2 and not first.complete, first.summary()
    second = await mam_query(alice, room, form={FULLTEXT_FIELD: "ops"}, rsm=rsm_set(max=1, after=first.last))
    assert second.ids == [ids["ops2"]] and second.complete, second.summary()
    page = await mam_query(alice, room, form={FULLTEXT_FIELD: "cafe", "with": f"{room}/Bob"})
    assert page.ids == [ids["cafe2"]], page.summary()


# -- errors, form, metadata, discovery -------------------------------------------------------------------

async def test_unknown_rsm_id_is_item_not_found(alice, service):
    room = new_room(service, "mamerr")
    await create_room(alice, room, "Alice")
    await say(alice, room, "something")

    page = await mam_query(alice, room, rsm=rsm_set(max=10, after="nope"))
    assert_error(page.reply, "cancel", "item-not-found")
    assert page.results == []
    page = await mam_query(alice, room, rsm=rsm_set(max=10, before="nope"))
    assert_error(page.reply, "cancel", "item-not-found")
    page = await mam_query(alice, room, form={"after-id": "nope"})
    assert_error(page.reply, "cancel", "item-not-found")


async def test_malformed_start_is_bad_request(alice, service):
    room = new_room(service, "mamerr")
    await create_room(alice, room, "Alice")
    await say(alice, room, "something")

    page = await mam_query(alice, room, form={"start": "yesterday-ish"})
    assert_error(page.reply, "modify", "bad-request")
    assert page.results == []
    page = await mam_query(alice, room, form={"with": "someone@elsewhere.example/x"})
    assert_error(page.reply, "modify", "bad-request")
    page = await mam_query(alice, room, form={"no-such-field": "x"})
    assert_error(page.reply, "modify", "bad-request")


async def test_empty_query_get_returns_the_form(alice, service):
    room = new_room(service, "mamform")
    await create_room(alice, room, "Alice")

    reply = await alice.get(room, ET.Element(f"{{{NS_MAM}}}query"))

    assert_result(reply, "the MAM form request")
    query = xml_of(reply).find(f"{{{NS_MAM}}}query")
    assert query is not None, describe(reply)
    x = query.find(f"{{{NS_DATA}}}x")
    assert x is not None and x.get("type") == "form", describe(reply)
    form = forms_in(query)[0]
    assert form.fields["FORM_TYPE"].type == "hidden" and form.form_type == NS_MAM, describe(reply)
    assert {"with", "start", "end", "after-id", "before-id", "ids", FULLTEXT_FIELD} <= set(form.fields), \
        sorted(form.fields)


async def test_metadata_gives_first_and_last_ids_and_times(alice, service):
    room = new_room(service, "mammeta")
    await create_room(alice, room, "Alice")
    empty = await alice.get(room, ET.Element(f"{{{NS_MAM}}}metadata"))
    assert_result(empty, "metadata of an empty archive")
    metadata = xml_of(empty).find(f"{{{NS_MAM}}}metadata")
    assert metadata is not None and len(metadata) == 0, f"an empty archive has an empty <metadata/>: {describe(empty)}"

    ids = [await say_id(alice, room, f"meta {n}") for n in range(3)]
    everything = await mam_query(alice, room)
    reply = await alice.get(room, ET.Element(f"{{{NS_MAM}}}metadata"))

    assert_result(reply, "metadata")
    metadata = xml_of(reply).find(f"{{{NS_MAM}}}metadata")
    assert metadata is not None, describe(reply)
    start, end = metadata.find(f"{{{NS_MAM}}}start"), metadata.find(f"{{{NS_MAM}}}end")
    assert start is not None and end is not None, describe(reply)
    assert start.get("id") == ids[0] and end.get("id") == ids[-1], describe(reply)
    assert parse_xmpp_datetime(start.get("timestamp")) == parse_xmpp_datetime(everything.results[0].stamp), \
        (describe(reply), everything.results[0].stamp)
    assert parse_xmpp_datetime(end.get("timestamp")) == parse_xmpp_datetime(everything.results[-1].stamp), \
        (describe(reply), everything.results[-1].stamp)


async def test_room_disco_info_advertises_mam(alice, service):
    room = new_room(service, "mamdisco")
    await create_room(alice, room, "Alice")

    reply = await alice.disco_info(room)

    assert_result(reply)
    assert {NS_MAM, NS_MAM_EXTENDED} <= disco_features(reply), sorted(disco_features(reply))


# -- who may read --------------------------------------------------------------------------------------

async def test_members_only_archive_is_forbidden_to_non_members_until_they_are_members(alice, bob, service):
    room = new_room(service, "mammembers")
    await create_room(alice, room, "Alice", config={"muc#roomconfig_membersonly": True})
    sid = await say_id(alice, room, "members only words")

    page = await mam_query(bob, room)
    assert_error(page.reply, "auth", "forbidden")
    assert page.results == []

    assert_result(await set_affiliation(alice, room, _bare(bob), "member"), "granting membership")
    page = await mam_query(bob, room)
    assert_result(page.reply, "the member's query")
    assert page.ids == [sid] and page.bodies == ["members only words"], page.summary()


async def test_outcast_may_not_read_an_open_room(alice, bob, service):
    room = new_room(service, "mamban")
    await create_room(alice, room, "Alice")
    await say(alice, room, "public words")
    page = await mam_query(bob, room)
    assert_result(page.reply, "a non-member's query of an open room")
    assert page.bodies == ["public words"]

    assert_result(await set_affiliation(alice, room, _bare(bob), "outcast"), "the ban")
    page = await mam_query(bob, room)

    assert_error(page.reply, "auth", "forbidden")
    assert page.results == []


async def test_room_without_logging_is_service_unavailable(alice, bob, service):
    room = new_room(service, "mamoff")
    await create_room(alice, room, "Alice", config={"muc#roomconfig_enablelogging": False})
    await join(bob, room, "Bob")
    await say(alice, room, "not archived")

    for client in (alice, bob):
        page = await mam_query(client, room)
        assert_error(page.reply, "cancel", "service-unavailable")
        assert page.results == []
    reply = await alice.disco_info(room)
    assert NS_MAM not in disco_features(reply), sorted(disco_features(reply))


# -- moderation (XEP-0425) -----------------------------------------------------------------------------------

async def test_moderator_retracts_a_message_for_everyone_and_in_the_archive(alice, bob, carol, service):
    room = new_room(service, "mammod")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")
    keep_before = await say_id(carol, room, "hello all")
    spam = await say_id(bob, room, "buy spamware now")
    keep_after = await say_id(carol, room, "please no spamware")

    reply = await alice.set(room, moderate_request(spam))

    assert_result(reply, "the moderation request")
    for client in (alice, bob, carol):
        notice = await client.expect_message(lambda m: is_retraction(m, room, spam),
                                             what=f"the retraction notice for {spam}")
        assert xml_of(notice).get("type") == "groupchat", describe(notice)
        retract = xml_of(notice).find(f"{{{NS_RETRACT_1}}}retract")
        moderated = retract.find(f"{{{NS_MODERATE_1}}}moderated")
        assert moderated is not None, f"no <moderated xmlns='{NS_MODERATE_1}'/> in <retract/>: {describe(notice)}"
        assert moderated.get("by") == f"{room}/Alice", describe(notice)

    page = await mam_query(carol, room)
    assert page.ids == [keep_before, spam, keep_after], page.summary()
    tombstone = page.results[1]
    assert tombstone.message is not None, tombstone.describe()
    assert tombstone.message.find(f"{{{NS_CLIENT}}}body") is None, f"the body is still there: {tombstone.describe()}"
    moderated = tombstone.message.find(f"{{{NS_MODERATE_0}}}moderated")
    assert moderated is not None, f"no <moderated xmlns='{NS_MODERATE_0}'/> tombstone: {tombstone.describe()}"
    assert moderated.get("by") == f"{room}/Alice", tombstone.describe()
    retracted = moderated.find(f"{{{NS_RETRACT_0}}}retracted")
    assert retracted is not None and retracted.get("stamp"), tombstone.describe()
    parse_xmpp_datetime(retracted.get("stamp"))
    assert "spamware now" not in ET.tostring(tombstone.envelope, encoding="unicode"), tombstone.describe()

    found = await mam_query(carol, room, form={FULLTEXT_FIELD: "spamware"})
    assert found.ids == [keep_after], f"the retracted message is still in the full-text index: {found.summary()}"


async def test_participant_may_not_moderate_and_unknown_ids_are_item_not_found(alice, bob, service):
    room = new_room(service, "mammod")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    sid = await say_id(alice, room, "the owner speaks")

    reply = await bob.set(room, moderate_request(sid))
    assert_error(reply, "auth", "forbidden")
    page = await mam_query(alice, room)
    assert page.bodies == ["the owner speaks"], page.summary()

    reply = await alice.set(room, moderate_request("no-such-stanza-id"))
    assert_error(reply, "cancel", "item-not-found")


# -- the command line -------------------------------------------------------------------------------

@pytest.fixture
def parley_config(stack):
    if stack.parley is None:
        pytest.skip("no Parley in this run (INTEROP_NO_PARLEY=1)")
    return str(stack.parley.config_path)


async def _room_with_history(alice: Client, bob: Client, service: str):
    """A room with messages from Alice and Bob, one of them moderated; returns (room, MAM results)."""
    room = new_room(service, "cli")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await say(alice, room, "deploy starts now")
    await say(bob, room, "deploy looks fine, ship it")
    spam = await say_id(bob, room, "cheap watches here")
    await say(alice, room, "Unicode: Grüße, 日本語 & <angle> \"quotes\"")
    await say(bob, room, "multi\nline")
    await say(alice, room, "deploy finished")
    assert_result(await alice.set(room, moderate_request(spam, reason="advertising")), "the moderation")
    await bob.expect_message(lambda m: is_retraction(m, room, spam), what="the retraction notice")
    results = await mam_all(alice, room)
    assert len(results) == 6
    return room, spam, results


async def test_cli_export_jsonl_matches_mam(alice, bob, service, parley_config):
    room, spam, results = await _room_with_history(alice, bob, service)

    run = await run_parley("archive", "export", "--config", parley_config, "--room", room, "--format", "jsonl")

    assert run.returncode == 0, run.describe()
    records = json_lines(run.stdout)
    assert [r["stanza_id"] for r in records] == [r.id for r in results], run.describe()
    assert [r["nick"] for r in records] == [r.nick for r in results], run.describe()
    assert [r["body"] for r in records] == [r.body or "" for r in results], run.describe()
    for record in records:
        assert {"stanza_id", "time", "nick", "jid", "body", "moderated"} <= set(record), record
        parse_xmpp_datetime(record["time"])
        if record["stanza_id"] == spam:
            assert record["body"] == "", record
            assert record["moderated"] is not None and record["moderated"]["by"] == f"{room}/Alice", record
        else:
            assert record["moderated"] is None, record
            assert record["jid"] == {"Alice": _bare(alice), "Bob": _bare(bob)}[record["nick"]], record
    # The room's local name names the same room.
    by_name = await run_parley("archive", "export", "--config", parley_config, "--room", room.split("@")[0])
    assert by_name.returncode == 0, by_name.describe()
    assert json_lines(by_name.stdout) == records


async def test_cli_search_finds_exactly_the_matching_messages(alice, bob, service, parley_config):
    room, _spam, _results = await _room_with_history(alice, bob, service)
    mam = await mam_query(alice, room, form={FULLTEXT_FIELD: "deploy"})
    assert len(mam.results) == 3, mam.summary()

    run = await run_parley("archive", "search", "--config", parley_config, "--room", room,
                           "--text", "deploy", "--json")

    assert run.returncode == 0, run.describe()
    records = json_lines(run.stdout)
    assert sorted(r["stanza_id"] for r in records) == sorted(mam.ids), run.describe()
    assert len(records) == 3
    assert {r["body"] for r in records} == set(mam.bodies)

    nothing = await run_parley("archive", "search", "--config", parley_config, "--room", room,
                               "--text", "watches", "--json")
    assert nothing.returncode == 0, nothing.describe()
    assert json_lines(nothing.stdout) == [], "the moderated message is still found: " + nothing.describe()


async def test_cli_export_xml_is_well_formed_with_one_record_per_message(alice, bob, service, parley_config):
    room, spam, results = await _room_with_history(alice, bob, service)

    run = await run_parley("archive", "export", "--config", parley_config, "--room", room, "--format", "xml")

    assert run.returncode == 0, run.describe()
    try:
        root = ET.fromstring(run.stdout.encode("utf-8"))
    except ET.ParseError as error:
        raise AssertionError(f"the XML export is not well-formed: {error}\n{run.describe()}") from None
    assert root.tag == f"{{{NS_ARCHIVE_EXPORT}}}archive" and root.get("room") == room, run.stdout[:500]
    records = root.findall(f"{{{NS_ARCHIVE_EXPORT}}}record")
    assert len(records) == len(list(root)) == 6, run.stdout[:2000]
    assert [r.get("stanza-id") for r in records] == [r.id for r in results]
    assert [r.get("nick") for r in records] == [r.nick for r in results]
    for record, result in zip(records, results):
        message = record.find(f"{{{NS_CLIENT}}}message")
        assert message is not None, ET.tostring(record, encoding="unicode")
        assert message.findtext(f"{{{NS_CLIENT}}}body") == result.body, ET.tostring(record, encoding="unicode")
        parse_xmpp_datetime(record.get("time"))
        if record.get("stanza-id") == spam:
            assert record.get("moderated-by") == f"{room}/Alice", ET.tostring(record, encoding="unicode")
        else:
            assert record.get("moderated-by") is None


def _run_with_terminal_stderr(argv: list[str]) -> tuple[int, str, str]:
    """Runs a command with standard error on a pseudo-terminal (as an admin at a shell
    sees it) and standard output on a pipe (as when exporting into a file)."""
    import pty
    import subprocess
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=terminal)
        os.close(terminal)
        seen = bytearray()
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:       # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        stdout = process.stdout.read()
        return process.wait(timeout=30), stdout.decode(), seen.decode(errors="replace")
    finally:
        os.close(controller)


async def test_cli_export_shows_progress_on_a_terminal_and_none_when_piped(alice, bob, service, parley_config):
    room, _spam, results = await _room_with_history(alice, bob, service)
    argv = [str(parley_bin()), "archive", "export", "--config", parley_config, "--room", room]
    status, stdout, terminal = await asyncio.get_running_loop().run_in_executor(None, _run_with_terminal_stderr, argv)
    assert status == 0, terminal
    assert len(json_lines(stdout)) == len(results)
    assert f"100% {len(results)}/{len(results)} messages" in terminal, terminal
    piped = await run_parley(*argv[1:])
    assert piped.returncode == 0 and "\r" not in piped.stderr and "%" not in piped.stderr, piped.describe()
    # The backup cannot know its fraction (one step copies everything): it shows its time.
    copy = Path(parley_config).parent / f"progress-{uuid.uuid4().hex[:8]}.sqlite"
    argv = [str(parley_bin()), "backup", "--config", parley_config, "--to", str(copy)]
    status, stdout, terminal = await asyncio.get_running_loop().run_in_executor(None, _run_with_terminal_stderr, argv)
    try:
        assert status == 0 and "integrity ok" in stdout, (stdout, terminal)
        assert f"backup to {copy}" in terminal and "copied and checked" in terminal, terminal
    finally:
        copy.unlink(missing_ok=True)


async def test_cli_sweep_expires_what_retention_no_longer_keeps(alice, service, parley_config, tmp_path):
    """`parley archive sweep` runs the retention sweep by hand, beside the running service."""
    import sqlite3
    old_room, new_room_jid = new_room(service, "sweepold"), new_room(service, "sweepnew")
    await create_room(alice, old_room, "Alice")
    await create_room(alice, new_room_jid, "Alice")
    for n in range(7):
        await say(alice, old_room, f"old news {n}")
    await say(alice, new_room_jid, "fresh")
    # Ten days pass for one room's messages (the service keeps running; WAL lets both write).
    database = Path(parley_config).parent / "parley.sqlite"
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute("UPDATE archive SET timestamp = timestamp - 864000 WHERE room = ?", (old_room,))
    text = Path(parley_config).read_text()
    assert "[archive]" not in text
    config = tmp_path / "sweep.toml"
    config.write_text(text + "\n[archive]\nretention_days = 1\n")
    argv = [str(parley_bin()), "archive", "sweep", "--config", str(config)]
    status, stdout, terminal = await asyncio.get_running_loop().run_in_executor(None, _run_with_terminal_stderr, argv)
    assert status == 0, terminal
    assert "sweep: 7 archived messages expired" in stdout, stdout
    assert "100% 7/7 messages" in terminal, terminal
    assert (await mam_all(alice, old_room)) == []
    assert [r.body for r in await mam_all(alice, new_room_jid)] == ["fresh"]
