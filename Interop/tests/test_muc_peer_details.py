"""The details that Prosody's and ejabberd's MUCs get right and that real clients rely on
(aioxmpp leaves through the bare room JID and reads its own JID from self-presence;
Conversations, Dino and Gajim fetch avatars through the room; clients catch up with MAM
from the last stanza-id they saw). Each of these was once wrong in Parley."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from harness.muc import (NICK_CHANGED, NS_CLIENT, SELF, assert_error, assert_result, attr, bare,
                         configure, create_room, expect_error_reply, expect_presence, item, items, join,
                         say, send_groupchat, send_presence, sender, set_affiliation, stanza_ids_of,
                         status_codes, text_of, type_of, xml_of)
from harness.parley_features import mam_query, rsm_set

NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_VCARD = "vcard-temp"


def _full(client) -> str:
    return str(client.jid)


async def test_presence_to_the_bare_room_jid_applies_to_the_senders_occupant(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    # A status change without a nick (what aioxmpp sends to the bare room JID).
    send_presence(bob, room, show="away", status="brb")
    seen = await expect_presence(alice, f"{room}/Bob", unavailable=False,
                                 predicate=lambda p: text_of(p, "show") == "away")
    assert text_of(seen, "status") == "brb", seen

    # aioxmpp's leave(): unavailable to the bare room JID. It must end in our own 110.
    send_presence(bob, room, kind="unavailable")
    await expect_presence(bob, f"{room}/Bob", unavailable=True, codes={SELF})
    await expect_presence(alice, f"{room}/Bob", unavailable=True)


@pytest.mark.muc_xfail("prosody", reason="Prosody 0.12 ignores nick-less presence from a non-occupant")
async def test_presence_without_a_nick_from_a_stranger_is_refused(alice, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    send_presence(carol, room, show="away")
    refusal = await carol.expect_presence(lambda p: type_of(p) == "error" and bare(sender(p)) == room,
                                          what="error presence from the room")
    assert_error(refusal, "modify", "jid-malformed")


async def test_nick_change_unavailable_keeps_role_and_affiliation(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    send_presence(alice, f"{room}/Alicia")
    gone = await expect_presence(bob, f"{room}/Alice", unavailable=True, codes={NICK_CHANGED})
    assert (item(gone).role, item(gone).affiliation, item(gone).nick) == ("moderator", "owner", "Alicia"), gone


async def test_self_presence_carries_the_own_full_jid_in_a_semi_anonymous_room(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_whois": "moderators"})
    entered = await join(bob, room, "Bob")
    assert item(entered.self_presence).jid == _full(bob), entered.self_presence
    # …but a participant still does not see the others' real JIDs.
    alice_seen = [p for p in entered.occupants if sender(p) == f"{room}/Alice"]
    assert alice_seen and item(alice_seen[0]).jid is None, alice_seen


@pytest.mark.muc_only("parley", reason="Prosody 0.12 sends the notice but no 101 courtesy message")
async def test_affiliation_change_of_an_absent_user_is_announced_then_answered(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    carol_bare = bare(_full(carol))

    def is_notice(m) -> bool:
        return (sender(m) == room and type_of(m) != "error"
                and any(i.jid == carol_bare and i.affiliation == "member" for i in items(m)))

    assert_result(await set_affiliation(alice, room, carol_bare, "member"), "membership for an absent user")
    # Sent before the IQ result (as Prosody sends it), so it is here once the result is.
    assert [m for m in alice.received("message") if is_notice(m)], alice.received("message")[-3:]
    # Bob, a participant of a semi-anonymous room, must not learn Carol's JID.
    await say(bob, room, "sync")
    assert not [m for m in bob.received("message") if is_notice(m)]
    courtesy = await carol.expect_message(lambda m: sender(m) == room and 101 in status_codes(m),
                                          what="the 101 courtesy message")
    assert any(i.affiliation == "member" for i in items(courtesy)), courtesy


@pytest.mark.muc_only("parley", reason="the archiving field and 104-only-for-non-privacy are Parley's rule")
async def test_configuration_changes_announce_each_applicable_status_code_once(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    async def change(values) -> set[int]:
        await configure(alice, room, values)
        notice = await bob.expect_message(lambda m: sender(m) == room and status_codes(m), what="config notice")
        return status_codes(notice)

    assert await change({"muc#roomconfig_roomname": "Renamed"}) == {104}
    assert await change({"muc#roomconfig_enablearchiving": False}) == {171}
    assert await change({"muc#roomconfig_whois": "anyone"}) == {172}
    assert await change({"muc#roomconfig_roomname": "Again", "muc#roomconfig_enablearchiving": True,
                         "muc#roomconfig_whois": "moderators"}) == {104, 170, 173}


@pytest.mark.muc_xfail("prosody", reason="Prosody 0.12 refuses a non-occupant's groupchat without 'by'")
async def test_errors_from_a_room_name_the_room_in_by(alice, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    sent = send_groupchat(carol, room, "I am not in this room")
    refusal = await expect_error_reply(carol, "message", sent)
    error = xml_of(refusal).find(f"{{{NS_CLIENT}}}error")
    assert error is not None and error.get("by") == room, ET.tostring(xml_of(refusal))


@pytest.mark.muc_only("parley", reason="Prosody 0.12 rebuilds the subject message without the sender's thread")
async def test_subject_change_keeps_the_thread(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    message = alice.xmpp.make_message(mto=room, mtype="groupchat")
    message["id"] = f"subject-{uuid.uuid4().hex[:8]}"
    ET.SubElement(message.xml, f"{{{NS_CLIENT}}}subject").text = "Release day"
    ET.SubElement(message.xml, f"{{{NS_CLIENT}}}thread").text = "release-42"
    message.send()
    seen = await bob.expect_message(lambda m: text_of(m, "subject") == "Release day", what="the new subject")
    assert text_of(seen, "thread") == "release-42", seen


async def test_a_presence_probe_to_an_occupant_refreshes_it(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    send_presence(alice, f"{room}/Alice", show="dnd", status="focus")
    await expect_presence(bob, f"{room}/Alice", unavailable=False, predicate=lambda p: text_of(p, "show") == "dnd")

    bob.send_presence(f"{room}/Alice", kind="probe")
    again = await expect_presence(bob, f"{room}/Alice", unavailable=False)
    assert (text_of(again, "show"), text_of(again, "status")) == ("dnd", "focus"), again
    assert item(again).role == "moderator", again


@pytest.mark.muc_only("parley", reason="the reference Prosody in the tests runs no vCard store")
async def test_a_vcard_request_to_an_occupant_is_answered_from_the_users_server(alice, bob, muc):
    vcard = ET.Element(f"{{{NS_VCARD}}}vCard")
    ET.SubElement(vcard, f"{{{NS_VCARD}}}FN").text = "Alice Liddell"
    assert_result(await alice.set(None, vcard), "publishing Alice's vCard")

    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    reply = await bob.get(f"{room}/Alice", ET.Element(f"{{{NS_VCARD}}}vCard"))
    assert reply["type"] == "result", reply
    assert sender(reply) == f"{room}/Alice", reply
    fn = xml_of(reply).find(f"{{{NS_VCARD}}}vCard/{{{NS_VCARD}}}FN")
    assert fn is not None and fn.text == "Alice Liddell", reply


@pytest.mark.muc_only("parley", reason="stanza-ids and MAM come with Parley's archive")
async def test_only_archived_messages_get_a_stanza_id_and_mam_accepts_each_one(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    first = await say(alice, room, "before the typing")
    state = ET.Element(f"{{{NS_CHATSTATES}}}composing")
    sent = alice.send_message(room, None, kind="groupchat", extra=[state])
    typing = await bob.expect_message(lambda m: attr(m, "id") == sent["id"], what="the chat state")
    assert not stanza_ids_of(typing), typing
    last = await say(alice, room, "after the typing")

    given = [sid for stanza in (first, last) for by, sid in stanza_ids_of(stanza) if by == room]
    assert len(given) == 2, (first, last)
    for stanza_id in given:
        page = await mam_query(bob, room, form={"after-id": stanza_id})
        assert page.reply["type"] == "result", page.summary()
        page = await mam_query(bob, room, rsm=rsm_set(after=stanza_id))
        assert page.reply["type"] == "result", page.summary()
