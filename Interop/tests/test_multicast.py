"""Fan-outs through the server's XEP-0033 service: Prosody with Parley's
mod_parley_multicast, ejabberd with mod_multicast (both configured as Docs/attaching.md
says). A room event leaves Parley once and reaches every occupant; nobody else may use
the service."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

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
