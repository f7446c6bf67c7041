#!/usr/bin/python3
"""A multi-user-chat scenario driven by python3-nbxmpp (Gajim's protocol library).

Run with the Debian interpreter (/usr/bin/python3), where python3-nbxmpp is installed:

    /usr/bin/python3 Interop/clients/nbxmpp_scenario.py --port 25222 \
        --room nbxmpp-1@rooms.localhost --service rooms.localhost \
        --account alice=alice-secret --account bob=bob-secret --account carol=carol-secret

The first account creates and owns the room, the second is the guest who chats, changes
presence and nick, queries the archive and leaves, the third is kicked and then banned.
Plain TCP, no TLS (nbxmpp: a custom host with ConnectionType.PLAIN).

Prints one JSON object per step on stdout, in order:
    {"step": NAME, "ok": true|false, "skipped": bool, "detail": {...}, "error": TEXT, "seconds": S}
and a last line {"summary": {"passed": [...], "failed": [...], "skipped": [...]}}.
Every wait is bounded (--timeout, default 15 s). Exit status: 0 when every step passed,
1 when a step failed (a message on stderr), 2 when the scenario could not run at all
(the library does not import, bad arguments).

nbxmpp parses each stanza into "properties" (muc_user: role, affiliation, jid, nick;
muc_status_codes; is_muc_self_presence, is_nickname_changed, is_kicked, is_new_room;
muc_subject; mam) but keeps no occupant list: that is Gajim's job. The scenario keeps one
per user the way Gajim does, from those properties only, and checks both.
"""

from __future__ import annotations

import sys
import urllib.request
import time
import uuid

from scenario import Results, ScenarioError, cannot_import, check, parse_args, polling

try:
    import gi  # noqa: F401
    from gi.repository import GLib
    from nbxmpp.client import Client
    from nbxmpp.const import ConnectionProtocol, ConnectionType, StatusCode
    from nbxmpp.protocol import JID, Message
    from nbxmpp.structs import StanzaHandler
except ImportError as error:  # pragma: no cover - depends on the machine
    cannot_import("nbxmpp", error)


TIMEOUT = 15.0


# -- the GLib loop, driven step by step ---------------------------------------------------

_CONTEXT = GLib.MainContext.default()
GLib.timeout_add(50, lambda: True)   # wakes iteration() up at least every 50 ms


def pump(predicate, what, timeout=None):
    """Run the GLib loop until predicate() returns something true (returned), or fail."""
    for value in polling(predicate, what, TIMEOUT if timeout is None else timeout):
        if value:
            return value
        _CONTEXT.iteration(True)


def settle(seconds):
    """Let the loop run for a while (to see that nothing more arrives)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _CONTEXT.iteration(True)


def run_task(start, what, timeout=None):
    """Start an nbxmpp task (a function taking callback=) and wait for its result; the
    task's StanzaError is raised as is."""
    box = {}

    def done(task):
        try:
            box["result"] = task.finish()
        except Exception as error:  # the library's StanzaError and friends
            box["error"] = error
        box["done"] = True

    start(done)
    pump(lambda: box.get("done"), what, timeout)
    if "error" in box:
        raise box["error"]
    return box["result"]


def error_summary(error):
    if error is None:
        return None
    return {"condition": getattr(error, "condition", None), "type": getattr(error, "type", None),
            "text": str(error)}


# -- one nbxmpp client -------------------------------------------------------------------

class User:
    """An nbxmpp Client plus what its handlers saw, and a Gajim-like view of each room."""

    def __init__(self, name, password, args):
        self.name = name
        self.client = Client(log_context=name)
        self.client.set_username(name)
        self.client.set_domain(args.domain)
        self.client.set_resource(f"nbxmpp-{uuid.uuid4().hex[:6]}")
        self.client.set_password(password)
        # Plain TCP to host:port: the custom host replaces SRV lookups and host-meta, and
        # ConnectionType.PLAIN means no STARTTLS (the test servers offer none).
        self.client.set_custom_host(f"{args.host}:{args.port}", ConnectionProtocol.TCP,
                                    ConnectionType.PLAIN)
        self.client.set_mechs(["SCRAM-SHA-1", "PLAIN"])
        self.state = "new"
        self.presences = []   # (summary dict, properties)
        self.messages = []
        self.rooms = {}       # room JID -> RoomView
        self.client.subscribe("connected", self._on_connected)
        self.client.subscribe("connection-failed", self._on_failed)
        self.client.subscribe("disconnected", self._on_disconnected)
        self.client.register_handler(StanzaHandler(name="presence", callback=self._on_presence,
                                                   priority=90))
        self.client.register_handler(StanzaHandler(name="message", callback=self._on_message,
                                                   priority=90))

    # connection
    def _on_connected(self, _client, _signal):
        self.state = "connected"

    def _on_failed(self, client, _signal):
        self.state = f"failed: {client.get_error()}"

    def _on_disconnected(self, client, _signal):
        if self.state in ("new", "connected"):
            self.state = f"disconnected ({self.state}): {client.get_error()}"
        elif not self.state.startswith("failed"):
            self.state = "disconnected"

    def connect(self):
        self.client.connect()
        pump(lambda: self.state != "new", f"{self.name} to log in")
        check(self.state == "connected", f"{self.name} could not log in: {self.state}")
        return str(self.client.get_bound_jid())

    def disconnect(self):
        if self.state == "connected":
            self.client.disconnect()
            try:
                pump(lambda: self.state != "connected", f"{self.name} to disconnect", 5)
            except ScenarioError:
                pass

    @property
    def jid(self):
        return self.client.get_bound_jid()

    # stanzas, as the library parsed them
    def _on_presence(self, _client, stanza, properties):
        muc_user = properties.muc_user
        summary = {
            "from": str(properties.jid),
            "type": properties.type.value or "available",
            "show": properties.show.value if properties.show is not None else None,
            "status": properties.status or None,
            "from_muc": properties.from_muc,
            "codes": sorted(int(code.value) for code in properties.muc_status_codes or ()),
            "role": muc_user.role.value if muc_user and muc_user.role else None,
            "affiliation": muc_user.affiliation.value if muc_user and muc_user.affiliation else None,
            "real_jid": str(muc_user.jid) if muc_user and muc_user.jid else None,
            "item_nick": muc_user.nick if muc_user else None,
            "reason": muc_user.reason if muc_user else None,
            "self": properties.is_muc_self_presence,
            "new_room": properties.is_new_room,
            "nick_changed": properties.is_nickname_changed,
            "kicked": properties.is_kicked,
            "error": error_summary(properties.error),
            "xml": str(stanza)[:1500],
        }
        self.presences.append((summary, properties))
        if properties.muc_jid is not None and str(properties.muc_jid) in self.rooms:
            self.rooms[str(properties.muc_jid)].on_presence(properties, summary)

    def _on_message(self, _client, stanza, properties):
        summary = {
            "from": str(properties.jid),
            "type": properties.type.value,
            "body": properties.body,
            "subject": properties.subject,
            "muc_nick": properties.muc_nickname,
            "is_muc_subject": properties.is_muc_subject,
            "muc_subject": (properties.muc_subject.text if properties.muc_subject else None),
            "muc_subject_author": (properties.muc_subject.author if properties.muc_subject else None),
            "stanza_ids": [(s.id, s.by) for s in properties.stanza_ids],
            "mam": ({"id": properties.mam.id, "query_id": properties.mam.query_id,
                     "archive": str(properties.mam.archive),
                     "timestamp": str(properties.mam.timestamp)} if properties.mam else None),
            "error": error_summary(properties.error),
            "xml": str(stanza)[:1500],
        }
        self.messages.append((summary, properties))

    def mark(self):
        return len(self.presences), len(self.messages)

    def wait_presence(self, predicate, what, since=0, timeout=None):
        def found():
            for summary, properties in self.presences[since:]:
                if predicate(summary, properties):
                    return summary, properties
            return None
        return pump(found, f"{self.name}: {what}", timeout)

    def wait_message(self, predicate, what, since=0, timeout=None):
        def found():
            for summary, properties in self.messages[since:]:
                if predicate(summary, properties):
                    return summary, properties
            return None
        return pump(found, f"{self.name}: {what}", timeout)

    # what a client does (the way Gajim does it with nbxmpp)
    def join(self, room, nick):
        view = self.rooms[room] = RoomView(room, nick)
        self.client.get_module("BasePresence").send(jid=f"{room}/{nick}", muc=True)
        return view

    def send_presence(self, room, nick, show=None, status=None, typ=None):
        self.client.get_module("BasePresence").send(jid=f"{room}/{nick}", typ=typ, show=show,
                                                      status=status)

    def say(self, room, body):
        self.client.send_stanza(Message(to=room, body=body, typ="groupchat"))

    def muc(self):
        return self.client.get_module("MUC")


class RoomView:
    """What Gajim keeps per room, built from nbxmpp's parsed presence properties."""

    def __init__(self, room, nick):
        self.room = room
        self.nick = nick            # our nick as we asked for it / as the room says
        self.joined = False
        self.left = False
        self.self_codes = []        # status codes of every self-presence, in order
        self.exit = None            # the self-presence that removed us
        self.occupants = {}         # nick -> {role, affiliation, real_jid, show, status}
        self.renames = []           # (old, new, role in the 303 presence)
        self.error = None

    def on_presence(self, properties, summary):
        nick = properties.jid.resource
        if properties.type.is_error:
            self.error = summary["error"]
            return
        if properties.is_muc_self_presence:
            self.self_codes.append(summary["codes"])
        if properties.type.is_unavailable:
            if properties.is_nickname_changed:
                new = properties.muc_user.nick
                self.renames.append((nick, new, summary["role"]))
                entry = self.occupants.pop(nick, None)
                if entry is not None:
                    self.occupants[new] = entry
                if properties.is_muc_self_presence:
                    self.nick = new
                return
            self.occupants.pop(nick, None)
            if properties.is_muc_self_presence:
                self.joined = False
                self.left = True
                self.exit = summary
            return
        muc_user = properties.muc_user
        self.occupants[nick] = {
            "role": summary["role"], "affiliation": summary["affiliation"],
            "real_jid": summary["real_jid"], "show": summary["show"], "status": summary["status"],
        }
        if properties.is_muc_self_presence:
            self.nick = nick
            self.joined = True
            self.left = False
            self.me = muc_user

    def snapshot(self):
        return {"nick": self.nick, "joined": self.joined, "left": self.left,
                "occupants": self.occupants, "renames": self.renames,
                "self_codes": self.self_codes}


# -- the scenario ------------------------------------------------------------------------

class Scenario:
    def __init__(self, args):
        self.args = args
        self.room = args.room
        self.results = Results("nbxmpp_scenario")
        (owner, owner_pw), (guest, guest_pw), (victim, victim_pw) = args.accounts[:3]
        self.alice = User(owner, owner_pw, args)
        self.bob = User(guest, guest_pw, args)
        self.carol = User(victim, victim_pw, args)
        self.users = [self.alice, self.bob, self.carol]
        self.nick = {self.alice: "Alice", self.bob: "Bob", self.carol: "Carol"}
        self.token = uuid.uuid4().hex[:8]

    def step(self, name, function, needs=()):
        if self.results.ready(name, needs):
            with self.results.step(name) as detail:
                function(detail)

    # steps
    def connect(self, detail):
        for user in self.users:
            detail[user.name] = user.connect()

    def create(self, detail):
        view = self.alice.join(self.room, "Alice")
        summary, props = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Alice" and (p.is_muc_self_presence or s["error"]),
            "the self-presence of the new room")
        detail["self_presence"] = summary
        check(not summary["error"], "the room refused the owner", presence=summary)
        check(props.is_new_room, "nbxmpp does not report a new room (110 and 201)", codes=summary["codes"])
        check(props.affiliation is not None and props.affiliation.is_owner,
              "the creator's affiliation is not owner", affiliation=summary["affiliation"])
        check(props.role is not None and props.role.is_moderator,
              "the creator's role is not moderator", role=summary["role"])
        check(view.joined and view.nick == "Alice", "the room view has not joined", view=view.snapshot())

    def configure(self, detail):
        muc = self.alice.muc()
        result = run_task(lambda cb: muc.request_config(self.room, callback=cb), "the config form")
        form = result.form
        check(form is not None, "the owner got no configuration form")
        fields = [field.var for field in form.iter_fields()]
        detail["fields"] = fields
        name = f"nbxmpp room {self.token}"
        form["muc#roomconfig_roomname"].value = name
        if "muc#roomconfig_roomdesc" in fields:
            form["muc#roomconfig_roomdesc"].value = "configured through nbxmpp"
        # Parley's web logs: the owner publishes the room from the same form Gajim shows.
        publishes = "parley#roomconfig_weblogs" in fields
        if publishes:
            form["parley#roomconfig_weblogs"].value = True
        run_task(lambda cb: muc.set_config(self.room, form, callback=cb), "the config submission")
        # The library's view of the result: disco#info with muc#roominfo.
        info = run_task(lambda cb: self.alice.client.get_module("Discovery").disco_info(
            self.room, callback=cb), "disco#info of the room")
        detail["muc_name"] = info.muc_name
        detail["muc_room_name"] = info.muc_room_name
        detail["features"] = sorted(info.features)
        check(info.muc_name == name, "disco#info does not show the new room name",
              muc_name=info.muc_name, identities=[(i.category, i.type, i.name) for i in info.identities])
        if publishes:
            # What Gajim links as the room's logs (muc#roominfo_logs), and a reader's browser gets there.
            detail["muc_log_uri"] = info.muc_log_uri
            local = self.room.split("@")[0]
            check(bool(info.muc_log_uri) and info.muc_log_uri.endswith(f"/logs/{local}/"),
                  "disco#info names no web logs", uri=info.muc_log_uri)
            with urllib.request.urlopen(info.muc_log_uri, timeout=10) as page:
                text = page.read().decode()
                check(page.status == 200 and name in text, "the web logs do not show the room",
                      status=page.status)
        # And the form again.
        again = run_task(lambda cb: muc.request_config(self.room, callback=cb), "the config form again")
        detail["roomname_after"] = again.form["muc#roomconfig_roomname"].value
        check(again.form["muc#roomconfig_roomname"].value == name, "the form does not keep the name",
              value=again.form["muc#roomconfig_roomname"].value)

    def join(self, detail):
        mark = self.alice.mark()
        view = self.bob.join(self.room, "Bob")
        summary, props = self.bob.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Bob" and (p.is_muc_self_presence or s["error"]),
            "its self-presence")
        detail["bob_self_presence"] = summary
        check(not summary["error"], "the room refused the guest", presence=summary)
        check(props.role is not None and props.role.is_participant, "the guest's role is not participant",
              role=summary["role"])
        check(props.affiliation is not None and props.affiliation.is_none,
              "the guest's affiliation is not none", affiliation=summary["affiliation"])
        # The occupant list Bob's client builds: Alice (owner, moderator) and himself.
        check("Alice" in view.occupants, "the guest's occupant list lacks the owner",
              occupants=view.occupants)
        check(view.occupants["Alice"]["role"] == "moderator" and
              view.occupants["Alice"]["affiliation"] == "owner",
              "the owner's role/affiliation as the guest sees it", occupant=view.occupants["Alice"])
        # Joining ends with the subject (Gajim's "joined" point): empty, but present.
        subject, sprops = self.bob.wait_message(
            lambda s, p: p.is_muc_subject and s["from"].startswith(self.room), "the room subject on join")
        detail["subject_on_join"] = subject
        # Alice's library: Bob's presence, with his real JID (she is a moderator).
        seen, _ = self.alice.wait_presence(lambda s, p: s["from"] == f"{self.room}/Bob",
                                           "Bob's join presence", since=mark[0])
        detail["alice_sees"] = seen
        check(seen["role"] == "participant", "the owner sees the wrong role for the guest", seen=seen)
        check(seen["real_jid"] == str(self.bob.jid.bare), "the owner (a moderator) does not see the "
              "guest's real JID", seen=seen)
        check("Bob" in self.alice.rooms[self.room].occupants, "the owner's occupant list lacks Bob",
              occupants=self.alice.rooms[self.room].occupants)
        detail["bob_view"] = view.snapshot()
        detail["alice_view"] = self.alice.rooms[self.room].snapshot()

    def presence(self, detail):
        mark = self.alice.mark()
        self.bob.send_presence(self.room, "Bob", show="away", status=f"brb {self.token}")
        seen, props = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Bob" and s["show"] == "away", "Bob away",
            since=mark[0])
        detail["alice_sees"] = seen
        check(props.status == f"brb {self.token}", "the status text did not come through", seen=seen)
        check(props.show.is_away, "show is not away", seen=seen)
        occupant = self.alice.rooms[self.room].occupants.get("Bob")
        check(occupant is not None and occupant["show"] == "away"
              and occupant["status"] == f"brb {self.token}",
              "the owner's occupant list does not have Bob away", occupant=occupant)
        check(seen["role"] == "participant", "the presence update lost the role", seen=seen)
        # Back online for the rest.
        mark = self.alice.mark()
        self.bob.send_presence(self.room, "Bob")
        self.alice.wait_presence(lambda s, p: s["from"] == f"{self.room}/Bob" and s["show"] == "online",
                                 "Bob back online", since=mark[0])

    def message_to_bob(self, detail):
        self._message(self.alice, self.bob, "Alice", f"hello from alice {self.token}", detail)

    def message_to_alice(self, detail):
        self._message(self.bob, self.alice, "Bob", f"hello from bob {self.token}", detail)

    def _message(self, sender, receiver, nick, body, detail):
        receiver_mark = receiver.mark()
        sender_mark = sender.mark()
        sender.say(self.room, body)
        got, props = receiver.wait_message(lambda s, p: s["body"] == body, f"the groupchat '{body}'",
                                           since=receiver_mark[1])
        detail["received"] = got
        check(props.type.is_groupchat, "not a groupchat message", got=got)
        check(props.from_muc and str(props.muc_jid) == self.room, "nbxmpp does not put it in the room",
              got=got)
        check(props.muc_nickname == nick, "the wrong sender nick", got=got)
        if not self.args.no_archive:
            check(any(by == self.room for _, by in got["stanza_ids"]),
                  "no stanza-id by the room (the archive id)", got=got)
        echo, _ = sender.wait_message(lambda s, p: s["body"] == body, "the reflection", since=sender_mark[1])
        detail["reflected"] = echo
        check(echo["muc_nick"] == nick, "the reflection has the wrong nick", echo=echo)

    def nick_change(self, detail):
        mark_a, mark_b = self.alice.mark(), self.bob.mark()
        self.bob.send_presence(self.room, "Robert")
        gone, props = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Bob" and s["type"] == "unavailable",
            "Bob's 303 unavailable", since=mark_a[0])
        detail["alice_sees_303"] = gone
        self.nick_change_303 = gone
        check(props.is_nickname_changed, "nbxmpp does not see a nick change (303 + item nick)", seen=gone)
        check(str(props.new_jid) == f"{self.room}/Robert", "the new occupant JID", seen=gone)
        back, _ = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Robert" and s["type"] == "available",
            "Robert's presence", since=mark_a[0])
        detail["alice_sees_new"] = back
        view = self.alice.rooms[self.room]
        detail["alice_view"] = view.snapshot()
        check("Robert" in view.occupants and "Bob" not in view.occupants,
              "the owner's occupant list is not renamed", occupants=view.occupants)
        check(view.occupants["Robert"]["role"] == "participant", "Robert's role after the rename",
              occupant=view.occupants["Robert"])
        own, oprops = self.bob.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Bob" and s["type"] == "unavailable",
            "its own 303", since=mark_b[0])
        detail["bob_own_303"] = own
        check(oprops.is_muc_self_presence and oprops.is_nickname_changed,
              "the guest's library does not see its own nick change (110 + 303)", own=own)
        self.bob.wait_presence(lambda s, p: s["from"] == f"{self.room}/Robert" and p.is_muc_self_presence,
                               "its new self-presence", since=mark_b[0])
        check(self.bob.rooms[self.room].nick == "Robert", "the guest's own nick is not updated",
              view=self.bob.rooms[self.room].snapshot())
        self.nick[self.bob] = "Robert"

    def nick_change_role(self, detail):
        # XEP-0045 §7.6 ex. 92: the unavailable presence of a nick change carries the
        # occupant's affiliation and role (only a departure has role='none').
        gone = self.nick_change_303
        detail["alice_sees_303"] = gone
        check(gone["role"] == "participant", f"the 303 presence has role={gone['role']!r}, "
              "not the occupant's role 'participant'", role=gone["role"], xml=gone["xml"])
        check(gone["affiliation"] == "none", "the 303 presence has the wrong affiliation",
              affiliation=gone["affiliation"])

    def subject(self, detail):
        mark = self.bob.mark()
        topic = f"nbxmpp topic {self.token}"
        self.alice.muc().set_subject(self.room, topic)
        got, props = self.bob.wait_message(lambda s, p: p.is_muc_subject and s["subject"] == topic,
                                           "the new subject", since=mark[1])
        detail["bob_sees"] = got
        check(props.muc_subject is not None and props.muc_subject.text == topic,
              "nbxmpp's muc_subject is not the topic", got=got)
        check(props.muc_subject.author == "Alice", "the subject's author", got=got)

    def mam(self, detail):
        query_id = f"nbxmpp-{self.token}"
        mark = self.bob.mark()
        fin = run_task(lambda cb: self.bob.client.get_module("MAM").make_query(
            self.room, queryid=query_id, max_=50, callback=cb), "the MAM query")
        detail["fin"] = {"jid": str(fin.jid), "complete": fin.complete,
                         "first": fin.rsm.first, "last": fin.rsm.last, "count": fin.rsm.count}
        results = [(s, p) for s, p in self.bob.messages[mark[1]:]
                   if s["mam"] and s["mam"]["query_id"] == query_id]
        detail["results"] = [{"from": s["from"], "body": s["body"], "mam": s["mam"],
                              "muc_nick": s["muc_nick"]} for s, _ in results]
        bodies = [s["body"] for s, _ in results]
        check(str(fin.jid) == self.room, "the MAM answer is not from the room", jid=str(fin.jid))
        check(fin.complete, "the archive is not complete with max 50", fin=detail["fin"])
        check(f"hello from alice {self.token}" in bodies and f"hello from bob {self.token}" in bodies,
              "the archive lacks the groupchat messages", bodies=bodies)
        for summary, props in results:
            check(str(props.mam.archive) == self.room, "a result not from the room's archive",
                  result=summary["mam"])
            check(props.type.is_groupchat and str(props.muc_jid) == self.room,
                  "nbxmpp does not read a result as a groupchat of the room", result=summary)
        by_body = {s["body"]: s for s, _ in results}
        check(by_body[f"hello from alice {self.token}"]["muc_nick"] == "Alice",
              "the archived message's nick", result=by_body[f"hello from alice {self.token}"])

    def kick(self, detail):
        view = self.carol.join(self.room, "Carol")
        self.carol.wait_presence(lambda s, p: s["from"] == f"{self.room}/Carol" and
                                 (p.is_muc_self_presence or s["error"]), "its self-presence")
        check(view.joined, "carol did not get in", view=view.snapshot())
        mark_a, mark_c = self.alice.mark(), self.carol.mark()
        self.alice.wait_presence(lambda s, p: s["from"] == f"{self.room}/Carol", "Carol's join")
        run_task(lambda cb: self.alice.muc().set_role(self.room, "Carol", "none", reason="out you go",
                                                     callback=cb), "the kick")
        own, props = self.carol.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Carol" and s["type"] == "unavailable",
            "its removal", since=mark_c[0])
        detail["carol_sees"] = own
        check(props.is_kicked, "nbxmpp does not report a removal (is_kicked)", own=own)
        check(StatusCode.REMOVED_KICKED in props.muc_status_codes and
              StatusCode.SELF in props.muc_status_codes, "not 307 + 110", codes=own["codes"])
        check(own["reason"] == "out you go", "the reason did not come through", own=own)
        check(own["role"] == "none", "the kicked occupant's role is not none", own=own)
        check(view.left and not view.joined, "the kicked user's room view still joined",
              view=view.snapshot())
        seen, _ = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Carol" and s["type"] == "unavailable",
            "Carol's removal", since=mark_a[0])
        detail["alice_sees"] = seen
        check(307 in seen["codes"] and 110 not in seen["codes"], "the others see the wrong codes",
              seen=seen)
        check("Carol" not in self.alice.rooms[self.room].occupants, "Carol still in the owner's list",
              occupants=self.alice.rooms[self.room].occupants)

    def ban(self, detail):
        mark = self.carol.mark()
        view = self.carol.join(self.room, "Carol")
        self.carol.wait_presence(lambda s, p: s["from"] == f"{self.room}/Carol" and
                                 (p.is_muc_self_presence or s["error"]), "its self-presence again",
                                 since=mark[0])
        check(view.joined, "carol did not get back in", view=view.snapshot())
        mark_c = self.carol.mark()
        run_task(lambda cb: self.alice.muc().set_affiliation(
            self.room, {str(self.carol.jid.bare): {"affiliation": "outcast", "reason": "banned"}},
            callback=cb), "the ban")
        own, props = self.carol.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Carol" and s["type"] == "unavailable",
            "its removal", since=mark_c[0])
        detail["carol_sees"] = own
        check(props.is_kicked, "nbxmpp does not report a removal", own=own)
        check(StatusCode.REMOVED_BANNED in props.muc_status_codes and
              StatusCode.SELF in props.muc_status_codes, "not 301 + 110", codes=own["codes"])
        check(own["affiliation"] == "outcast", "the banned user's affiliation is not outcast", own=own)
        check(view.left, "the banned user's room view still joined", view=view.snapshot())
        # Coming back is refused.
        mark = self.carol.mark()
        view = self.carol.join(self.room, "Carol")
        refused, rprops = self.carol.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/Carol" and s["type"] == "error",
            "the refusal of its rejoin", since=mark[0])
        detail["rejoin"] = refused
        check(refused["error"]["condition"] == "forbidden", "the rejoin is not refused as forbidden",
              refused=refused)
        check(not view.joined, "the banned user is in the room again", view=view.snapshot())

    def leave(self, detail):
        mark_a, mark_b = self.alice.mark(), self.bob.mark()
        nick = self.bob.rooms[self.room].nick
        # Gajim leaves with unavailable presence to its occupant JID.
        self.bob.send_presence(self.room, nick, typ="unavailable", status="bye")
        own, props = self.bob.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/{nick}" and s["type"] == "unavailable",
            "its own unavailable presence", since=mark_b[0])
        detail["bob_sees"] = own
        check(props.is_muc_self_presence, "the leave is not confirmed with 110", own=own)
        check(not props.is_kicked, "a plain leave reads as a removal", own=own)
        check(self.bob.rooms[self.room].left, "the guest's room view did not leave",
              view=self.bob.rooms[self.room].snapshot())
        seen, _ = self.alice.wait_presence(
            lambda s, p: s["from"] == f"{self.room}/{nick}" and s["type"] == "unavailable",
            "the guest leaving", since=mark_a[0])
        detail["alice_sees"] = seen
        check(seen["status"] == "bye", "the leave status text", seen=seen)
        check(nick not in self.alice.rooms[self.room].occupants, "the guest is still in the owner's list",
              occupants=self.alice.rooms[self.room].occupants)
        detail["alice_view"] = self.alice.rooms[self.room].snapshot()

    def run(self):
        self.step("connect", self.connect)
        self.step("create", self.create, needs=["connect"])
        self.step("configure", self.configure, needs=["create"])
        self.step("join", self.join, needs=["create"])
        self.step("presence", self.presence, needs=["join"])
        self.step("message_to_guest", self.message_to_bob, needs=["join"])
        self.step("message_to_owner", self.message_to_alice, needs=["join"])
        self.step("nick_change", self.nick_change, needs=["join"])
        self.step("nick_change_role", self.nick_change_role, needs=["nick_change"])
        self.step("subject", self.subject, needs=["join"])
        if not self.args.no_archive:
            self.step("mam", self.mam, needs=["message_to_guest", "message_to_owner"])
        self.step("kick", self.kick, needs=["create"])
        self.step("ban", self.ban, needs=["kick"])
        self.step("leave", self.leave, needs=["join"])
        for user in self.users:
            user.disconnect()
        return self.results.summary()


def main(argv=None):
    global TIMEOUT
    args = parse_args(
        sys.argv[1:] if argv is None else argv, description=__doc__.split("\n\n")[0],
        roles=("the owner", "the guest", "the one kicked and banned"), room_jid=JID.from_string,
        options=[(("--no-archive",), dict(
            action="store_true",
            help="the service keeps no archive: no MAM step, no stanza-id check"))])
    TIMEOUT = args.timeout
    status = Scenario(args).run()
    if status:
        print("nbxmpp_scenario: some steps failed (see the JSON lines on stdout)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
