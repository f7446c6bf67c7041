"""XEP-0045 §8.1 and §7.2.16: the room subject — who may change it, how the change is
broadcast, and that a joiner gets it last."""

from __future__ import annotations

from harness.muc import (assert_error, create_room, expect_error_reply, expect_groupchat,
                         is_subject_change, join, send_subject, sender, subject_of)


def _subject(text: str):
    return lambda m: is_subject_change(m) and subject_of(m) == text


async def test_moderator_changes_the_subject_and_every_occupant_sees_it(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    send_subject(alice, room, "Fire Burn and Cauldron Bubble!")

    for occupant in (alice, bob):
        change = await expect_groupchat(occupant, room, _subject("Fire Burn and Cauldron Bubble!"),
                                        what="the subject change")
        assert sender(change) == f"{room}/Alice", change


async def test_joiner_gets_the_current_subject_last(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    send_subject(alice, room, "Cauldron")
    await expect_groupchat(alice, room, _subject("Cauldron"), what="the subject change")

    entered = await join(carol, room, "Carol")

    assert entered.shape()[-1] == "subject", entered.summary()
    assert subject_of(entered.subject) == "Cauldron", entered.summary()


async def test_participant_may_not_change_the_subject_when_the_room_forbids_it(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_changesubject": False})
    await join(bob, room, "Bob")

    sent = send_subject(bob, room, "mine now")

    bounce = await expect_error_reply(bob, "message", sent)
    assert_error(bounce, "auth", "forbidden")


async def test_participant_changes_the_subject_when_the_room_allows_it(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_changesubject": True})
    await join(bob, room, "Bob")

    send_subject(bob, room, "ours")

    change = await expect_groupchat(alice, room, _subject("ours"), what="the subject change")
    assert sender(change) == f"{room}/Bob", change
