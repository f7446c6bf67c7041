"""Faults, as an admin meets them: the XMPP server restarts under Parley, and Parley is
killed with SIGKILL while messages are flowing. Rooms and the archive must come through
intact: every message an occupant received is in the archive, and the database passes
SQLite's integrity check (DESIGN.md §5)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3

from harness.muc import (SELF, bare, create_room, expect_presence, join, leave, resource, say, send_groupchat, sender,
                         xml_of)
from harness.parley_features import mam_all, new_room, stanza_id_of


SHUTDOWN = 332  # XEP-0045: removed because the MUC service is being shut down


async def _in_thread(function, *arguments):
    return await asyncio.get_running_loop().run_in_executor(None, function, *arguments)


async def test_parley_reconnects_when_the_server_restarts_and_serves_the_same_rooms(stack, connect, service):
    alice = await connect("alice")
    room = new_room(service, "restart")
    await create_room(alice, room, "Alice")
    before = [stanza_id_of(await say(alice, room, f"before the restart {n}"), room) for n in range(3)]
    await alice.disconnect()

    await _in_thread(stack.server.stop)
    await _in_thread(stack.server.start)
    # Parley was never restarted: it must find the server again by itself (backoff ≤ 30 s).
    await _in_thread(stack.wait_until_attached, 45.0)
    assert stack.parley.running(), "Parley exited while the server was away"

    bob = await connect("bob")
    assert [result.id for result in await mam_all(bob, room)] == before
    await join(bob, room, "Bob")
    after = stanza_id_of(await say(bob, room, "after the restart"), room)
    assert [result.id for result in await mam_all(bob, room)] == before + [after]


async def test_sigkill_under_load_loses_no_message_anyone_received(stack, connect, service):
    alice = await connect("alice")
    bob = await connect("bob")
    room = new_room(service, "sigkill")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    # Bob sends as fast as he can; Alice is the witness of what was delivered.
    for n in range(400):
        send_groupchat(bob, room, f"load {n}")

    def delivered() -> list[str]:
        return [stanza_id_of(m, room) for m in alice.received("message")
                if bare(sender(m)) == room and (xml_of(m).findtext("{jabber:client}body") or "").startswith("load ")]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(delivered()) < 100 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert len(delivered()) >= 100, f"only {len(delivered())} messages arrived before the kill"
    os.kill(stack.parley.process.pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    received = delivered()

    database = stack.run_dir / "parley.sqlite"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    await _in_thread(stack.start_parley)
    carol = await connect("carol")
    archived = {result.id for result in await mam_all(carol, room)}
    missing = [stanza_id for stanza_id in received if stanza_id not in archived]
    assert not missing, f"{len(missing)} of {len(received)} delivered messages are not in the archive: {missing[:5]}"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_after_a_crash_every_client_learns_it_is_out_of_its_rooms(stack, connect, service):
    """Occupants are not kept across a crash; which session was in which room is. The
    restarted Parley tells each session it is out (status 332, as at an orderly stop),
    so no client keeps believing it is in the room, and the client can enter again."""
    alice = await connect("alice")
    bob = await connect("bob")
    room = new_room(service, "crashed")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await say(bob, room, "just before the crash")   # commits the joins with the message
    os.kill(stack.parley.process.pid, signal.SIGKILL)
    await asyncio.sleep(0.3)
    await _in_thread(stack.start_parley)
    for client, nick in ((alice, "Alice"), (bob, "Bob")):
        await expect_presence(client, f"{room}/{nick}", unavailable=True, codes={SELF, SHUTDOWN}, timeout=15)
    # The room was persistent: Bob enters it again, and finds nobody left over from before.
    entered = await join(bob, room, "Bob")
    assert [resource(sender(p)) for p in entered.occupants] == [], entered.summary()


async def test_after_a_lost_link_clients_that_went_away_meanwhile_leave_their_rooms(stack, connect, service):
    """While the server is away, clients disconnect and nothing reaches Parley. When the
    link is back, each room pings its occupants' sessions; the server answers for the ones
    that are gone, and they leave, so a newcomer does not see ghosts."""
    alice = await connect("alice")
    room = new_room(service, "lostlink")
    await create_room(alice, room, "Alice")
    await _in_thread(stack.server.stop)       # Alice's session ends with the server
    await _in_thread(stack.server.start)
    await _in_thread(stack.wait_until_attached, 45.0)
    bob = await connect("bob")
    # The pings go out as the link comes up; their answers are back within moments.
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        entered = await join(bob, room, "Bob")
        others = [resource(sender(p)) for p in entered.occupants]
        if "Alice" not in others or asyncio.get_running_loop().time() > deadline:
            break
        await leave(bob, room, "Bob")
        await asyncio.sleep(0.5)
    assert "Alice" not in others, f"Alice is still in {room} after her session ended: {entered.summary()}"
