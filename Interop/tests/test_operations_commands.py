"""Service admins steer Parley from their own client: XEP-0133 administration over XEP-0050
ad-hoc commands, driven by slixmpp's XEP-0050 plugin, and refused to everyone else."""

from __future__ import annotations

import asyncio

from slixmpp.exceptions import IqError

from harness.muc import create_room, destroy_of, expect_presence, join, say
from harness.parley_features import new_room
from harness.xmpp import DEFAULT_PLUGINS

NS_COMMANDS = "http://jabber.org/protocol/commands"
LIST_ROOMS = "parley:admin#list-rooms"
DESTROY = "parley:admin#destroy-room"
ANNOUNCE = "http://jabber.org/protocol/admin#announce"
STATS = "parley:admin#stats"
WEBLOGS = "parley:admin#weblogs"
PLUGINS = DEFAULT_PLUGINS + ("xep_0050",)


async def admin(connect):
    return await connect("grace", plugins=PLUGINS)      # [service] admins in the test stack


def form_values(command) -> dict[str, object]:
    return command["form"].get_values()


def form_fields(command) -> set[str]:
    return set(command["form"].get_fields())


def form_items(command) -> list[dict[str, object]]:
    return command["form"].get_items()


async def test_an_admin_sees_the_commands_and_a_user_sees_none(connect, service):
    grace = await admin(connect)
    items = await grace.xmpp.plugin["xep_0050"].get_commands(service)
    nodes = {item[1] for item in items["disco_items"]["items"]}
    assert nodes == {LIST_ROOMS, DESTROY, ANNOUNCE, STATS, WEBLOGS}, nodes
    info = await grace.xmpp.plugin["xep_0030"].get_info(jid=service)
    assert NS_COMMANDS in info["disco_info"]["features"]
    node_info = await grace.xmpp.plugin["xep_0030"].get_info(jid=service, node=DESTROY)
    assert ("automation", "command-node") in {(i[0], i[1]) for i in node_info["disco_info"]["identities"]}

    erin = await connect("erin", plugins=PLUGINS)
    items = await erin.xmpp.plugin["xep_0050"].get_commands(service)
    assert list(items["disco_items"]["items"]) == []
    try:
        await erin.xmpp.plugin["xep_0030"].get_info(jid=service, node=DESTROY)
        raise AssertionError("a user read a command node")
    except IqError as error:
        assert error.iq["error"]["condition"] == "item-not-found"


async def test_a_user_is_refused_every_command(connect, alice, service):
    erin = await connect("erin", plugins=PLUGINS)
    room = new_room(service, "notyours")
    await create_room(alice, room, "Alice")
    for node in (LIST_ROOMS, DESTROY, ANNOUNCE, STATS):
        try:
            await erin.xmpp.plugin["xep_0050"].send_command(service, node)
            raise AssertionError(f"{node} ran for a user")
        except IqError as error:
            assert error.iq["error"]["condition"] == "forbidden", error.iq
    # Sending the filled form straight away changes nothing either.
    form = erin.xmpp.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="room", value=room)
    try:
        await erin.xmpp.plugin["xep_0050"].send_command(service, DESTROY, payload=form)
        raise AssertionError("a user destroyed a room")
    except IqError as error:
        assert error.iq["error"]["condition"] == "forbidden"
    await say(alice, room, "still here")


async def test_list_rooms_and_statistics(connect, alice, bob, service):
    grace = await admin(connect)
    room = new_room(service, "listed")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    await say(alice, room, "one message")
    reply = await grace.xmpp.plugin["xep_0050"].send_command(service, LIST_ROOMS)
    command = reply["command"]
    assert command["status"] == "completed", reply
    rows = {item["room"]: item for item in form_items(command)}
    assert room in rows, list(rows)[:5]
    assert rows[room]["occupants"] == "2", rows[room]
    assert rows[room]["messages"] == "1", rows[room]

    reply = await grace.xmpp.plugin["xep_0050"].send_command(service, STATS)
    values = form_values(reply["command"])
    assert int(values["occupants"]) >= 2 and int(values["rooms-loaded"]) >= 1, values
    assert int(values["rooms-persistent"]) >= 1 and int(values["database-bytes"]) > 0, values


async def test_an_admin_destroys_a_room_with_reason_and_alternate_venue(connect, alice, bob, service):
    grace = await admin(connect)
    room = new_room(service, "doomed")
    venue = new_room(service, "newhome")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    # slixmpp's own command workflow: execute, get the form, fill it in, complete.
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def fill_in(iq, session):
        assert {"room", "reason", "alternate"} <= form_fields(iq["command"]), iq
        answer = grace.xmpp.plugin["xep_0004"].make_form(ftype="submit")
        answer.add_field(var="room", value=room)
        answer.add_field(var="reason", value="moved for good")
        answer.add_field(var="alternate", value=venue)
        session["payload"] = answer
        session["next"] = lambda iq, session: done.done() or done.set_result(iq)
        grace.xmpp.plugin["xep_0050"].complete_command(session)

    session = {"next": fill_in, "error": lambda iq, session: done.done() or done.set_result(iq)}
    grace.xmpp.plugin["xep_0050"].start_command(service, DESTROY, session)
    result = await asyncio.wait_for(done, 10)
    assert result["type"] == "result" and result["command"]["status"] == "completed", result

    for client, nick in ((bob, "Bob"), (alice, "Alice")):
        gone = await expect_presence(client, f"{room}/{nick}", unavailable=True)
        assert destroy_of(gone) == (venue, "moved for good"), gone
    # The room is gone: entering it again makes a new, empty room.
    listing = await grace.xmpp.plugin["xep_0050"].send_command(service, LIST_ROOMS)
    assert room not in {item["room"] for item in form_items(listing["command"])}


async def test_destroying_a_room_that_does_not_exist_says_so(connect, service):
    grace = await admin(connect)
    form = grace.xmpp.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="room", value=new_room(service, "neverwas"))
    try:
        await grace.xmpp.plugin["xep_0050"].send_command(service, DESTROY, payload=form)
        raise AssertionError("destroyed nothing")
    except IqError as error:
        assert error.iq["error"]["condition"] == "item-not-found", error.iq


async def test_an_announcement_reaches_every_room(connect, alice, bob, carol, service):
    grace = await admin(connect)
    first, second = new_room(service, "annone"), new_room(service, "anntwo")
    await create_room(alice, first, "Alice")
    await join(bob, first, "Bob")
    await create_room(carol, second, "Carol")
    reply = await grace.xmpp.plugin["xep_0050"].send_command(service, ANNOUNCE)
    command = reply["command"]
    assert command["status"] == "executing" and "announcement" in form_fields(command), reply
    form = grace.xmpp.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="announcement", value="Maintenance at 18:00 UTC", ftype="text-multi")
    done = await grace.xmpp.plugin["xep_0050"].send_command(
        service, ANNOUNCE, sessionid=command["sessionid"], action="complete", payload=form)
    assert done["command"]["status"] == "completed", done
    for client, room in ((alice, first), (bob, first), (carol, second)):
        message = await client.expect_message(
            lambda m, room=room: m["from"].bare == room and m["body"] == "Maintenance at 18:00 UTC")
        assert message["type"] == "groupchat" and not message["from"].resource

    # A session belongs to the command and the admin who began it.
    try:
        await grace.xmpp.plugin["xep_0050"].send_command(
            service, ANNOUNCE, sessionid=command["sessionid"], action="complete", payload=form)
        raise AssertionError("a finished session was reused")
    except IqError as error:
        assert error.iq["error"]["condition"] == "bad-request"
