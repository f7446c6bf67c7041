"""XEP-0045 §7.2 and §10.1: creating a room and entering it — locking until the owner
configures it, the order of what a joiner receives, and each reason a room refuses entry."""

from __future__ import annotations

import pytest

from harness.muc import (CREATED, LOGGING_ENABLED, NON_ANONYMOUS, SELF, assert_error, assert_result,
                         bare, create_room, delay_of, expect_presence, item, join, join_refused,
                         parse_xmpp_datetime, resource, say, sender, set_affiliation, status_codes,
                         submit_instant, subject_of)


async def test_first_presence_creates_a_locked_room_owned_by_its_creator(alice, bob, muc):
    room = muc.new_room()

    entered = await join(alice, room, "Alice")

    assert {SELF, CREATED} <= entered.codes, entered.summary()
    assert sender(entered.self_presence) == f"{room}/Alice"
    assert (entered.item.affiliation, entered.item.role) == ("owner", "moderator")
    # §10.1.1: until the owner configures it, the room does not exist for anyone else.
    refusal = await join_refused(bob, room, "Bob")
    assert_error(refusal, "cancel", "item-not-found")
    assert sender(refusal) == f"{room}/Bob"


async def test_instant_room_unlocks_the_room_for_others(alice, bob, muc):
    room = muc.new_room()
    await join(alice, room, "Alice")

    assert_result(await submit_instant(alice, room), "the instant-room form")

    entered = await join(bob, room, "Bob")
    assert SELF in entered.codes and CREATED not in entered.codes, entered.summary()
    assert (entered.item.affiliation, entered.item.role) == ("none", "participant")


async def test_joiner_gets_occupants_then_itself_then_history_then_the_subject(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await say(alice, room, "before carol")

    entered = await join(carol, room, "Carol")

    # §7.1: presences of the occupants, the self-presence, the history, the subject last.
    assert entered.shape() == ["occupant", "occupant", "self", "history", "subject"], entered.summary()
    assert {resource(sender(p)) for p in entered.occupants} == {"Alice", "Bob"}, entered.summary()
    assert [m["body"] for m in entered.history] == ["before carol"], entered.summary()
    assert subject_of(entered.subject) == "", "a room without a subject sends an empty <subject/>"
    # §7.2.15: history carries an XEP-0203 delay from the room, and its original sender.
    delay = delay_of(entered.history[0])
    assert delay is not None and delay.get("from") == room, entered.summary()
    parse_xmpp_datetime(delay.get("stamp") or "")
    assert sender(entered.history[0]) == f"{room}/Alice"


async def test_occupants_presences_on_entry_carry_their_affiliations_and_roles(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    entered = await join(bob, room, "Bob")

    alice_item = item(entered.presence_of("Alice"))
    assert (alice_item.affiliation, alice_item.role) == ("owner", "moderator")
    assert SELF not in status_codes(entered.presence_of("Alice"))


async def test_existing_occupants_receive_the_newcomers_presence_without_110(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    await join(carol, room, "Carol")

    for occupant in (alice, bob):
        presence = await expect_presence(occupant, f"{room}/Carol", unavailable=False)
        assert SELF not in status_codes(presence), presence
        assert (item(presence).affiliation, item(presence).role) == ("none", "participant")


@pytest.mark.muc_only("parley", reason="Parley archives rooms by default; Prosody 0.12 without mod_muc_mam does not")
async def test_self_presence_warns_with_170_that_the_room_is_archived(alice, bob, muc):
    room = muc.new_room()
    created = await create_room(alice, room, "Alice")
    assert LOGGING_ENABLED in created.codes, created.summary()

    entered = await join(bob, room, "Bob")

    assert LOGGING_ENABLED in entered.codes, entered.summary()


async def test_self_presence_has_100_in_a_non_anonymous_room(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_whois": "anyone"})

    entered = await join(bob, room, "Bob")

    assert {SELF, NON_ANONYMOUS} <= entered.codes, entered.summary()


async def test_nick_in_use_by_another_user_is_a_conflict(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    refusal = await join_refused(bob, room, "Alice")

    assert_error(refusal, "cancel", "conflict")
    assert sender(refusal) == f"{room}/Alice"


async def test_password_room_refuses_a_missing_or_wrong_password_and_admits_the_right_one(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={
        "muc#roomconfig_passwordprotectedroom": True, "muc#roomconfig_roomsecret": "cauldronburn"})

    assert_error(await join_refused(bob, room, "Bob"), "auth", "not-authorized")
    assert_error(await join_refused(bob, room, "Bob", password="wrong"), "auth", "not-authorized")
    entered = await join(bob, room, "Bob", password="cauldronburn")
    assert SELF in entered.codes


async def test_members_only_room_requires_membership_until_an_admin_grants_it(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_membersonly": True})

    assert_error(await join_refused(bob, room, "Bob"), "auth", "registration-required")
    assert_result(await set_affiliation(alice, room, bare(str(bob.jid)), "member"), "granting membership")
    entered = await join(bob, room, "Bob")
    assert entered.item.affiliation == "member", entered.summary()


async def test_banned_user_is_forbidden(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    assert_result(await set_affiliation(alice, room, bare(str(bob.jid)), "outcast", reason="troll"), "ban")

    refusal = await join_refused(bob, room, "Bob")

    assert_error(refusal, "auth", "forbidden")


@pytest.mark.muc_xfail("prosody", reason="Prosody 0.12 has no muc#roomconfig_maxusers: its rooms are never full")
async def test_full_room_turns_away_a_new_occupant_with_service_unavailable(alice, bob, carol, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_maxusers": "2"})
    await join(bob, room, "Bob")

    refusal = await join_refused(carol, room, "Carol")

    assert_error(refusal, "wait", "service-unavailable")


async def test_rejoining_while_joined_resends_the_room_state_without_duplicating_the_occupant(alice, bob, muc):
    # §7.2.1: an <x/>-tagged join from a session already in the room is a resync: the
    # service sends what a new joiner gets; the occupant stays one occupant.
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await expect_presence(alice, f"{room}/Bob", unavailable=False)

    again = await join(bob, room, "Bob")

    assert [resource(sender(p)) for p in again.occupants] == ["Alice"], again.summary()
    assert again.subject is not None
    reflection = await say(alice, room, "once")
    copy = await bob.expect_message(lambda m: m["id"] == reflection["id"], what="the groupchat")
    assert copy["body"] == "once"
    await say(alice, room, "barrier")
    await bob.expect_message(lambda m: m["body"] == "barrier", what="the second groupchat")
    assert not [m for m in bob.received("message") if m["id"] == reflection["id"]], \
        "a resync join made the room send every groupchat twice"
