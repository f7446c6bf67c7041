"""XEP-0045 errors that belong to no single use case: stanzas to rooms that do not exist,
entering without a nick, and requests from users without the privilege (§8, §9, §10
introductions: forbidden)."""

from __future__ import annotations

import pytest

from harness.muc import (admin_list, assert_error, assert_result, bare, create_room, expect_error_reply,
                         join, muc_x, send_groupchat, sender, set_affiliation)


async def test_groupchat_to_a_room_that_does_not_exist_is_item_not_found(alice, muc):
    room = muc.new_room("nowhere")

    sent = send_groupchat(alice, room, "anyone?")

    assert_error(await expect_error_reply(alice, "message", sent), "cancel", "item-not-found")


async def test_admin_request_to_a_room_that_does_not_exist_is_item_not_found(alice, muc):
    reply, _items = await admin_list(alice, muc.new_room("nowhere"), affiliation="member")

    assert_error(reply, "cancel", "item-not-found")


@pytest.mark.muc_xfail("prosody", reason="Prosody 0.12 ignores presence to the bare room JID from a "
                       "non-occupant instead of answering jid-malformed")
async def test_entering_without_a_nick_is_jid_malformed(alice, bob, muc):
    # §7.2.1: "If the user does not specify a room nickname ..., the service MUST return
    # a jid-malformed error" (type modify in the example).
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    presence = bob.xmpp.make_presence(pto=room)
    presence["id"] = "join-without-nick"
    presence.append(muc_x())
    presence.send()

    refusal = await expect_error_reply(bob, "presence", "join-without-nick", timeout=5)
    assert sender(refusal) == room, refusal
    assert_error(refusal, "modify", "jid-malformed")


async def test_participant_may_not_read_the_ban_list(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    reply, _items = await admin_list(bob, room, affiliation="outcast")

    assert_error(reply, "auth", "forbidden")


async def test_admin_may_not_read_the_owner_list_of_a_semi_anonymous_room(alice, bob, muc):
    # §10.5: "If the <user@host> of the 'from' address does not match the bare JID of a
    # room owner, the service MUST return a forbidden error to the sender in
    # semi-anonymous rooms."
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_whois": "moderators"})
    assert_result(await set_affiliation(alice, room, bare(str(bob.jid)), "admin"), "granting admin status")

    reply, _items = await admin_list(bob, room, affiliation="owner")

    assert_error(reply, "auth", "forbidden")
