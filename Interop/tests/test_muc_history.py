"""XEP-0045 §7.2.14 and §7.2.15: discussion history sent on entering, and how the joiner
limits it with <history maxstanzas maxchars seconds since/>."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from harness.muc import (create_room, delay_of, join, parse_xmpp_datetime, say, sender,
                         xmpp_datetime)


async def _chat(client, room: str, *bodies: str) -> None:
    for body in bodies:
        await say(client, room, body)


def _bodies(entered) -> list[str]:
    return [m["body"] for m in entered.history]


async def test_joiner_without_a_history_request_gets_the_recent_history(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "one", "two", "three")

    entered = await join(bob, room, "Bob")

    assert _bodies(entered) == ["one", "two", "three"], entered.summary()
    for message in entered.history:
        delay = delay_of(message)
        assert delay is not None and delay.get("from") == room, message
        stamp = parse_xmpp_datetime(delay.get("stamp") or "")
        assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 120, stamp
        assert sender(message) == f"{room}/Alice", message
        assert message["type"] == "groupchat"


async def test_maxstanzas_limits_the_history_to_the_last_messages(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "m1", "m2", "m3", "m4", "m5")

    entered = await join(bob, room, "Bob", history={"maxstanzas": 2})

    assert _bodies(entered) == ["m4", "m5"], entered.summary()
    assert entered.shape() == ["occupant", "self", "history", "history", "subject"], entered.summary()


async def test_maxstanzas_zero_asks_for_no_history(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "m1", "m2")

    entered = await join(bob, room, "Bob", history={"maxstanzas": 0})

    assert entered.history == [], entered.summary()
    assert entered.subject is not None


async def test_maxchars_zero_asks_for_no_history(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "m1", "m2")

    entered = await join(bob, room, "Bob", history={"maxchars": 0})

    assert entered.history == [], entered.summary()


async def test_seconds_limits_the_history_to_recent_messages(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "old 1", "old 2")
    # Services may keep whole-second timestamps: leave more than a second of margin.
    await asyncio.sleep(3.2)
    await _chat(alice, room, "new 1", "new 2")

    entered = await join(bob, room, "Bob", history={"seconds": 2})

    assert _bodies(entered) == ["new 1", "new 2"], entered.summary()


async def test_since_limits_the_history_to_messages_after_that_time(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await _chat(alice, room, "before 1", "before 2")
    await asyncio.sleep(1.2)
    since = xmpp_datetime(datetime.now(timezone.utc))   # whole seconds, after "before 2"
    await _chat(alice, room, "after 1", "after 2")

    entered = await join(bob, room, "Bob", history={"since": since})

    assert _bodies(entered) == ["after 1", "after 2"], entered.summary()

