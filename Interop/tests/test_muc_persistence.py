"""Persistent rooms (XEP-0045 `muc#roomconfig_persistentroom`) across a restart of Parley:
configuration, affiliations, subject and history are kept. Parley only: the fixture
restarts Parley's process, with Prosody and the clients' connections left up."""

from __future__ import annotations

import pytest

from harness.muc import (CREATED, admin_list, assert_result, bare, create_room, disco_identities,
                         expect_groupchat, get_config_form, is_subject_change, join, say, send_subject,
                         set_affiliation, subject_of)

pytestmark = pytest.mark.muc_only("parley", reason="restarts Parley's process")


def _bare(client) -> str:
    return bare(str(client.jid))


async def test_persistent_room_keeps_its_configuration_and_affiliations_across_a_restart(
        alice, bob, carol, muc, restart_parley):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={
        "muc#roomconfig_persistentroom": True, "muc#roomconfig_roomname": "Kept",
        "muc#roomconfig_roomdesc": "survives restarts", "muc#roomconfig_membersonly": True})
    assert_result(await set_affiliation(alice, room, _bare(bob), "member"), "granting membership")
    assert_result(await set_affiliation(alice, room, _bare(carol), "outcast"), "the ban")

    await restart_parley()

    reply = await alice.disco_info(room)
    assert_result(reply, "disco#info on the room after the restart")
    assert ("conference", "text", "Kept") in disco_identities(reply)
    _reply, form = await get_config_form(alice, room)
    assert form.value("muc#roomconfig_roomdesc") == "survives restarts"
    assert form.value("muc#roomconfig_membersonly") in ("1", "true")
    _reply, members = await admin_list(alice, room, affiliation="member")
    assert [i.jid for i in members] == [_bare(bob)], members
    _reply, outcasts = await admin_list(alice, room, affiliation="outcast")
    assert [i.jid for i in outcasts] == [_bare(carol)], outcasts
    entered = await join(bob, room, "Bob")
    assert entered.item.affiliation == "member"
    owner = await join(alice, room, "Alice")
    assert CREATED not in owner.codes and owner.item.affiliation == "owner", owner.summary()


async def test_persistent_room_keeps_its_subject_and_history_across_a_restart(alice, bob, muc, restart_parley):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_persistentroom": True})
    send_subject(alice, room, "kept subject")
    await expect_groupchat(alice, room, lambda m: is_subject_change(m) and subject_of(m) == "kept subject",
                           what="the subject change")
    await say(alice, room, "kept 1")
    await say(alice, room, "kept 2")

    await restart_parley()

    entered = await join(bob, room, "Bob")
    assert [m["body"] for m in entered.history][-2:] == ["kept 1", "kept 2"], entered.summary()
    assert subject_of(entered.subject) == "kept subject", entered.summary()
