"""Following rooms without being in them (MucSub, `urn:xmpp:mucsub:0`) and the inbox
(XEP-0430, `urn:xmpp:inbox:1`, with Parley's `<room xmlns='urn:parley:inbox:0'/>`) through
Prosody: events at the follower's bare JID, unread counts moved by chat markers, resets and
one's own messages, mentions, occupants and activity, the subscription lists, access, and
persistence across a restart of Parley. Parley only.

Each test first unfollows every room bob followed in earlier tests, so that the inbox holds
exactly this test's rooms."""

from __future__ import annotations

from harness.muc import (NS_CLIENT, assert_error, assert_result, bare, create_room, describe, join, say,
                         set_affiliation, xml_of)
from harness.parley_features import (MUCSUB_MESSAGES, NS_FORWARD, NS_INBOX, NS_MAM, NS_MUCSUB, NS_RSM,
                                     rsm_set, follow, followed_rooms, inbox_query, is_mucsub_event, mucsub_inner,
                                     new_room, ping_sync, reset_unread, send_displayed, stanza_id_of,
                                     unfollow, wait_until)
from harness.xmpp import Client


def _bare(client: Client) -> str:
    return bare(str(client.jid))


async def clear_follows(client: Client, service: str) -> None:
    reply, listed = await followed_rooms(client, service)
    assert_result(reply, "the service-level subscriptions")
    for room, _nick, _nodes in listed:
        await unfollow(client, room)
    reply, listed = await followed_rooms(client, service)
    assert listed == [], f"{client.name} still follows rooms: {describe(reply)}"


async def say_id(client: Client, room: str, body: str) -> str:
    return stanza_id_of(await say(client, room, body), room)


async def followed(client: Client, room: str, nick: str = "Bob", **options) -> None:
    reply = await follow(client, room, nick, **options)
    assert_result(reply, f"following {room}")


async def new_public_room(owner: Client, service: str, label: str = "inbox", **config) -> str:
    room = new_room(service, label)
    await create_room(owner, room, "Alice", config=config or None)
    return room


async def entry_for(client: Client, service: str, room: str):
    inbox = await inbox_query(client, service)
    assert_result(inbox.reply, "the inbox")
    entry = inbox.by_room().get(room)
    assert entry is not None, f"{room} is not in the inbox: {inbox.summary()}"
    return entry


async def wait_for_entry(client: Client, service: str, room: str, predicate, what: str, timeout: float = 5.0):
    async def check():
        entry = await entry_for(client, service, room)
        return entry if predicate(entry) else None
    try:
        return await wait_until(check, timeout=timeout, what=what)
    except AssertionError:
        entry = await entry_for(client, service, room)
        raise AssertionError(f"{what} not reached within {timeout} s; entry now: {describe(entry.stanza)}") from None


# -- following ---------------------------------------------------------------------------------------------

async def test_following_rooms_without_joining_delivers_events_at_the_bare_jid(alice, bob, service):
    await clear_follows(bob, service)
    rooms = [await new_public_room(alice, service) for _ in range(3)]

    for room in rooms:
        reply = await follow(bob, room, "Bob", nodes=[MUCSUB_MESSAGES])
        assert_result(reply, f"following {room}")
        subscribe = xml_of(reply).find(f"{{{NS_MUCSUB}}}subscribe")
        assert subscribe is not None and subscribe.get("nick") == "Bob", describe(reply)
        assert [e.get("node") for e in subscribe.findall(f"{{{NS_MUCSUB}}}event")] == [MUCSUB_MESSAGES], \
            describe(reply)

    for n, room in enumerate(rooms):
        stanza_id = await say_id(alice, room, f"hello follower {n}")
        event = await bob.expect_message(lambda m, r=room: is_mucsub_event(m, r), what=f"the MucSub event from {room}")
        assert xml_of(event).get("to") == _bare(bob), f"not addressed to the bare JID: {describe(event)}"
        items, item, inner = mucsub_inner(event)
        assert items.get("node") == MUCSUB_MESSAGES, describe(event)
        assert item.get("id") == stanza_id, describe(event)
        assert inner.get("from") == f"{room}/Alice" and inner.get("type") == "groupchat", describe(event)
        assert inner.findtext(f"{{{NS_CLIENT}}}body") == f"hello follower {n}", describe(event)
    # A follower is not an occupant: no groupchat copies.
    await ping_sync(bob, service)
    direct = [m for m in bob.received("message")
              if xml_of(m).get("type") == "groupchat" and bare(xml_of(m).get("from")) in rooms]
    assert direct == [], describe(direct[0])


# -- the inbox ---------------------------------------------------------------------------------------------------

async def test_inbox_lists_followed_rooms_by_last_activity_with_the_last_message(alice, bob, service):
    await clear_follows(bob, service)
    first, second, third = [await new_public_room(alice, service) for _ in range(3)]
    for room in (first, second, third):
        await followed(bob, room)
    await say_id(alice, first, "first 1")
    second_last = await say_id(alice, second, "second 1")
    await say_id(alice, third, "third 1")
    await say_id(alice, third, "third 2")
    first_last = await say_id(alice, first, "first 2")
    third_last = await say_id(alice, third, "third 3")
    expected = [(third, 3, third_last, "third 3"), (first, 2, first_last, "first 2"),
                (second, 1, second_last, "second 1")]

    inbox = await inbox_query(bob, service)

    assert_result(inbox.reply, "the inbox")
    assert [(e.jid, e.unread, e.id, e.last_body) for e in inbox.entries] == expected, inbox.summary()
    for entry in inbox.entries:
        stanza = xml_of(entry.stanza)
        assert stanza.get("from") == service and stanza.get("to") == str(bob.jid), describe(stanza)
        assert entry.entry.tag == f"{{{NS_INBOX}}}entry", describe(stanza)
        assert entry.room_info is not None, f"no <room xmlns='urn:parley:inbox:0'/>: {describe(stanza)}"
        assert (entry.occupants, entry.active, entry.mentions) == (1, 1, 0), describe(stanza)
        result = entry.result
        assert result is not None and result.tag == f"{{{NS_MAM}}}result", describe(stanza)
        assert result.get("id") == entry.id, describe(stanza)
        message = result.find(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message")
        assert message is not None and message.get("from") == f"{entry.jid}/Alice", describe(stanza)
    fin = inbox.fin
    assert fin is not None, f"no <fin xmlns='{NS_INBOX}'/>: {describe(inbox.reply)}"
    assert (fin.get("total"), fin.get("unread"), fin.get("all-unread")) == ("3", "3", "6"), describe(inbox.reply)
    rsm = fin.find(f"{{{NS_RSM}}}set")
    assert rsm is not None, describe(inbox.reply)
    assert rsm.findtext(f"{{{NS_RSM}}}count") == "3", describe(inbox.reply)
    assert rsm.findtext(f"{{{NS_RSM}}}first") == third and rsm.findtext(f"{{{NS_RSM}}}last") == second, \
        describe(inbox.reply)

    without = await inbox_query(bob, service, attributes={"messages": "false"})
    assert_result(without.reply)
    assert [e.jid for e in without.entries] == [third, first, second], without.summary()
    assert all(e.result is None for e in without.entries), without.summary()
    assert [e.unread for e in without.entries] == [3, 2, 1]

    page = await inbox_query(bob, service, rsm=rsm_set(max=2))
    assert [e.jid for e in page.entries] == [third, first], page.summary()
    rest = await inbox_query(bob, service, rsm=rsm_set(max=2, after=first))
    assert [e.jid for e in rest.entries] == [second], rest.summary()

    assert_result(await reset_unread(bob, first), "the reset")
    await wait_for_entry(bob, service, first, lambda e: e.unread == 0, "unread 0 after the reset")
    unread_only = await inbox_query(bob, service, attributes={"unread-only": "true"})
    assert_result(unread_only.reply)
    assert [e.jid for e in unread_only.entries] == [third, second], unread_only.summary()
    assert unread_only.fin.get("unread") == "2" and unread_only.fin.get("all-unread") == "4", \
        describe(unread_only.reply)


async def test_unread_falls_with_markers_resets_and_own_messages(alice, bob, service):
    await clear_follows(bob, service)
    room = await new_public_room(alice, service)
    await followed(bob, room)
    assert (await entry_for(bob, service, room)).unread == 0

    ids = []
    for n in range(5):
        ids.append(await say_id(alice, room, f"news {n}"))
        entry = await entry_for(bob, service, room)
        assert entry.unread == n + 1 and entry.id == ids[-1], describe(entry.stanza)

    send_displayed(bob, room, ids[1])
    await wait_for_entry(bob, service, room, lambda e: e.unread == 3, "unread 3 after a marker on the 2nd message")
    send_displayed(bob, room, ids[3])
    await wait_for_entry(bob, service, room, lambda e: e.unread == 1, "unread 1 after a marker on the 4th message")
    assert not [m for m in bob.received("message") if xml_of(m).get("type") == "error"], \
        "the marker was bounced: " + "; ".join(describe(m) for m in bob.received("message")
                                                if xml_of(m).get("type") == "error")

    reply = await reset_unread(bob, room)
    assert_result(reply, "the reset")
    await wait_for_entry(bob, service, room, lambda e: e.unread == 0, "unread 0 after the reset")

    await say(alice, room, "more 1")
    await say(alice, room, "more 2")
    assert (await entry_for(bob, service, room)).unread == 2
    await join(bob, room, "Bob")
    own = await say_id(bob, room, "I'm here")
    entry = await wait_for_entry(bob, service, room, lambda e: e.unread == 0, "unread 0 after bob's own message")
    assert entry.id == own, describe(entry.stanza)


async def test_mentions_count_the_subscription_nick_as_a_word(alice, bob, service):
    await clear_follows(bob, service)
    room = await new_public_room(alice, service)
    await followed(bob, room, "Bob")

    await say(alice, room, "hi Bob")
    await say(alice, room, "Bobsleigh is fun")
    await say(alice, room, "nothing for anyone")
    await say(alice, room, "Bob: are you there?")

    entry = await entry_for(bob, service, room)
    assert (entry.unread, entry.mentions) == (4, 2), describe(entry.stanza)
    assert_result(await reset_unread(bob, room))
    entry = await wait_for_entry(bob, service, room, lambda e: e.unread == 0, "unread 0 after the reset")
    assert entry.mentions == 0, describe(entry.stanza)
    await say(alice, room, "Bob, once more")
    entry = await entry_for(bob, service, room)
    assert (entry.unread, entry.mentions) == (1, 1), describe(entry.stanza)


async def test_occupants_and_active_senders(alice, bob, carol, dave, service):
    await clear_follows(bob, service)
    room = await new_public_room(alice, service)
    await followed(bob, room)
    entry = await entry_for(bob, service, room)
    assert (entry.occupants, entry.active) == (1, 0), describe(entry.stanza)

    await join(carol, room, "Carol")
    assert (await entry_for(bob, service, room)).occupants == 2
    await join(dave, room, "Dave")
    assert (await entry_for(bob, service, room)).occupants == 3

    await say(alice, room, "one")
    assert (await entry_for(bob, service, room)).active == 1
    await say(carol, room, "two")
    assert (await entry_for(bob, service, room)).active == 2
    await say(alice, room, "three")
    assert (await entry_for(bob, service, room)).active == 2
    await say(dave, room, "four")
    entry = await entry_for(bob, service, room)
    assert (entry.occupants, entry.active) == (3, 3), describe(entry.stanza)


# -- the subscription lists and access ------------------------------------------------------------------------------

async def test_subscription_lists_at_the_service_and_in_the_room(alice, bob, service):
    await clear_follows(bob, service)
    first, second = await new_public_room(alice, service), await new_public_room(alice, service)
    await followed(bob, first)
    await followed(bob, second)

    reply, listed = await followed_rooms(bob, service)
    assert_result(reply, "the service-level list")
    assert sorted(listed) == sorted([(first, "Bob", [MUCSUB_MESSAGES]), (second, "Bob", [MUCSUB_MESSAGES])]), \
        describe(reply)

    reply, _listed = await followed_rooms(bob, first)
    assert_error(reply, "auth", "forbidden")

    reply, listed = await followed_rooms(alice, first)
    assert_result(reply, "the room-level list for the owner")
    assert listed == [("bob@localhost", "Bob", [MUCSUB_MESSAGES])], describe(reply)

    assert_result(await unfollow(bob, second), "unfollowing")
    _reply, listed = await followed_rooms(bob, service)
    assert [room for room, _nick, _nodes in listed] == [first], listed


async def test_a_banned_follower_loses_the_subscription(alice, bob, service):
    await clear_follows(bob, service)
    room = await new_public_room(alice, service)
    await followed(bob, room)

    assert_result(await set_affiliation(alice, room, _bare(bob), "outcast"), "the ban")

    _reply, listed = await followed_rooms(alice, room)
    assert [jid for jid, _nick, _nodes in listed] == [], listed
    _reply, listed = await followed_rooms(bob, service)
    assert room not in [r for r, _nick, _nodes in listed], listed
    inbox = await inbox_query(bob, service)
    assert room not in inbox.by_room(), inbox.summary()
    stanza_id = await say_id(alice, room, "after the ban")
    await ping_sync(bob, service)
    events = [m for m in bob.received("message") if is_mucsub_event(m, room)]
    assert events == [], f"an event after the ban ({stanza_id}): {describe(events[0])}"
    reply = await follow(bob, room, "Bob")
    assert_error(reply, "auth", "forbidden")


async def test_following_needs_what_entering_needs(alice, bob, service):
    await clear_follows(bob, service)
    members_only = await new_public_room(alice, service, **{"muc#roomconfig_membersonly": True})
    reply = await follow(bob, members_only, "Bob")
    assert_error(reply, "auth", "registration-required")

    secret = await new_public_room(alice, service, **{"muc#roomconfig_passwordprotectedroom": True,
                                                      "muc#roomconfig_roomsecret": "s3cret"})
    reply = await follow(bob, secret, "Bob")
    assert_error(reply, "auth", "not-authorized")
    reply = await follow(bob, secret, "Bob", password="wrong")
    assert_error(reply, "auth", "not-authorized")
    assert_result(await follow(bob, secret, "Bob", password="s3cret"), "following with the password")

    _reply, listed = await followed_rooms(bob, service)
    assert [room for room, _nick, _nodes in listed] == [secret], listed


# -- persistence -------------------------------------------------------------------------------------------------

async def test_follows_and_counts_survive_a_restart(alice, bob, service, restart_parley):
    await clear_follows(bob, service)
    room = await new_public_room(alice, service)
    await followed(bob, room)
    ids = [await say_id(alice, room, f"before restart Bob {n}") for n in range(3)]
    send_displayed(bob, room, ids[0])
    await wait_for_entry(bob, service, room, lambda e: e.unread == 2, "unread 2 after the marker")

    await restart_parley()

    entry = await entry_for(bob, service, room)
    assert (entry.unread, entry.id, entry.mentions) == (2, ids[-1], 2), describe(entry.stanza)
    _reply, listed = await followed_rooms(bob, service)
    assert listed == [(room, "Bob", [MUCSUB_MESSAGES])], listed
    await join(alice, room, "Alice")
    after = await say_id(alice, room, "after restart")
    event = await bob.expect_message(lambda m: is_mucsub_event(m, room) and mucsub_inner(m)[1].get("id") == after,
                                     what="the event after the restart")
    assert mucsub_inner(event)[2].findtext(f"{{{NS_CLIENT}}}body") == "after restart"
    entry = await entry_for(bob, service, room)
    assert (entry.unread, entry.id) == (3, after), describe(entry.stanza)
