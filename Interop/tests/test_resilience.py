"""Faults, as an admin meets them: the XMPP server restarts under Parley, and Parley is
killed with SIGKILL while messages are flowing. Rooms and the archive must come through
intact: every message an occupant received is in the archive, and the database passes
SQLite's integrity check (DESIGN.md §5)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3

from harness.muc import bare, create_room, join, say, send_groupchat, sender, xml_of
from harness.parley_features import mam_all, new_room, stanza_id_of


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
