"""Shared parts of check_prosody.py and check_ejabberd.py: raw XMPP streams (a XEP-0114
component, light c2s clients for the benchmark), slixmpp clients, the XEP-0033 checks and
the multicast-vs-unicast benchmark. Everything waits with a deadline; loopback only.

Not part of the interop test suite: these scripts start their own private server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import os
import subprocess
import socket
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable, Iterable
from xml.sax.saxutils import quoteattr, escape

LOOPBACK = "127.0.0.1"
NS_ADDRESS = "http://jabber.org/protocol/address"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"


class CheckFailed(AssertionError):
    pass


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def show(elem: ET.Element, limit: int = 900) -> str:
    """An element as compact XML (namespaces as ElementTree writes them)."""
    text = ET.tostring(elem, encoding="unicode")
    return text if len(text) <= limit else text[:limit] + f"... [{len(text)} chars]"


def error_of(elem: ET.Element) -> tuple[str | None, str | None, str | None]:
    """(type, condition, text) of a stanza error, or Nones."""
    for err in elem:
        if local(err.tag) == "error":
            cond = text = None
            for child in err:
                if child.tag.startswith("{" + NS_STANZAS + "}"):
                    if local(child.tag) == "text":
                        text = child.text
                    else:
                        cond = local(child.tag)
            return err.get("type"), cond, text
    return None, None, None


def addresses_of(elem: ET.Element) -> ET.Element | None:
    return elem.find(f"{{{NS_ADDRESS}}}addresses")


def addresses_xml(entries: Iterable[tuple[str, str] | tuple[str, str, dict]]) -> str:
    parts = []
    for entry in entries:
        kind, jid = entry[0], entry[1]
        extra = entry[2] if len(entry) > 2 else {}
        attrs = {"type": kind, **({"jid": jid} if jid else {}), **extra}
        parts.append("<address " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + "/>")
    return f"<addresses xmlns='{NS_ADDRESS}'>" + "".join(parts) + "</addresses>"


# -- a mailbox with bounded waits ------------------------------------------------------

class Mailbox:
    def __init__(self, name: str):
        self.name = name
        self.items: list[ET.Element] = []
        self._arrived = asyncio.Event()

    def put(self, elem: ET.Element) -> None:
        self.items.append(elem)
        self._arrived.set()

    def take_all(self, pred: Callable[[ET.Element], bool]) -> list[ET.Element]:
        hits = [e for e in self.items if pred(e)]
        self.items = [e for e in self.items if not pred(e)]
        return hits

    async def expect(self, pred: Callable[[ET.Element], bool], what: str,
                     timeout: float = 5.0) -> ET.Element:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, elem in enumerate(self.items):
                if pred(elem):
                    return self.items.pop(i)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise CheckFailed(f"{self.name}: no {what} within {timeout} s")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def settle(self, seconds: float = 0.7) -> None:
        """Give late (duplicate) stanzas a moment to arrive."""
        await asyncio.sleep(seconds)


# -- raw streams -----------------------------------------------------------------------

class _StanzaParser:
    """Incremental parse of one XML stream: yields each complete top-level stanza."""

    def __init__(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root: ET.Element | None = None

    def feed(self, data: bytes) -> list[ET.Element]:
        self.parser.feed(data)
        done = []
        for event, elem in self.parser.read_events():
            if event == "start":
                if self.depth == 0:
                    self.root = elem
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 1:
                    done.append(elem)
                    self.root.remove(elem)
        return done


class RawStream:
    """One XMPP stream over a plain socket. In parse mode every top-level element goes to
    the mailbox; in count mode (benchmark receivers) only '</message>' is counted."""

    def __init__(self, name: str):
        self.name = name
        self.mailbox = Mailbox(name)
        self.header: dict[str, str] | None = None
        self._header_seen = asyncio.Event()
        self._parser = _StanzaParser()
        self.counting = False
        self.count = 0
        self.count_target = 0
        self.count_done = asyncio.Event()
        self._carry = b""
        self._task: asyncio.Task | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.closed = asyncio.Event()

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(LOOPBACK, port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._task = asyncio.create_task(self._read_loop())

    def send(self, data: str | bytes) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def _read_loop(self) -> None:
        marker = b"</message>"
        try:
            while True:
                data = await self.reader.read(1 << 16)
                if not data:
                    break
                if self.counting:
                    chunk = self._carry + data
                    self.count += chunk.count(marker)
                    # keep a tail shorter than the marker, so no marker is counted twice
                    self._carry = chunk[-(len(marker) - 1):]
                    if self.count >= self.count_target:
                        self.count_done.set()
                    continue
                for elem in self._parser.feed(data):
                    if local(elem.tag) == "success" and elem.tag.startswith("{" + NS_SASL):
                        self._parser = _StanzaParser()   # the stream restarts after SASL
                        self._header_seen.clear()
                    self.mailbox.put(elem)
                root = self._parser.root
                if root is not None and not self._header_seen.is_set():
                    self.header = dict(root.attrib)
                    self._header_seen.set()
        except (ConnectionError, ET.ParseError) as error:
            print(f"  [{self.name}] stream ended: {error!r}", file=sys.stderr)
        finally:
            self.closed.set()

    async def wait_header(self, timeout: float = 5.0) -> dict[str, str]:
        await asyncio.wait_for(self._header_seen.wait(), timeout)
        return self.header

    def start_counting(self, target: int) -> None:
        self.count, self.count_target, self._carry = 0, target, b""
        self.count_done.clear()
        self.counting = True

    async def close(self) -> None:
        if self.writer is None:
            return
        try:
            self.send("</stream:stream>")
            await asyncio.wait_for(self.writer.drain(), 2)
            self.writer.close()
        except Exception:
            pass
        if self._task:
            self._task.cancel()


async def component_login(port: int, domain: str, secret: str) -> RawStream:
    """XEP-0114: open a jabber:component:accept stream, answer with sha1(id + secret)."""
    stream = RawStream(f"component {domain}")
    await stream.connect(port)
    stream.send(f"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                f"xmlns:stream='{NS_STREAM}' to='{domain}'>")
    header = await stream.wait_header()
    token = hashlib.sha1((header["id"] + secret).encode()).hexdigest()
    stream.send(f"<handshake>{token}</handshake>")
    reply = await stream.mailbox.expect(lambda e: local(e.tag) in ("handshake", "error"),
                                        "handshake reply")
    if local(reply.tag) != "handshake":
        raise CheckFailed(f"component handshake refused: {show(reply)}")
    return stream


async def raw_client_login(port: int, domain: str, user: str, password: str,
                           resource: str) -> RawStream:
    """A minimal c2s login (SASL PLAIN on plain TCP, bind) for benchmark receivers."""
    stream = RawStream(f"{user}@{domain}/{resource}")
    await stream.connect(port)
    opening = (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
               f"xmlns:stream='{NS_STREAM}' to='{domain}' version='1.0'>")
    stream.send(opening)
    await stream.mailbox.expect(lambda e: local(e.tag) == "features", "stream features")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    stream.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
    outcome = await stream.mailbox.expect(lambda e: local(e.tag) in ("success", "failure"),
                                          "SASL outcome")
    if local(outcome.tag) != "success":
        raise CheckFailed(f"{stream.name}: SASL failed: {show(outcome)}")
    stream.send(opening)
    await stream.mailbox.expect(lambda e: local(e.tag) == "features", "stream features (2)")
    stream.send(f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'>"
                f"<resource>{resource}</resource></bind></iq>")
    await stream.mailbox.expect(lambda e: local(e.tag) == "iq" and e.get("id") == "bind1",
                                "bind result")
    return stream


# -- slixmpp clients -------------------------------------------------------------------

class SlixClient:
    """A slixmpp client (plain TCP, PLAIN allowed) whose messages and presences land in a
    mailbox as ElementTree elements."""

    def __init__(self, xmpp, jid: str):
        self.xmpp = xmpp
        self.jid = jid
        self.mailbox = Mailbox(jid)

    @classmethod
    async def login(cls, jid: str, password: str, port: int, timeout: float = 10.0) -> "SlixClient":
        from slixmpp import ClientXMPP
        xmpp = ClientXMPP(jid, password, plugin_config={
            "feature_mechanisms": {"unencrypted_plain": True}})
        xmpp.enable_starttls = False
        xmpp.enable_direct_tls = False
        xmpp.enable_plaintext = True
        xmpp.use_ipv6 = False
        xmpp.register_plugin("xep_0030")
        client = cls(xmpp, jid)
        # A raw handler: slixmpp's "message" event leaves out type='error' messages.
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        for kind in ("message", "presence"):
            xmpp.register_handler(Callback(f"mailbox-{kind}",
                                           MatchXPath(f"{{{xmpp.default_ns}}}{kind}"),
                                           lambda st, c=client: c.mailbox.put(st.xml)))
        done = asyncio.get_running_loop().create_future()
        xmpp.add_event_handler("session_start", lambda _e: done.done() or done.set_result(None))
        xmpp.add_event_handler("failed_all_auth",
                               lambda _e: done.done() or done.set_result("auth failed"))
        # /usr/bin/python3 has Debian's slixmpp 1.8 (connect(address=(host, port), ...));
        # pip's 1.17 takes connect(host, port) and the enable_* switches set above.
        if "address" in inspect.signature(xmpp.connect).parameters:
            xmpp.connect(address=(LOOPBACK, port), disable_starttls=True)
        else:
            xmpp.connect(LOOPBACK, port)
        problem = await asyncio.wait_for(done, timeout)
        if problem:
            raise CheckFailed(f"{jid}: {problem}")
        xmpp.send_presence()
        return client

    def send_raw(self, xml: str) -> None:
        self.xmpp.send_raw(xml)

    async def disco(self, to: str, items: bool = False, timeout: float = 5.0) -> ET.Element:
        ns = NS_DISCO_ITEMS if items else NS_DISCO_INFO
        iq = self.xmpp.make_iq_get(queryxmlns=ns, ito=to)
        reply = await iq.send(timeout=timeout)
        return reply.xml

    async def disconnect(self) -> None:
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 3)
        except Exception:
            pass
        self.xmpp.abort()
        # slixmpp leaves its outgoing-filter task pending after a disconnect
        filters = getattr(self.xmpp, "_run_out_filters", None)
        if filters is not None and not filters.done():
            filters.cancel()


# -- results ---------------------------------------------------------------------------

@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def ok(self, what: str, detail: str = "") -> None:
        self.passed.append(what)
        print(f"PASS  {what}" + (f"\n      {detail}" if detail else ""), flush=True)

    def bad(self, what: str, detail: str = "") -> None:
        self.failed.append(what)
        print(f"FAIL  {what}" + (f"\n      {detail}" if detail else ""), flush=True)

    def note(self, what: str) -> None:
        print(f"INFO  {what}", flush=True)

    def check(self, condition: bool, what: str, detail: str = "") -> bool:
        (self.ok if condition else self.bad)(what, detail)
        return condition


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children) in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


# -- the checks ------------------------------------------------------------------------

@dataclass
class Target:
    """Where a component sends multicast stanzas, and who it is."""
    server: str           # the VirtualHost, e.g. localhost
    service: str          # the XEP-0033 service JID: the host itself (Prosody) or multicast.<host>
    component: str        # the component's domain
    c2s_port: int
    component_port: int
    secret: str
    server_pid: Callable[[], int]
    expect_dedup: bool | None = None   # None: just report what happens
    untrusted_component: str | None = None   # connected with the same secret, not trusted


def msg(frm: str, to: str, body: str, extra: str = "", kind: str = "groupchat",
        stanza_id: str | None = None) -> str:
    id_attr = f" id={quoteattr(stanza_id)}" if stanza_id else ""
    return (f"<message from={quoteattr(frm)} to={quoteattr(to)} type='{kind}'{id_attr}>"
            f"{extra}<body>{escape(body)}</body></message>")


async def run_checks(t: Target, users: dict[str, str], report: Report,
                     over_limit: int | None) -> None:
    """The functional checks. `users`: three accounts name -> password."""
    names = list(users)
    clients = {}
    for name in names:
        clients[name] = await SlixClient.login(f"{name}@{t.server}/mc", users[name], t.c2s_port)
    full = {name: f"{name}@{t.server}/mc" for name in names}
    comp = await component_login(t.component_port, t.component, t.secret)
    room = f"room@{t.component}"
    nick = f"{room}/bot"
    report.ok("3 users logged in with slixmpp, component handshake accepted")

    def from_room(e):
        return e.get("from", "").startswith(room)

    try:
        # 1. disco
        info = await clients[names[0]].disco(t.server)
        features = [f.get("var") for f in info.iter(f"{{{NS_DISCO_INFO}}}feature")]
        on_host = NS_ADDRESS in features
        report.note(f"disco#info {t.server}: address feature {'present' if on_host else 'absent'}")
        if t.service != t.server:
            items = await clients[names[0]].disco(t.server, items=True)
            jids = [i.get("jid") for i in items.iter(f"{{{NS_DISCO_ITEMS}}}item")]
            report.check(t.service in jids, f"disco#items {t.server} lists {t.service}",
                         f"items: {jids}")
            sinfo = await clients[names[0]].disco(t.service)
            sfeatures = [f.get("var") for f in sinfo.iter(f"{{{NS_DISCO_INFO}}}feature")]
            report.check(NS_ADDRESS in sfeatures, f"disco#info {t.service} has {NS_ADDRESS}",
                         show(sinfo, 1500))
        else:
            report.check(on_host, f"disco#info {t.server} has {NS_ADDRESS}", f"features: {features}")

        # 2. bcc multicast of a groupchat message, one recipient does not exist
        ghost = f"nobody@{t.server}/x"
        entries = [("bcc", full[n]) for n in names] + [("bcc", ghost)]
        comp.send(msg(nick, t.service, "hello bcc", addresses_xml(entries), stanza_id="m1"))
        got_all = True
        for n in names:
            c = clients[n]
            first = await c.mailbox.expect(lambda e: local(e.tag) == "message" and from_room(e)
                                           and e.findtext("{jabber:client}body") == "hello bcc",
                                           "bcc copy")
            await c.mailbox.settle(0.3)
            dupes = c.mailbox.take_all(lambda e: local(e.tag) == "message" and from_room(e))
            ok = not dupes and addresses_of(first) is None and first.get("to") == full[n]
            got_all &= ok
            if n == names[0] or not ok:
                report.note(f"{n} received: {show(first)}" + (f" (+{len(dupes)} more)" if dupes else ""))
        report.check(got_all, "bcc message: each of the 3 users got exactly one copy, "
                              "no <addresses>, to=its full JID")
        bounce = await comp.mailbox.expect(
            lambda e: local(e.tag) == "message" and e.get("type") == "error", "bounce", 5)
        etype, cond, text = error_of(bounce)
        report.check(bounce.get("from") == ghost and cond is not None,
                     f"bounce for the unknown recipient reaches the component "
                     f"({etype}/{cond})", show(bounce))
        await comp.mailbox.settle(0.3)
        extra = comp.mailbox.take_all(lambda e: True)
        if extra:
            report.note(f"component also got: {[show(e, 300) for e in extra]}")

        # 3. to / cc / bcc / delivered / replyto
        ghost2 = f"ghost2@{t.server}/x"
        a, b, c3 = names
        entries = [("to", full[a]), ("cc", full[b]), ("bcc", full[c3]),
                   ("to", ghost2, {"delivered": "true"}), ("replyto", room)]
        comp.send(msg(nick, t.service, "hello to/cc", addresses_xml(entries), stanza_id="m2"))
        for n in names:
            e = await clients[n].mailbox.expect(
                lambda e: local(e.tag) == "message" and e.findtext("{jabber:client}body") == "hello to/cc",
                "to/cc copy")
            block = addresses_of(e)
            listed = [] if block is None else [
                (x.get("type"), x.get("jid"), x.get("delivered")) for x in block]
            report.note(f"to/cc/bcc: {n} sees addresses {listed}")
            if n == c3:
                report.check(all(x[0] != "bcc" or x[1] == full[c3] for x in listed),
                             "to/cc/bcc: bcc recipient sees no other bcc address")
            else:
                report.check(("bcc" not in [x[0] for x in listed])
                             and all(x[2] == "true" for x in listed if x[0] in ("to", "cc")),
                             f"to/cc/bcc: {n} sees to/cc marked delivered, no bcc")
        await comp.mailbox.settle(0.7)
        bounces = comp.mailbox.take_all(lambda e: e.get("type") == "error")
        report.check(not any(bx.get("from") == ghost2 for bx in bounces),
                     "address marked delivered='true' is skipped (no bounce from it)",
                     "; ".join(show(bx, 300) for bx in bounces))

        # 4. the same JID twice
        comp.send(msg(nick, t.service, "dup", addresses_xml([("bcc", full[a]), ("bcc", full[a])])))
        await clients[a].mailbox.expect(lambda e: e.findtext("{jabber:client}body") == "dup", "dup copy")
        await clients[a].mailbox.settle(0.5)
        more = clients[a].mailbox.take_all(lambda e: e.findtext("{jabber:client}body") == "dup")
        copies = 1 + len(more)
        if t.expect_dedup is None:
            report.note(f"same JID listed twice: {copies} copies delivered")
        else:
            report.check(copies == (1 if t.expect_dedup else 2),
                         f"same JID listed twice: {copies} copies delivered")

        # 5. presence multicast
        comp.send(f"<presence from='{nick}' to='{t.service}'>"
                  + addresses_xml([("bcc", full[n]) for n in names]) + "<status>mc</status></presence>")
        ok = True
        for n in names:
            p = await clients[n].mailbox.expect(
                lambda e: local(e.tag) == "presence" and e.get("from") == nick, "presence copy")
            ok &= addresses_of(p) is None and p.get("type") is None
            if n == names[0]:
                report.note(f"{n} received: {show(p)}")
        report.check(ok, "presence multicast reaches all 3 users, without <addresses>")
        comp.send(f"<presence from='{nick}' to='{t.service}' type='unavailable'>"
                  + addresses_xml([("bcc", full[n]) for n in names]) + "</presence>")
        for n in names:
            await clients[n].mailbox.expect(
                lambda e: local(e.tag) == "presence" and e.get("from") == nick
                and e.get("type") == "unavailable", "unavailable presence copy")
        report.ok("unavailable presence multicast reaches all 3 users")

        # 6. untrusted sender (a c2s client)
        sender = clients[a]
        sender.send_raw(f"<message to='{t.service}' id='evil1' type='chat'>"
                        + addresses_xml([("bcc", full[b])]) + "<body>spam</body></message>")
        err = await sender.mailbox.expect(lambda e: e.get("id") == "evil1", "reply to c2s multicast")
        etype, cond, text = error_of(err)
        await clients[b].mailbox.settle(0.5)
        leaked = clients[b].mailbox.take_all(lambda e: e.findtext("{jabber:client}body") == "spam")
        report.check(cond == "forbidden" and not leaked,
                     f"c2s client multicast refused: {etype}/{cond} ({text!r}), nothing delivered",
                     show(err))

        # 6b. a component that is not in the trusted list
        if t.untrusted_component:
            other = await component_login(t.component_port, t.untrusted_component, t.secret)
            try:
                other.send(msg(f"x@{t.untrusted_component}", t.service, "other",
                               addresses_xml([("bcc", full[b])]), stanza_id="evil2"))
                err = await other.mailbox.expect(lambda e: e.get("id") == "evil2",
                                                 "reply to untrusted component")
            finally:
                await other.close()
            etype, cond, text = error_of(err)
            await clients[b].mailbox.settle(0.5)
            leaked = clients[b].mailbox.take_all(lambda e: e.findtext("{jabber:client}body") == "other")
            report.check(cond == "forbidden" and not leaked,
                         f"untrusted component {t.untrusted_component} refused: {etype}/{cond} "
                         f"({text!r}), nothing delivered", show(err))

        # 7. IQ with addresses: not multicast
        comp.send(f"<iq from='{nick}' to='{t.service}' type='set' id='iq1'>"
                  + addresses_xml([("bcc", full[a])]) + "</iq>")
        r = await comp.mailbox.expect(lambda e: e.get("id") == "iq1", "iq reply")
        await clients[a].mailbox.settle(0.3)
        got = clients[a].mailbox.take_all(lambda e: local(e.tag) == "iq")
        report.check(r.get("type") == "error" and not got,
                     f"IQ with <addresses> is not multicast: {error_of(r)[:2]}", show(r))

        # 8. an address without a usable JID (uri only)
        comp.send(msg(nick, t.service, "uri", addresses_xml(
            [("bcc", full[a]), ("bcc", None, {"uri": "mailto:x@example.com"})]), stanza_id="m-uri"))
        r = await comp.mailbox.expect(lambda e: e.get("type") == "error", "jid-malformed", 5)
        await clients[a].mailbox.settle(0.5)
        delivered = clients[a].mailbox.take_all(lambda e: e.findtext("{jabber:client}body") == "uri")
        report.note(f"uri-only address: component got {error_of(r)[:2]} "
                    f"{show(r, 500)}; valid address delivered anyway: {bool(delivered)}")

        # 9. over the limit
        if over_limit is not None:
            many = [("bcc", f"u{i}@{t.server}/x") for i in range(over_limit + 1)]
            comp.send(msg(nick, t.service, "many", addresses_xml(many), stanza_id="m-many"))
            r = await comp.mailbox.expect(lambda e: e.get("id") == "m-many", "over-limit reply", 5)
            etype, cond, text = error_of(r)
            await comp.mailbox.settle(0.7)
            others = comp.mailbox.take_all(lambda e: e.get("type") == "error")
            report.check(cond in ("not-acceptable", "resource-constraint") and not others,
                         f"{over_limit + 1} addresses refused: {etype}/{cond} ({text!r}), "
                         f"nothing delivered", show(r))
        comp.mailbox.take_all(lambda e: True)
    finally:
        await comp.close()
        for c in clients.values():
            await c.disconnect()


async def benchmark(t: Target, bench_users: dict[str, str], messages: int = 1000) -> dict:
    """Deliver `messages` multicast stanzas to len(bench_users) online full JIDs, then the
    same number of copies as unicast stanzas from the component. Wall time until every
    receiver has counted all, and the server's CPU seconds."""
    receivers = []
    for name, password in bench_users.items():
        receivers.append(await raw_client_login(t.c2s_port, t.server, name, password, "b"))
    jids = [f"{name}@{t.server}/b" for name in bench_users]
    comp = await component_login(t.component_port, t.component, t.secret)
    nick = f"bench@{t.component}/bot"
    block = addresses_xml([("bcc", j) for j in jids])
    results = {}
    pid = t.server_pid()

    async def run(label: str, stanzas: list[bytes], per_receiver: int) -> None:
        for r in receivers:
            r.start_counting(per_receiver)
        await asyncio.sleep(0.2)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        batch = 200
        for i in range(0, len(stanzas), batch):
            comp.send(b"".join(stanzas[i:i + batch]))
            await comp.drain()
        sent = time.monotonic() - t0
        try:
            await asyncio.wait_for(asyncio.gather(*(r.count_done.wait() for r in receivers)), 300)
        except asyncio.TimeoutError:
            pass
        wall = time.monotonic() - t0
        cpu = cpu_seconds(pid) - cpu0
        got = sum(min(r.count, per_receiver) for r in receivers)
        results[label] = {"stanzas_sent": len(stanzas),
                          "bytes_sent": sum(len(x) for x in stanzas), "delivered": got,
                          "expected": per_receiver * len(receivers),
                          "wall_s": round(wall, 2), "send_s": round(sent, 2),
                          "server_cpu_s": round(cpu, 2)}
        print(f"BENCH {label}: {results[label]}", flush=True)

    try:
        body = "x" * 40
        # warm-up: one of each
        await run("warm-up", [msg(nick, t.service, body, block).encode()], 1)
        multicast = [msg(nick, t.service, body, block, stanza_id=f"mc{i}").encode()
                     for i in range(messages)]
        await run(f"multicast {messages} x {len(jids)} recipients", multicast, messages)
        unicast = [msg(nick, j, body, stanza_id=f"uc{i}").encode()
                   for i in range(messages) for j in jids]
        await run(f"unicast {len(unicast)} stanzas", unicast, messages)
    finally:
        await comp.close()
        for r in receivers:
            await r.close()
    return results


def wait_port(port: int, proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what}: port {port} not open within {timeout} s")


def port_free(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.3):
            return False
    except OSError:
        return True
