"""XEP-0045 §7.4 and §7.5: messages to all occupants and private messages, and who may
send them."""

from __future__ import annotations

import pytest

from harness.muc import (NS_MUC_USER, WrongErrorType, assert_error, create_room, expect_error_reply,
                         expect_groupchat, join, send_groupchat, send_private, sender,
                         stanza_ids_of, type_of, user_x)


async def test_groupchat_is_reflected_to_every_occupant_with_the_senders_id(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")

    sent = send_groupchat(bob, room, "Harpier cries: 'tis time, 'tis time.")

    for occupant in (alice, bob, carol):
        copy = await expect_groupchat(occupant, room, lambda m: m["id"] == sent["id"])
        assert sender(copy) == f"{room}/Bob", copy
        assert copy["body"] == "Harpier cries: 'tis time, 'tis time."
        assert copy["to"].full == str(occupant.jid)


@pytest.mark.muc_only("parley", reason="XEP-0359 stanza-ids come with Parley's archive; Prosody 0.12 "
                      "adds them only with mod_muc_mam")
async def test_every_reflection_carries_the_same_stanza_id_by_the_room(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")

    sent = send_groupchat(alice, room, "one id for all")

    ids = []
    for occupant in (alice, bob, carol):
        copy = await expect_groupchat(occupant, room, lambda m: m["id"] == sent["id"])
        found = stanza_ids_of(copy)
        assert len(found) == 1, f"expected one <stanza-id/>: {copy}"
        by, stanza_id = found[0]
        assert by == room and stanza_id, copy
        ids.append(stanza_id)
    assert len(set(ids)) == 1, f"recipients got different stanza-ids: {ids}"


@pytest.mark.muc_xfail("prosody", raises=WrongErrorType,
                       reason="Prosody 0.12 answers cancel/not-acceptable; XEP-0045 §7.4 names only the "
                       "condition, and RFC 6120 §8.3.3.10 gives not-acceptable the type modify")
async def test_groupchat_from_a_non_occupant_is_not_acceptable(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    sent = send_groupchat(bob, room, "let me in")

    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, "modify", "not-acceptable")
    assert not [m for m in alice.received("message") if m["id"] == sent["id"]]


async def test_visitor_in_a_moderated_room_may_not_send_groupchat(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_moderatedroom": True})
    entered = await join(bob, room, "Bob")
    assert entered.item.role == "visitor", entered.summary()

    sent = send_groupchat(bob, room, "may I speak?")

    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, "auth", "forbidden")


async def test_private_message_reaches_the_occupant_from_the_senders_occupant_jid(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    sent = send_private(bob, f"{room}/Alice", "I'll give thee a wind.")

    received = await alice.expect_message(lambda m: m["id"] == sent["id"], what="the private message")
    assert type_of(received) == "chat", received
    assert sender(received) == f"{room}/Bob", received
    assert received["body"] == "I'll give thee a wind."
    assert user_x(received) is not None, f"no <x xmlns='{NS_MUC_USER}'/> on the private message: {received}"


async def test_private_message_to_a_nick_not_in_the_room_is_item_not_found(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    sent = send_private(bob, f"{room}/Nobody", "hello?")

    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, "cancel", "item-not-found")


async def test_private_message_from_a_non_occupant_is_not_acceptable(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    sent = send_private(bob, f"{room}/Alice", "psst")

    # §7.5 names the condition only.
    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, None, "not-acceptable")
    assert not [m for m in alice.received("message") if m["id"] == sent["id"]]


async def test_groupchat_addressed_to_an_occupant_is_a_bad_request(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    sent = bob.send_message(f"{room}/Alice", "not like this", kind="groupchat")

    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, "modify", "bad-request")
