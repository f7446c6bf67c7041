"""XEP-0045 §8: moderator use cases — kicking (307), granting and revoking voice in a
moderated room, the voice list, and what a moderator may not do."""

from __future__ import annotations

from harness.muc import (KICKED, SELF, admin_list, assert_error, assert_result, bare, create_room,
                         expect_error_reply, expect_presence, item, join, say, send_groupchat,
                         set_affiliation, set_role, status_codes)


async def test_moderator_kicks_a_participant_who_gets_307_with_the_reason(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")

    reply = await set_role(alice, room, "Bob", "none", reason="Avaunt, you cullion!")

    assert_result(reply, "the kick")
    kicked = await expect_presence(bob, f"{room}/Bob", unavailable=True, codes={KICKED, SELF})
    assert item(kicked).role == "none", kicked
    assert item(kicked).reason == "Avaunt, you cullion!", kicked
    for occupant in (alice, carol):
        seen = await expect_presence(occupant, f"{room}/Bob", unavailable=True, codes={KICKED})
        assert SELF not in status_codes(seen), seen
        assert item(seen).role == "none", seen


async def test_kicked_occupant_is_no_longer_in_the_room(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    assert_result(await set_role(alice, room, "Bob", "none"), "the kick")
    await expect_presence(bob, f"{room}/Bob", unavailable=True, codes={KICKED})

    sent = send_groupchat(bob, room, "still here?")

    assert_error(await expect_error_reply(bob, "message", sent), None, "not-acceptable")


async def test_participant_may_not_kick(alice, bob, carol, muc):
    # Parley's choice, as Prosody's: not-allowed (XEP-0045 §8.2's condition for kicking
    # someone of higher affiliation). The §8 introduction asks for forbidden instead.
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")

    reply = await set_role(bob, room, "Carol", "none")

    assert_error(reply, "cancel", "not-allowed")


async def test_moderator_may_not_kick_an_occupant_of_higher_affiliation(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    assert_result(await set_affiliation(alice, room, bare(str(bob.jid)), "admin"), "granting admin status")
    await expect_presence(bob, f"{room}/Bob", unavailable=False, predicate=lambda p: item(p).role == "moderator")

    reply = await set_role(bob, room, "Alice", "none")

    assert_error(reply, "cancel", "not-allowed")


async def test_kicking_a_nick_not_in_the_room_is_item_not_found(alice, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    reply = await set_role(alice, room, "Nobody", "none")

    assert_error(reply, None, "item-not-found")


async def test_moderator_grants_voice_to_a_visitor_and_revokes_it(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_moderatedroom": True})
    await join(carol, room, "Carol")
    entered = await join(bob, room, "Bob")
    assert entered.item.role == "visitor", entered.summary()
    await expect_presence(carol, f"{room}/Bob", unavailable=False)

    assert_result(await set_role(alice, room, "Bob", "participant", reason="speak"), "granting voice")

    for occupant, codes in ((bob, {SELF}), (carol, set())):
        granted = await expect_presence(occupant, f"{room}/Bob", unavailable=False, codes=codes,
                                        predicate=lambda p: item(p).role == "participant")
        assert item(granted).affiliation == "none", granted
    await say(bob, room, "thank you")

    assert_result(await set_role(alice, room, "Bob", "visitor"), "revoking voice")

    for occupant in (bob, carol):
        await expect_presence(occupant, f"{room}/Bob", unavailable=False,
                              predicate=lambda p: item(p).role == "visitor")
    sent = send_groupchat(bob, room, "and now?")
    assert_error(await expect_error_reply(bob, "message", sent), "auth", "forbidden")


async def test_moderator_reads_the_voice_list(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_moderatedroom": True})
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")
    assert_result(await set_role(alice, room, "Bob", "participant"), "granting voice")

    reply, participants = await admin_list(alice, room, role="participant")

    assert_result(reply, "the voice list request")
    assert [(i.nick, i.role) for i in participants] == [("Bob", "participant")], participants
    _reply, visitors = await admin_list(alice, room, role="visitor")
    assert [i.nick for i in visitors] == ["Carol"], visitors


async def test_participant_may_not_read_the_voice_list(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    reply, _items = await admin_list(bob, room, role="participant")

    assert_error(reply, "auth", "forbidden")
