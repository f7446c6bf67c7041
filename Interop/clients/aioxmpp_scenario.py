#!/usr/bin/python3
"""A multi-user-chat scenario driven by python3-aioxmpp (its MUCClient and Room).

Run with the Debian interpreter (/usr/bin/python3), where python3-aioxmpp is installed:

    /usr/bin/python3 Interop/clients/aioxmpp_scenario.py --port 25222 \
        --room aioxmpp-1@rooms.localhost --service rooms.localhost \
        --account alice=alice-secret --account bob=bob-secret \
        --account carol=carol-secret --account dave=dave-secret

The first account creates and owns the room, the second is the guest who chats, changes
presence and nick and leaves, the third is kicked and then banned, the fourth joins late
and gets the history. Plain TCP, no TLS: aioxmpp's STARTTLSConnector pointed at host:port
(override_peer) with a security layer whose tls_required is false (without TLS aioxmpp
offers only the SCRAM mechanisms, which both test servers have).

Everything is checked on aioxmpp's own state: Room.me / members / muc_subject /
muc_joined, Occupant.role / affiliation / direct_jid / presence_state, and the signals
on_muc_enter, on_join, on_presence_changed, on_nick_changed, on_topic_changed, on_message,
on_leave and on_exit (with muc_leave_mode and muc_status_codes).

Prints one JSON object per step on stdout, in order:
    {"step": NAME, "ok": true|false, "skipped": bool, "detail": {...}, "error": TEXT, "seconds": S}
and a last line {"summary": {"passed": [...], "failed": [...], "skipped": [...]}}.
Every wait is bounded (--timeout, default 15 s). Exit status: 0 when every step passed,
1 when a step failed (a message on stderr), 2 when the scenario could not run at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from datetime import timedelta

from scenario import (Results, ScenarioError, cannot_import, check, parse_args, polling,
                      timed_out)

try:
    import aioxmpp
    import aioxmpp.connector
    import aioxmpp.disco
    import aioxmpp.muc
    from aioxmpp.muc import LeaveMode
except ImportError as error:  # pragma: no cover - depends on the machine
    cannot_import("aioxmpp", error)


async def _no_discovery(domain, loop=None, logger=None):
    return []


# Only the host:port given (override_peer): when that fails aioxmpp would go on to SRV
# records and then <domain>:5222, which on a test machine may be some other server (a
# system ejabberd).
aioxmpp.node.discover_connectors = _no_discovery


TIMEOUT = 15.0


async def wait_until(predicate, what, timeout=None):
    """Poll predicate() until it returns something true (returned), or fail."""
    for value in polling(predicate, what, TIMEOUT if timeout is None else timeout):
        if value:
            return value
        await asyncio.sleep(0.02)


async def bounded(awaitable, what, timeout=None):
    timeout = TIMEOUT if timeout is None else timeout
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise timed_out(what, timeout) from None


def occupant_summary(occupant):
    if occupant is None:
        return None
    state = occupant.presence_state
    return {
        "nick": occupant.nick,
        "conversation_jid": str(occupant.conversation_jid),
        "direct_jid": str(occupant.direct_jid) if occupant.direct_jid is not None else None,
        "role": occupant.role,
        "affiliation": occupant.affiliation,
        "available": state.available,
        "show": state.show.value if state.show is not None else None,
        "status": occupant.presence_status.any() if occupant.presence_status else None,
        "is_self": occupant.is_self,
    }


def presence_summary(presence):
    if presence is None:
        return None
    muc_user = presence.xep0045_muc_user
    item = muc_user.items[0] if muc_user is not None and muc_user.items else None
    return {
        "from": str(presence.from_),
        "type": presence.type_.value,
        "codes": sorted(int(code) for code in muc_user.status_codes) if muc_user else [],
        "item_jid": str(item.jid) if item is not None and item.jid is not None else None,
        "item_role": item.role if item is not None else None,
        "item_affiliation": item.affiliation if item is not None else None,
        "item_nick": item.nick if item is not None else None,
    }


def codes_of(value):
    return sorted(int(code) for code in value or ())


class User:
    """One aioxmpp client with the MUC and disco services, and a log of room signals."""

    def __init__(self, name, password, args):
        self.name = name
        self.jid = aioxmpp.JID.fromstr(f"{name}@{args.domain}/aioxmpp-{uuid.uuid4().hex[:6]}")
        layer = aioxmpp.make_security_layer(password)._replace(tls_required=False)
        self.client = aioxmpp.PresenceManagedClient(
            self.jid, layer,
            override_peer=[(args.host, args.port, aioxmpp.connector.STARTTLSConnector())],
            logger=logging.getLogger(f"aioxmpp.{name}"))
        self.muc = self.client.summon(aioxmpp.MUCClient)
        self.disco = self.client.summon(aioxmpp.DiscoClient)
        self.events = []    # (signal, dict)

    @property
    def local_jid(self):
        return self.client.local_jid

    def mark(self):
        return len(self.events)

    def find(self, predicate, since=0):
        for kind, event in self.events[since:]:
            if predicate(kind, event):
                return event
        return None

    async def wait(self, predicate, what, since=0, timeout=None):
        return await wait_until(lambda: self.find(predicate, since), f"{self.name}: {what}", timeout)

    def record(self, kind, **event):
        event["signal"] = kind
        self.events.append((kind, event))

    def join(self, room_jid, nick):
        """MUCClient.join; the room's signals are logged. Returns (room, future)."""
        room, future = self.muc.join(aioxmpp.JID.fromstr(room_jid), nick)
        rec = self.record
        room.on_muc_enter.connect(lambda presence, occupant, **kw: rec(
            "on_muc_enter", presence=presence_summary(presence), occupant=occupant_summary(occupant),
            codes=codes_of(kw.get("muc_status_codes")), raw_presence=presence, object=occupant))
        room.on_join.connect(lambda member, **kw: rec(
            "on_join", member=occupant_summary(member), object=member))
        room.on_presence_changed.connect(lambda member, resource, presence, **kw: rec(
            "on_presence_changed", member=occupant_summary(member), presence=presence_summary(presence),
            object=member))
        room.on_nick_changed.connect(lambda member, old_nick, new_nick, **kw: rec(
            "on_nick_changed", member=occupant_summary(member), old=old_nick, new=new_nick,
            object=member))
        room.on_topic_changed.connect(lambda member, new_topic, **kw: rec(
            "on_topic_changed", member=occupant_summary(member),
            topic=new_topic.any() if new_topic else None, muc_nick=kw.get("muc_nick")))
        room.on_message.connect(lambda msg, member, source, **kw: rec(
            "on_message", member=occupant_summary(member), body=msg.body.any() if msg.body else None,
            from_=str(msg.from_), type=msg.type_.value, delayed=bool(msg.xep0203_delay),
            reflected=member is room.me, source=str(source)))
        room.on_leave.connect(lambda member, **kw: rec(
            "on_leave", member=occupant_summary(member), mode=str(kw.get("muc_leave_mode")),
            mode_enum=kw.get("muc_leave_mode"), reason=kw.get("muc_reason"),
            actor=str(kw.get("muc_actor").nick) if getattr(kw.get("muc_actor"), "nick", None) else None,
            codes=codes_of(kw.get("muc_status_codes"))))
        room.on_exit.connect(lambda **kw: rec(
            "on_exit", mode=str(kw.get("muc_leave_mode")), mode_enum=kw.get("muc_leave_mode"),
            reason=kw.get("muc_reason"), codes=codes_of(kw.get("muc_status_codes"))))
        room.on_muc_role_changed.connect(lambda presence, member, **kw: rec(
            "on_muc_role_changed", member=occupant_summary(member), presence=presence_summary(presence)))
        room.on_muc_affiliation_changed.connect(lambda presence, member, **kw: rec(
            "on_muc_affiliation_changed", member=occupant_summary(member),
            presence=presence_summary(presence)))
        return room, future


def room_summary(room):
    return {"joined": room.muc_joined, "active": room.muc_active, "state": str(room.muc_state),
            "me": occupant_summary(room.me),
            "members": [occupant_summary(m) for m in room.members],
            "subject": room.muc_subject.any() if room.muc_subject else None,
            "subject_setter": room.muc_subject_setter}


def member_by_nick(room, nick):
    for member in room.members:
        if member.nick == nick:
            return member
    return None


def plain(event):
    """An event without the library objects (for JSON)."""
    return {k: v for k, v in event.items() if k not in ("object", "raw_presence", "mode_enum")}


class Scenario:
    def __init__(self, args):
        self.args = args
        self.room = args.room
        self.results = Results("aioxmpp_scenario")
        self.token = uuid.uuid4().hex[:8]
        self.alice, self.bob, self.carol, self.dave = (User(u, p, args) for u, p in args.accounts[:4])
        self.users = [self.alice, self.bob, self.carol, self.dave]
        self.rooms = {}   # user -> Room

    async def step(self, name, function, needs=()):
        if self.results.ready(name, needs):
            with self.results.step(name) as detail:
                await function(detail)

    async def enter(self, user, nick, detail_key, detail):
        """Join and wait for aioxmpp's join future (set on the self-presence)."""
        mark = user.mark()
        room, future = user.join(self.room, nick)
        self.rooms[user] = room
        await bounded(future, f"{user.name}'s join of {self.room}")
        event = await user.wait(lambda k, e: k == "on_muc_enter", "on_muc_enter", since=mark)
        detail[detail_key] = plain(event)
        return room, event

    # steps
    async def connect(self, detail):
        for user in self.users:
            await self.stack.enter_async_context(
                user.client.connected(timeout=timedelta(seconds=TIMEOUT)))
            detail[user.name] = str(user.local_jid)

    async def create(self, detail):
        room, event = await self.enter(self.alice, "Alice", "on_muc_enter", detail)
        check({110, 201} <= set(event["codes"]), "on_muc_enter does not carry 110 and 201",
              codes=event["codes"])
        me = room.me
        detail["me"] = occupant_summary(me)
        check(me is not None and me.nick == "Alice", "Room.me is not Alice", me=detail["me"])
        check(me.affiliation == "owner" and me.role == "moderator",
              "the creator is not owner/moderator in Room.me", me=detail["me"])
        check(room.muc_joined, "Room.muc_joined is false")

    async def configure(self, detail):
        room_jid = aioxmpp.JID.fromstr(self.room)
        form = aioxmpp.muc.ConfigurationForm.from_xso(
            await bounded(self.alice.muc.get_room_config(room_jid), "the config form"))
        name = f"aioxmpp room {self.token}"
        detail["roomname_before"] = form.roomname.value
        form.roomname.value = name
        form.roomdesc.value = "configured through aioxmpp"
        await bounded(self.alice.muc.set_room_config(room_jid, form.render_reply()),
                      "the config submission")
        again = aioxmpp.muc.ConfigurationForm.from_xso(
            await bounded(self.alice.muc.get_room_config(room_jid), "the config form again"))
        detail["roomname_after"] = again.roomname.value
        check(again.roomname.value == name, "the configuration form does not keep the name",
              value=again.roomname.value)
        info = await bounded(self.alice.disco.query_info(room_jid, require_fresh=True), "disco#info")
        identities = [(i.category, i.type_, i.name) for i in info.identities]
        detail["identities"] = identities
        check(any(category == "conference" and ident_name == name
                  for category, _type, ident_name in identities),
              "disco#info does not name the room", identities=identities)

    async def self_jid_owner(self, detail):
        await self._self_jid(self.alice, detail)

    async def self_jid_guest(self, detail):
        await self._self_jid(self.bob, detail)

    async def _self_jid(self, user, detail):
        room = self.rooms[user]
        enter = user.find(lambda k, e: k == "on_muc_enter")
        detail["me"] = occupant_summary(room.me)
        detail["self_presence"] = enter["presence"]
        detail["local_jid"] = str(user.local_jid)
        # aioxmpp keeps the bare form of the item's jid as Occupant.direct_jid.
        check(room.me.direct_jid == user.local_jid.bare(),
              f"Room.me.direct_jid is {detail['me']['direct_jid']!r}, not the user's own JID "
              f"{user.local_jid.bare()}", self_presence=enter["presence"])
        check(enter["presence"]["item_jid"] == str(user.local_jid),
              "the self-presence item does not carry the user's own full JID",
              self_presence=enter["presence"])

    async def join(self, detail):
        mark_a = self.alice.mark()
        room, event = await self.enter(self.bob, "Bob", "on_muc_enter", detail)
        me = room.me
        detail["bob_room"] = room_summary(room)
        check(me.nick == "Bob" and me.role == "participant" and me.affiliation == "none",
              "Room.me of the guest", me=occupant_summary(me))
        check(110 in event["codes"] and 201 not in event["codes"], "the guest's on_muc_enter codes",
              codes=event["codes"])
        owner = member_by_nick(room, "Alice")
        check(owner is not None, "the guest's Room.members lacks the owner",
              members=detail["bob_room"]["members"])
        check(owner.role == "moderator" and owner.affiliation == "owner",
              "the owner's role/affiliation in the guest's Room.members", owner=occupant_summary(owner))
        joined = await self.alice.wait(lambda k, e: k == "on_join" and e["member"]["nick"] == "Bob",
                                       "on_join for Bob", since=mark_a)
        detail["alice_on_join"] = plain(joined)
        check(joined["member"]["role"] == "participant", "the owner sees the guest's role",
              member=joined["member"])
        check(joined["member"]["direct_jid"] == str(self.bob.local_jid.bare()),
              "the owner (a moderator) does not see the guest's direct_jid", member=joined["member"])
        check(member_by_nick(self.rooms[self.alice], "Bob") is not None,
              "Bob missing from the owner's Room.members")

    async def presence(self, detail):
        mark = self.alice.mark()
        status = f"brb {self.token}"
        stanza = aioxmpp.Presence(type_=aioxmpp.PresenceType.AVAILABLE,
                                  to=aioxmpp.JID.fromstr(f"{self.room}/Bob"),
                                  show=aioxmpp.PresenceShow.AWAY)
        stanza.status[None] = status
        await bounded(self.bob.client.send(stanza), "sending the presence")
        changed = await self.alice.wait(
            lambda k, e: k == "on_presence_changed" and e["member"]["nick"] == "Bob"
            and e["member"]["show"] == "away", "on_presence_changed for Bob (away)", since=mark)
        detail["alice_on_presence_changed"] = plain(changed)
        member = member_by_nick(self.rooms[self.alice], "Bob")
        detail["alice_member"] = occupant_summary(member)
        check(member.presence_state.show == aioxmpp.PresenceShow.AWAY,
              "Occupant.presence_state.show is not away", member=detail["alice_member"])
        check(member.presence_status.any() == status, "Occupant.presence_status is not the status",
              member=detail["alice_member"])
        check(member.role == "participant", "the presence update lost the role",
              member=detail["alice_member"])
        # Back to plain available.
        mark = self.alice.mark()
        await bounded(self.bob.client.send(aioxmpp.Presence(
            type_=aioxmpp.PresenceType.AVAILABLE, to=aioxmpp.JID.fromstr(f"{self.room}/Bob"))),
            "sending the presence")
        await self.alice.wait(lambda k, e: k == "on_presence_changed" and e["member"]["nick"] == "Bob"
                              and e["member"]["show"] is None, "Bob available again", since=mark)

    async def message_to_guest(self, detail):
        await self._message(self.alice, self.bob, "Alice", f"hello from alice {self.token}", detail)

    async def message_to_owner(self, detail):
        await self._message(self.bob, self.alice, "Bob", f"hello from bob {self.token}", detail)

    async def _message(self, sender, receiver, nick, body, detail):
        mark_r, mark_s = receiver.mark(), sender.mark()
        message = aioxmpp.Message(type_=aioxmpp.MessageType.GROUPCHAT)
        message.body[None] = body
        await bounded(self.rooms[sender].send_message(message), "sending the message")
        got = await receiver.wait(lambda k, e: k == "on_message" and e["body"] == body,
                                  f"on_message '{body}'", since=mark_r)
        detail["received"] = plain(got)
        check(got["member"] is not None and got["member"]["nick"] == nick,
              "on_message's member is not the sender", got=detail["received"])
        check(got["type"] == "groupchat" and not got["delayed"], "not a live groupchat",
              got=detail["received"])
        echo = await sender.wait(lambda k, e: k == "on_message" and e["body"] == body,
                                 "the reflection", since=mark_s)
        detail["reflected"] = plain(echo)
        check(echo["reflected"], "the reflection's member is not Room.me", echo=detail["reflected"])

    async def nick_change(self, detail):
        mark_a, mark_b = self.alice.mark(), self.bob.mark()
        await bounded(self.rooms[self.bob].set_nick("Robert"), "sending the nick change")
        changed = await self.alice.wait(lambda k, e: k == "on_nick_changed" and e["old"] == "Bob",
                                        "on_nick_changed Bob -> Robert", since=mark_a)
        detail["alice_on_nick_changed"] = plain(changed)
        check(changed["new"] == "Robert", "the new nick", event=detail["alice_on_nick_changed"])
        # Then the new nick's available presence (aioxmpp: on_presence_changed).
        await self.alice.wait(lambda k, e: k == "on_presence_changed" and e["member"]["nick"] == "Robert",
                              "Robert's presence after the rename", since=mark_a)
        alice_room = self.rooms[self.alice]
        detail["alice_room"] = room_summary(alice_room)
        robert = member_by_nick(alice_room, "Robert")
        check(robert is not None and member_by_nick(alice_room, "Bob") is None,
              "the owner's Room.members is not renamed", members=detail["alice_room"]["members"])
        check(robert is changed["object"], "the renamed occupant is a new object (aioxmpp keeps it)")
        check(robert.role == "participant", "Robert's role after the rename",
              member=occupant_summary(robert))
        roles = [plain(e) for k, e in self.alice.events[mark_a:] if k == "on_muc_role_changed"]
        detail["role_changes"] = roles
        check(not roles, "a nick change made aioxmpp report role changes", role_changes=roles)
        own = await self.bob.wait(lambda k, e: k == "on_nick_changed", "its own on_nick_changed",
                                  since=mark_b)
        detail["bob_on_nick_changed"] = plain(own)
        check(self.rooms[self.bob].me.nick == "Robert", "the guest's Room.me.nick",
              me=occupant_summary(self.rooms[self.bob].me))

    async def subject(self, detail):
        mark = self.bob.mark()
        topic = f"aioxmpp topic {self.token}"
        await bounded(self.rooms[self.alice].set_topic({None: topic}), "sending the subject")
        event = await self.bob.wait(lambda k, e: k == "on_topic_changed" and e["topic"] == topic,
                                    "on_topic_changed", since=mark)
        detail["bob_on_topic_changed"] = plain(event)
        room = self.rooms[self.bob]
        detail["bob_room_subject"] = (room.muc_subject.any(), room.muc_subject_setter)
        check(room.muc_subject.any() == topic, "Room.muc_subject is not the topic",
              subject=room.muc_subject.any())
        check(room.muc_subject_setter == "Alice", "Room.muc_subject_setter",
              setter=room.muc_subject_setter)

    async def join_history(self, detail):
        # aioxmpp shows the room's past through the history sent on join (no MAM).
        mark = self.dave.mark()
        room, _ = await self.enter(self.dave, "Dave", "on_muc_enter", detail)
        topic = f"aioxmpp topic {self.token}"
        await self.dave.wait(lambda k, e: k == "on_topic_changed", "the subject after the history",
                             since=mark)
        history = [plain(e) for k, e in self.dave.events[mark:] if k == "on_message"]
        detail["history"] = history
        detail["room"] = room_summary(room)
        bodies = [e["body"] for e in history if e["delayed"]]
        check(f"hello from alice {self.token}" in bodies and f"hello from bob {self.token}" in bodies,
              "the join history lacks the groupchat messages", history=history)
        nicks = {e["body"]: e["member"]["nick"] if e["member"] else None for e in history}
        check(nicks.get(f"hello from alice {self.token}") == "Alice", "a history message's member",
              nicks=nicks)
        check(room.muc_subject.any() == topic, "Room.muc_subject after joining",
              subject=room.muc_subject.any())
        names = sorted(m.nick for m in room.members)
        check(names == ["Alice", "Dave", "Robert"], "the late joiner's Room.members", members=names)

    async def kick(self, detail):
        mark_a = self.alice.mark()
        room_c, _ = await self.enter(self.carol, "Carol", "on_muc_enter", detail)
        await self.alice.wait(lambda k, e: k == "on_join" and e["member"]["nick"] == "Carol",
                              "on_join for Carol", since=mark_a)
        mark_a, mark_c = self.alice.mark(), self.carol.mark()
        member = member_by_nick(self.rooms[self.alice], "Carol")
        await bounded(self.rooms[self.alice].kick(member, "out you go"), "the kick")
        exit_ = await self.carol.wait(lambda k, e: k == "on_exit", "on_exit", since=mark_c)
        detail["carol_on_exit"] = plain(exit_)
        check(exit_["mode_enum"] == LeaveMode.KICKED, "on_exit's muc_leave_mode is not KICKED",
              event=detail["carol_on_exit"])
        check({110, 307} <= set(exit_["codes"]), "on_exit's status codes are not 110 + 307",
              codes=exit_["codes"])
        check(exit_["reason"] == "out you go", "on_exit's reason", event=detail["carol_on_exit"])
        check(not room_c.muc_joined, "Room.muc_joined still true after the kick")
        left = await self.alice.wait(lambda k, e: k == "on_leave" and e["member"]["nick"] == "Carol",
                                     "on_leave for Carol", since=mark_a)
        detail["alice_on_leave"] = plain(left)
        check(left["mode_enum"] == LeaveMode.KICKED, "the owner's on_leave mode",
              event=detail["alice_on_leave"])
        check(member_by_nick(self.rooms[self.alice], "Carol") is None, "Carol still in Room.members")

    async def ban(self, detail):
        mark_a = self.alice.mark()
        room_c, _ = await self.enter(self.carol, "Carol", "on_muc_enter_again", detail)
        await self.alice.wait(lambda k, e: k == "on_join" and e["member"]["nick"] == "Carol",
                              "on_join for Carol again", since=mark_a)
        mark_a, mark_c = self.alice.mark(), self.carol.mark()
        member = member_by_nick(self.rooms[self.alice], "Carol")
        check(member.direct_jid is not None, "the owner does not know Carol's JID (needed to ban)",
              member=occupant_summary(member))
        await bounded(self.rooms[self.alice].ban(member, "banned"), "the ban")
        exit_ = await self.carol.wait(lambda k, e: k == "on_exit", "on_exit", since=mark_c)
        detail["carol_on_exit"] = plain(exit_)
        check(exit_["mode_enum"] == LeaveMode.BANNED, "on_exit's muc_leave_mode is not BANNED",
              event=detail["carol_on_exit"])
        check({110, 301} <= set(exit_["codes"]), "on_exit's status codes are not 110 + 301",
              codes=exit_["codes"])
        check(not room_c.muc_joined, "Room.muc_joined still true after the ban")
        left = await self.alice.wait(lambda k, e: k == "on_leave" and e["member"]["nick"] == "Carol",
                                     "on_leave for Carol", since=mark_a)
        detail["alice_on_leave"] = plain(left)
        check(left["mode_enum"] == LeaveMode.BANNED, "the owner's on_leave mode",
              event=detail["alice_on_leave"])
        # Coming back: the join future fails with forbidden.
        _, future = self.carol.join(self.room, "Carol")
        try:
            await bounded(future, "the refused rejoin")
        except aioxmpp.errors.XMPPError as error:
            detail["rejoin_error"] = {"condition": str(error.condition), "text": str(error)}
            check(error.condition == aioxmpp.ErrorCondition.FORBIDDEN, "the rejoin is not refused "
                  "as forbidden", error=detail["rejoin_error"])
        else:
            raise ScenarioError("the banned user joined again")

    async def leave(self, detail):
        room = self.rooms[self.bob]
        nick = room.me.nick
        mark_a, mark_b = self.alice.mark(), self.bob.mark()
        # aioxmpp's Room.leave() sends <presence type='unavailable'/> to the *bare* room JID
        # and waits for on_exit (the room's unavailable self-presence).
        detail["sent"] = f"<presence type='unavailable' to='{self.room}'/> (Room.leave)"
        try:
            await bounded(room.leave(), "Room.leave() to complete")
        finally:
            detail["bob_events"] = [plain(e) for _, e in self.bob.events[mark_b:]]
            detail["bob_room"] = room_summary(room)
            detail["alice_sees_robert"] = occupant_summary(member_by_nick(self.rooms[self.alice], nick))
        exit_ = self.bob.find(lambda k, e: k == "on_exit", since=mark_b)
        check(exit_["mode_enum"] == LeaveMode.NORMAL, "on_exit's mode for a plain leave",
              event=plain(exit_))
        check(110 in exit_["codes"], "the leave's self-presence lacks 110", codes=exit_["codes"])
        check(not room.muc_joined, "Room.muc_joined still true after leave()")
        left = await self.alice.wait(lambda k, e: k == "on_leave" and e["member"]["nick"] == nick,
                                     "on_leave for the guest", since=mark_a)
        detail["alice_on_leave"] = plain(left)
        check(left["mode_enum"] == LeaveMode.NORMAL, "the owner's on_leave mode",
              event=detail["alice_on_leave"])

    async def run(self):
        async with contextlib.AsyncExitStack() as stack:
            self.stack = stack
            await self.step("connect", self.connect)
            await self.step("create", self.create, needs=["connect"])
            await self.step("configure", self.configure, needs=["create"])
            await self.step("self_jid_owner", self.self_jid_owner, needs=["create"])
            await self.step("join", self.join, needs=["create"])
            await self.step("self_jid_guest", self.self_jid_guest, needs=["join"])
            await self.step("presence", self.presence, needs=["join"])
            await self.step("message_to_guest", self.message_to_guest, needs=["join"])
            await self.step("message_to_owner", self.message_to_owner, needs=["join"])
            await self.step("nick_change", self.nick_change, needs=["join"])
            await self.step("subject", self.subject, needs=["join"])
            await self.step("join_history", self.join_history,
                            needs=["message_to_guest", "message_to_owner", "subject", "nick_change"])
            await self.step("kick", self.kick, needs=["create"])
            await self.step("ban", self.ban, needs=["kick"])
            await self.step("leave", self.leave, needs=["join"])
            # Leaving the context disconnects every client (bounded: a stuck stream must
            # not hang the script).
            try:
                await asyncio.wait_for(stack.aclose(), 10)
            except (asyncio.TimeoutError, Exception) as error:  # noqa: B014
                print(f"aioxmpp_scenario: disconnecting: {type(error).__name__}: {error}",
                      file=sys.stderr)
        return self.results.summary()


def main(argv=None):
    global TIMEOUT
    args = parse_args(
        sys.argv[1:] if argv is None else argv, description=__doc__.split("\n\n")[0],
        roles=("the owner", "the guest", "the one kicked and banned", "the late joiner"),
        room_jid=aioxmpp.JID.fromstr,
        options=[(("--debug",), dict(action="store_true", help="aioxmpp's debug log on stderr"))])
    TIMEOUT = args.timeout
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    async def scenario():
        # The clients must be made inside the running loop (aioxmpp binds to the loop
        # current at construction).
        return await Scenario(args).run()
    status = asyncio.run(scenario())
    if status:
        print("aioxmpp_scenario: some steps failed (see the JSON lines on stdout)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
