"""Fan-outs through the server's XEP-0033 service: Prosody with Parley's
mod_parley_multicast, ejabberd with mod_multicast (both configured as Docs/attaching.md
says). A room event leaves Parley once and reaches every occupant; nobody else may use
the service."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness.metrics import scrape, value
from harness.muc import create_room, join, send_groupchat
from harness.parley_features import new_room

NS_ADDRESS = "http://jabber.org/protocol/address"


def multicast_service(stack) -> str:
    vhost = stack.settings.vhost
    return vhost if stack.server_name == "prosody" else f"multicast.{vhost}"


async def test_parley_found_the_servers_multicast_service(stack, service):
    log = stack.parley.log_path.read_text(errors="replace")
    assert f"fan-outs go through the XEP-0033 multicast service {multicast_service(stack)} (discovered)" in log


async def test_a_room_message_leaves_parley_once_and_reaches_every_occupant(stack, connect, service):
    users = ("alice", "bob", "carol", "dave", "erin")
    clients = [await connect(user) for user in users]
    room = new_room(service, "multicast")
    await create_room(clients[0], room, "U0")
    for index, client in enumerate(clients[1:], 1):
        await join(client, room, f"U{index}")
    _, before = await scrape(stack)
    send_groupchat(clients[1], room, "to everyone at once")
    for client in clients:
        message = await client.expect_message(lambda m: m["body"] == "to everyone at once")
        # The copy is an ordinary groupchat message: no address list, the original id.
        assert ET.fromstring(str(message)).find(f"{{{NS_ADDRESS}}}addresses") is None, message
        assert message["from"] == f"{room}/U1" and message["to"] == client.xmpp.boundjid
    _, after = await scrape(stack)
    sent = value(after, "parley_stanzas_sent", "_total", kind="message") \
        - value(before, "parley_stanzas_sent", "_total", kind="message")
    assert sent == 1, f"{sent} message stanzas left Parley for one groupchat message to five occupants"


async def test_only_parley_may_use_the_multicast_service(stack, connect, service):
    erin = await connect("erin")
    bob = await connect("bob")
    target = multicast_service(stack)
    message = erin.xmpp.make_message(mto=target, mbody="spam for everyone", mtype="chat")
    addresses = ET.SubElement(message.xml, f"{{{NS_ADDRESS}}}addresses")
    ET.SubElement(addresses, f"{{{NS_ADDRESS}}}address", type="bcc", jid=str(bob.xmpp.boundjid))
    message.send()
    refusal = await erin.expect_message(lambda m: m["type"] == "error" and m["from"].bare == target)
    assert refusal["error"]["condition"] == "forbidden", refusal
    await asyncio.sleep(0.5)
    assert not [m for m in bob.received("message") if m["body"] == "spam for everyone"]


def _shape(stanza, room: str) -> tuple:
    """What a user sees of a room stanza, without what differs from run to run (room names,
    stanza-ids, occupant-ids)."""
    element = ET.fromstring(stanza)
    x = element.find("{http://jabber.org/protocol/muc#user}x")
    item = x.find("{http://jabber.org/protocol/muc#user}item") if x is not None else None
    codes = sorted(s.get("code") for s in x.findall("{http://jabber.org/protocol/muc#user}status")) if x is not None else []
    return (element.tag.split("}")[-1], element.get("type"), (element.get("from") or "").replace(room, "ROOM"),
            element.findtext("{jabber:client}body"), element.findtext("{jabber:client}subject"),
            tuple(codes), item.get("role") if item is not None else None,
            item.get("affiliation") if item is not None else None,
            element.find(f"{{{NS_ADDRESS}}}addresses") is not None)


async def _scenario(connect, service: str, tag: str) -> dict[str, list[tuple]]:
    from harness.muc import leave, say, send_subject
    alice, bob, carol = [await connect(user) for user in ("alice", "bob", "carol")]
    captured: dict[str, list] = {"alice": [], "bob": [], "carol": []}
    for name, client in (("alice", alice), ("bob", bob), ("carol", carol)):
        # Everything that arrives, whatever the helpers take from the mailbox.
        for kind in ("message", "presence"):
            client.xmpp.register_handler(Callback(
                f"capture-{kind}", MatchXPath(f"{{{client.xmpp.default_ns}}}{kind}"),
                lambda s, name=name: captured[name].append(ET.tostring(s.xml, encoding="unicode"))))
    room = new_room(service, f"modes{tag}")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await join(carol, room, "Carol")
    await say(alice, room, "first")
    await say(bob, room, "second")
    send_subject(alice, room, "the topic")
    await alice.expect_message(lambda m: m["subject"] == "the topic")
    await leave(carol, room, "Carol")
    await say(alice, room, "third")
    await asyncio.sleep(0.5)
    seen = {name: [_shape(s, room) for s in stanzas if f"from='{room}" in s or f'from="{room}' in s]
            for name, stanzas in captured.items()}
    for client in (alice, bob, carol):
        await client.disconnect()
    return seen


async def test_clients_see_the_same_stanzas_with_and_without_multicast(stack, connect, service):
    """The same room life (entering, messages, a subject, leaving) through the multicast
    service and with one stanza per recipient: every client sees the same stanzas."""
    loop = asyncio.get_running_loop()
    with_multicast = await _scenario(connect, service, "mc")
    config = stack.parley.config_path
    original = config.read_text()
    config.write_text(original.replace("[storage]", 'multicast = "off"\n\n[storage]', 1)
                      if "[component]" in original.split("[storage]")[0] else original)
    try:
        await loop.run_in_executor(None, _restart, stack)
        assert "fan-outs go through" not in stack.parley.log_path.read_text(errors="replace").split(
            "received signal")[-1]
        unicast = await _scenario(connect, service, "uc")
    finally:
        config.write_text(original)
        await loop.run_in_executor(None, _restart, stack)
    for user in ("alice", "bob", "carol"):
        assert with_multicast[user] == unicast[user], (user, with_multicast[user], unicast[user])
    assert len(with_multicast["bob"]) >= 8, "\n".join(map(str, with_multicast["bob"]))


def _restart(stack) -> None:
    stack.parley.stop()
    stack.start_parley()


async def test_a_wave_of_joins_gives_everyone_each_presence_once(stack, connect, service):
    """Five people enter at once a room with three in it: however Parley groups the
    presences of one read into multicast stanzas, each joiner gets every other occupant's
    presence exactly once, the present ones before its own self-presence, and those present
    get each joiner once."""
    from harness.muc import sync
    names = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
    clients = {name: await connect(name) for name in names}
    captured: dict[str, list] = {name: [] for name in names}
    for name, client in clients.items():
        client.xmpp.register_handler(Callback(
            "capture-wave", MatchXPath(f"{{{client.xmpp.default_ns}}}presence"),
            lambda s, name=name: captured[name].append(s)))
    room = new_room(service, "wave")
    await create_room(clients["alice"], room, "alice")
    for name in ("bob", "carol"):
        await join(clients[name], room, name)
    wave = names[3:]
    await asyncio.gather(*(join(clients[name], room, name) for name in wave))
    for client in clients.values():
        await sync(client, room)
    for name in names:
        from_room = [p for p in captured[name] if p["from"].bare == room and p["type"] != "unavailable"]
        nicks = [p["from"].resource for p in from_room]
        others = sorted(n for n in nicks if n != name)
        assert others == sorted(n for n in names if n != name), (name, nicks)
        assert nicks.count(name) == 1, (name, nicks)
        if name in wave:
            own = nicks.index(name)
            assert {"alice", "bob", "carol"} <= set(nicks[:own]), (name, nicks)
    for client in clients.values():
        await client.disconnect()
