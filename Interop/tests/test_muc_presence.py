"""XEP-0045 §7.6, §7.7, §7.14 and §7.2.3–7.2.5: presence in a room — availability changes,
nick changes, exiting, and who sees real JIDs in semi-anonymous and non-anonymous rooms."""

from __future__ import annotations

from harness.muc import (NICK_CHANGED, NON_ANONYMOUS, SELF, assert_error, create_room,
                         expect_error_reply, expect_presence, item, join, leave, send_presence,
                         sender, status_codes, text_of)


async def test_availability_change_is_broadcast_with_show_status_and_item(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    send_presence(bob, f"{room}/Bob", show="away", status="lunch")

    for occupant, own in ((alice, False), (bob, True)):
        presence = await expect_presence(occupant, f"{room}/Bob", unavailable=False,
                                         predicate=lambda p: text_of(p, "show") == "away")
        assert text_of(presence, "status") == "lunch", presence
        assert (item(presence).affiliation, item(presence).role) == ("none", "participant")
        assert (SELF in status_codes(presence)) == own, presence


async def test_nick_change_is_an_unavailable_with_303_then_the_new_nick(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await expect_presence(alice, f"{room}/Bob", unavailable=False)

    send_presence(bob, f"{room}/Robert")

    for occupant, own in ((alice, False), (bob, True)):
        # First the old nick leaves (303, with the new nick in its item), then the new one enters.
        gone = await occupant.expect_presence(
            lambda p: sender(p) in (f"{room}/Bob", f"{room}/Robert") and p["type"] != "error",
            what="presence for the old or the new nick")
        assert sender(gone) == f"{room}/Bob" and gone["type"] == "unavailable", gone
        assert NICK_CHANGED in status_codes(gone), gone
        assert item(gone).nick == "Robert", gone
        assert (SELF in status_codes(gone)) == own, gone
        back = await expect_presence(occupant, f"{room}/Robert", unavailable=False)
        assert (SELF in status_codes(back)) == own, back
        assert (item(back).affiliation, item(back).role) == ("none", "participant")


async def test_changing_to_a_nick_in_use_is_a_conflict(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    sent = send_presence(bob, f"{room}/Alice")

    refusal = await expect_error_reply(bob, "presence", sent)
    assert_error(refusal, "cancel", "conflict")
    assert sender(refusal) == f"{room}/Alice"


async def test_exit_broadcasts_unavailable_with_the_status_text(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")

    own = await leave(bob, room, "Bob", status="bye")

    assert text_of(own, "status") == "bye", own
    assert item(own).role == "none", own
    for occupant in (alice, carol):
        presence = await expect_presence(occupant, f"{room}/Bob", unavailable=True)
        assert text_of(presence, "status") == "bye", presence
        assert SELF not in status_codes(presence), presence
        assert item(presence).role == "none", presence


async def test_a_nick_is_free_again_once_its_occupant_has_left(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await leave(bob, room, "Bob")

    entered = await join(carol, room, "Bob")

    assert SELF in entered.codes


async def test_semi_anonymous_room_shows_real_jids_to_moderators_only(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_whois": "moderators"})
    bob_entered = await join(bob, room, "Bob")

    carol_entered = await join(carol, room, "Carol")

    # A participant sees no real JIDs, neither on entering nor afterwards.
    assert NON_ANONYMOUS not in carol_entered.codes
    for nick in ("Alice", "Bob"):
        assert item(carol_entered.presence_of(nick)).jid is None, carol_entered.summary()
    assert item(bob_entered.presence_of("Alice")).jid is None, bob_entered.summary()
    seen_by_bob = await expect_presence(bob, f"{room}/Carol", unavailable=False)
    assert item(seen_by_bob).jid is None, seen_by_bob
    # A moderator sees the joiner's full JID.
    seen_by_alice = await expect_presence(alice, f"{room}/Carol", unavailable=False)
    assert item(seen_by_alice).jid == str(carol.jid), seen_by_alice


async def test_non_anonymous_room_shows_every_real_jid_to_everyone(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_whois": "anyone"})
    await join(bob, room, "Bob")

    carol_entered = await join(carol, room, "Carol")

    assert {SELF, NON_ANONYMOUS} <= carol_entered.codes, carol_entered.summary()
    assert item(carol_entered.presence_of("Alice")).jid == str(alice.jid)
    assert item(carol_entered.presence_of("Bob")).jid == str(bob.jid)
    seen_by_bob = await expect_presence(bob, f"{room}/Carol", unavailable=False)
    assert item(seen_by_bob).jid == str(carol.jid), seen_by_bob

