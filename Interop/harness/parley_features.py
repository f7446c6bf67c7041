"""Helpers for the tests of Parley's own features on top of XEP-0045: the room archive
(XEP-0313 MAM with XEP-0059 paging, XEP-0425 moderation), keyword alerts (XEP-0060 at
the service JID), following rooms (MucSub) with the inbox (XEP-0430), and the
`parley archive` command line.

Requests are built and replies read as raw XML (ElementTree), so that the tests see
exactly what the service sent. Everything that waits takes a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .muc import NS_CLIENT, NS_STANZA_ID, bare, describe, kind_of, sender, submit_form, type_of, xml_of
from .paths import default_parley_bin
from .xmpp import DEFAULT_TIMEOUT, Client

NS_MAM = "urn:xmpp:mam:2"
NS_MAM_EXTENDED = "urn:xmpp:mam:2#extended"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
NS_DELAY = "urn:xmpp:delay"
NS_FULLTEXT = "urn:xmpp:fulltext:0"
FULLTEXT_FIELD = f"{{{NS_FULLTEXT}}}fulltext"
NS_MODERATE_1 = "urn:xmpp:message-moderate:1"
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_RETRACT_1 = "urn:xmpp:message-retract:1"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors"
SUBSCRIBE_OPTIONS = "http://jabber.org/protocol/pubsub#subscribe_options"
NS_ALERTS = "urn:parley:alerts:0"

NS_MUCSUB = "urn:xmpp:mucsub:0"
MUCSUB_MESSAGES = "urn:xmpp:mucsub:nodes:messages"
NS_INBOX = "urn:xmpp:inbox:1"
NS_PARLEY_INBOX = "urn:parley:inbox:0"
NS_MARKERS = "urn:xmpp:chat-markers:0"


def unique(label: str = "x") -> str:
    """A short token no other test uses (letters and digits only: one word)."""
    return f"{label}{uuid.uuid4().hex[:10]}"


def new_room(service: str, label: str = "room") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@{service}"


def child(element, namespace: str, name: str) -> ET.Element | None:
    return xml_of(element).find(f"{{{namespace}}}{name}")


def stanza_id_of(stanza, room: str) -> str:
    """The XEP-0359 stanza-id the room put on a groupchat message (exactly one, by the room)."""
    found = [e for e in xml_of(stanza).findall(f"{{{NS_STANZA_ID}}}stanza-id")]
    assert len(found) == 1, f"expected one <stanza-id/>: {describe(stanza)}"
    assert found[0].get("by") == room, f"<stanza-id by> is not {room}: {describe(stanza)}"
    sid = found[0].get("id")
    assert sid, f"<stanza-id/> without an id: {describe(stanza)}"
    return sid


async def ping_sync(client: Client, to: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """A round trip to `to`: whatever it sent this client before answering has arrived."""
    await client.ping(to, timeout=timeout)


async def wait_until(check: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, interval: float = 0.2,
                     what: str = "condition"):
    """Poll the coroutine function `check` until it returns a truthy value (returned) or
    the deadline passes (AssertionError with the last value)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while True:
        last = await check()
        if last:
            return last
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {last!r}")
        await asyncio.sleep(interval)


# -- XEP-0059 / XEP-0313 ------------------------------------------------------------------------

def rsm_set(*, max: int | None = None, after: str | None = None, before: str | None = None,
            index: int | None = None) -> ET.Element:
    """<set xmlns='…rsm'>; before="" gives an empty <before/> (the last page)."""
    element = ET.Element(f"{{{NS_RSM}}}set")
    if max is not None:
        ET.SubElement(element, f"{{{NS_RSM}}}max").text = str(max)
    if after is not None:
        ET.SubElement(element, f"{{{NS_RSM}}}after").text = after
    if before is not None:
        before_element = ET.SubElement(element, f"{{{NS_RSM}}}before")
        if before:
            before_element.text = before
    if index is not None:
        ET.SubElement(element, f"{{{NS_RSM}}}index").text = str(index)
    return element


def mam_form(values: Mapping[str, Any]) -> ET.Element:
    """A submitted urn:xmpp:mam:2 form (lists become several values)."""
    return submit_form(NS_MAM, values)


@dataclass
class MamResult:
    """One <message><result xmlns='urn:xmpp:mam:2' queryid id><forwarded>…</forwarded></result></message>."""
    envelope: ET.Element
    result: ET.Element
    forwarded: ET.Element | None
    delay: ET.Element | None
    message: ET.Element | None

    @property
    def id(self) -> str | None:
        return self.result.get("id")

    @property
    def queryid(self) -> str | None:
        return self.result.get("queryid")

    @property
    def body(self) -> str | None:
        if self.message is None:
            return None
        element = self.message.find(f"{{{NS_CLIENT}}}body")
        return None if element is None else (element.text or "")

    @property
    def inner_from(self) -> str | None:
        return None if self.message is None else self.message.get("from")

    @property
    def nick(self) -> str | None:
        sender_jid = self.inner_from or ""
        return sender_jid.split("/", 1)[1] if "/" in sender_jid else None

    @property
    def stamp(self) -> str | None:
        return None if self.delay is None else self.delay.get("stamp")

    def describe(self) -> str:
        return describe(self.envelope)

    @classmethod
    def parse(cls, envelope) -> "MamResult":
        envelope = xml_of(envelope)
        result = envelope.find(f"{{{NS_MAM}}}result")
        assert result is not None, f"no <result xmlns='{NS_MAM}'/>: {describe(envelope)}"
        forwarded = result.find(f"{{{NS_FORWARD}}}forwarded")
        delay = None if forwarded is None else forwarded.find(f"{{{NS_DELAY}}}delay")
        message = None if forwarded is None else forwarded.find(f"{{{NS_CLIENT}}}message")
        return cls(envelope, result, forwarded, delay, message)


@dataclass
class MamPage:
    reply: Any                       # the IQ reply (slixmpp stanza)
    results: list[MamResult]         # the result messages for this query, in arrival order
    queryid: str

    @property
    def is_error(self) -> bool:
        return type_of(self.reply) == "error"

    @property
    def fin(self) -> ET.Element | None:
        return xml_of(self.reply).find(f"{{{NS_MAM}}}fin")

    def _rsm(self) -> ET.Element | None:
        fin = self.fin
        return None if fin is None else fin.find(f"{{{NS_RSM}}}set")

    def _rsm_text(self, name: str) -> str | None:
        rsm = self._rsm()
        return None if rsm is None else rsm.findtext(f"{{{NS_RSM}}}{name}")

    @property
    def complete(self) -> bool:
        fin = self.fin
        assert fin is not None, f"no <fin xmlns='{NS_MAM}'/> in {describe(self.reply)}"
        return fin.get("complete") in ("true", "1")

    @property
    def first(self) -> str | None:
        return self._rsm_text("first")

    @property
    def first_index(self) -> str | None:
        rsm = self._rsm()
        element = None if rsm is None else rsm.find(f"{{{NS_RSM}}}first")
        return None if element is None else element.get("index")

    @property
    def last(self) -> str | None:
        return self._rsm_text("last")

    @property
    def count(self) -> int | None:
        text = self._rsm_text("count")
        return None if text is None else int(text)

    @property
    def ids(self) -> list[str | None]:
        return [r.id for r in self.results]

    @property
    def bodies(self) -> list[str | None]:
        return [r.body for r in self.results]

    def summary(self) -> str:
        return (f"reply {describe(self.reply, 500)}; {len(self.results)} results: "
                + ", ".join(f"{r.id}={r.body!r}" for r in self.results[:8])
                + (" …" if len(self.results) > 8 else ""))


async def mam_query(client: Client, room: str, *, form: Mapping[str, Any] | None = None,
                    rsm: ET.Element | None = None, flip_page: bool = False, queryid: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT) -> MamPage:
    """<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid><x/>?<set/>?</query></iq>; the
    result messages that arrived before the IQ reply (XEP-0313 §4.2) are taken from the
    mailbox."""
    queryid = queryid or f"q-{uuid.uuid4().hex[:10]}"
    query = ET.Element(f"{{{NS_MAM}}}query", queryid=queryid)
    if form is not None:
        query.append(mam_form(form))
    if rsm is not None:
        query.append(rsm)
    if flip_page:
        ET.SubElement(query, f"{{{NS_MAM}}}flip-page")
    reply = await client.set(room, query, timeout=timeout)

    def ours(stanza) -> bool:
        result = xml_of(stanza).find(f"{{{NS_MAM}}}result")
        return result is not None and result.get("queryid") == queryid

    results = [MamResult.parse(s) for s in client.drop(lambda s: kind_of(s) == "message" and ours(s))]
    return MamPage(reply, results, queryid)


async def mam_all(client: Client, room: str, *, form: Mapping[str, Any] | None = None,
                  page_size: int = 250, limit_pages: int = 50) -> list[MamResult]:
    """Every result of a query, paging forward until <fin complete='true'/>."""
    collected: list[MamResult] = []
    after = None
    for _ in range(limit_pages):
        page = await mam_query(client, room, form=form, rsm=rsm_set(max=page_size, after=after))
        assert not page.is_error, page.summary()
        collected.extend(page.results)
        if page.complete or not page.results:
            return collected
        after = page.last
    raise AssertionError(f"no complete page after {limit_pages} pages of {room}")


# -- XEP-0060 keyword alerts ------------------------------------------------------------------------

def keyword_node(keyword: str) -> str:
    return f"keywords/{keyword}"


def pubsub(*children: ET.Element) -> ET.Element:
    element = ET.Element(f"{{{NS_PUBSUB}}}pubsub")
    element.extend(children)
    return element


def options_form(values: Mapping[str, Any], types: Mapping[str, str] | None = None) -> ET.Element:
    return submit_form(SUBSCRIBE_OPTIONS, values, types)


async def alert_subscribe(client: Client, service: str, keyword: str, jid: str | None = None,
                          options: Mapping[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT):
    subscribe = ET.Element(f"{{{NS_PUBSUB}}}subscribe", node=keyword_node(keyword),
                           jid=jid or bare(str(client.jid)))
    children = [subscribe]
    if options is not None:
        holder = ET.Element(f"{{{NS_PUBSUB}}}options")
        holder.append(options_form(options))
        children.append(holder)
    return await client.set(service, pubsub(*children), timeout=timeout)


async def alert_unsubscribe(client: Client, service: str, keyword: str, jid: str | None = None,
                            timeout: float = DEFAULT_TIMEOUT):
    unsubscribe = ET.Element(f"{{{NS_PUBSUB}}}unsubscribe", node=keyword_node(keyword),
                             jid=jid or bare(str(client.jid)))
    return await client.set(service, pubsub(unsubscribe), timeout=timeout)


async def alert_subscriptions(client: Client, service: str, timeout: float = DEFAULT_TIMEOUT):
    """(reply, [(node, jid, subscription)])."""
    reply = await client.get(service, pubsub(ET.Element(f"{{{NS_PUBSUB}}}subscriptions")), timeout=timeout)
    listed = []
    holder = xml_of(reply).find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}subscriptions")
    if holder is not None:
        listed = [(s.get("node"), s.get("jid"), s.get("subscription"))
                  for s in holder.findall(f"{{{NS_PUBSUB}}}subscription")]
    return reply, listed


async def alert_options_get(client: Client, service: str, keyword: str, timeout: float = DEFAULT_TIMEOUT):
    options = ET.Element(f"{{{NS_PUBSUB}}}options", node=keyword_node(keyword), jid=bare(str(client.jid)))
    return await client.get(service, pubsub(options), timeout=timeout)


async def alert_options_set(client: Client, service: str, keyword: str, values: Mapping[str, Any],
                            types: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT):
    options = ET.Element(f"{{{NS_PUBSUB}}}options", node=keyword_node(keyword), jid=bare(str(client.jid)))
    options.append(options_form(values, types))
    return await client.set(service, pubsub(options), timeout=timeout)


async def alert_items(client: Client, service: str, keyword: str, max_items: int | None = None,
                      timeout: float = DEFAULT_TIMEOUT):
    """(reply, [<item/> elements]) for <pubsub><items node='keywords/…'/><set><max/></set>?</pubsub>."""
    children = [ET.Element(f"{{{NS_PUBSUB}}}items", node=keyword_node(keyword))]
    if max_items is not None:
        children.append(rsm_set(max=max_items))
    reply = await client.get(service, pubsub(*children), timeout=timeout)
    holder = xml_of(reply).find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items")
    found = [] if holder is None else holder.findall(f"{{{NS_PUBSUB}}}item")
    return reply, found


@dataclass
class Alert:
    """A live alert: <message type='headline' from=service><event><items node><item id>
    <alert xmlns='urn:parley:alerts:0' room keyword><keyword/>…<forwarded/></alert>."""
    stanza: Any
    items: ET.Element
    item: ET.Element
    alert: ET.Element

    @property
    def node(self) -> str | None:
        return self.items.get("node")

    @property
    def id(self) -> str | None:
        return self.item.get("id")

    @property
    def room(self) -> str | None:
        return self.alert.get("room")

    @property
    def keywords(self) -> list[str]:
        return [k.text or "" for k in self.alert.findall(f"{{{NS_ALERTS}}}keyword")]

    @property
    def forwarded_message(self) -> ET.Element | None:
        return self.alert.find(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message")

    @property
    def body(self) -> str | None:
        message = self.forwarded_message
        return None if message is None else message.findtext(f"{{{NS_CLIENT}}}body")


def is_alert(stanza) -> bool:
    return (kind_of(stanza) == "message"
            and xml_of(stanza).find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items") is not None
            and xml_of(stanza).find(
                f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items/{{{NS_PUBSUB_EVENT}}}item/{{{NS_ALERTS}}}alert")
            is not None)


def parse_alert(stanza) -> Alert:
    element = xml_of(stanza)
    items = element.find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items")
    assert items is not None, describe(stanza)
    found = items.findall(f"{{{NS_PUBSUB_EVENT}}}item")
    assert len(found) == 1, f"expected one <item/>: {describe(stanza)}"
    alert = found[0].find(f"{{{NS_ALERTS}}}alert")
    assert alert is not None, describe(stanza)
    return Alert(stanza, items, found[0], alert)


async def expect_alert(client: Client, predicate: Callable[[Alert], bool] = lambda a: True,
                       timeout: float = DEFAULT_TIMEOUT, what: str = "alert") -> Alert:
    stanza = await client.expect_message(lambda s: is_alert(s) and predicate(parse_alert(s)),
                                         timeout=timeout, what=what)
    return parse_alert(stanza)


def alerts_received(client: Client) -> list[Alert]:
    return [parse_alert(s) for s in client.received("message") if is_alert(s)]


# -- MucSub and the inbox -------------------------------------------------------------------------

async def follow(client: Client, room: str, nick: str, nodes: Sequence[str] = (MUCSUB_MESSAGES,),
                 password: str | None = None, timeout: float = DEFAULT_TIMEOUT):
    subscribe = ET.Element(f"{{{NS_MUCSUB}}}subscribe", nick=nick)
    if password is not None:
        subscribe.set("password", password)
    for node in nodes:
        ET.SubElement(subscribe, f"{{{NS_MUCSUB}}}event", node=node)
    return await client.set(room, subscribe, timeout=timeout)


async def unfollow(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT):
    return await client.set(room, ET.Element(f"{{{NS_MUCSUB}}}unsubscribe"), timeout=timeout)


def mucsub_list(reply) -> list[tuple[str | None, str | None, list[str]]]:
    """(jid, nick, nodes) of each <subscription/> in a <subscriptions xmlns='urn:xmpp:mucsub:0'/>."""
    holder = xml_of(reply).find(f"{{{NS_MUCSUB}}}subscriptions")
    if holder is None:
        return []
    return [(s.get("jid"), s.get("nick"), [e.get("node") for e in s.findall(f"{{{NS_MUCSUB}}}event")])
            for s in holder.findall(f"{{{NS_MUCSUB}}}subscription")]


async def followed_rooms(client: Client, to: str, timeout: float = DEFAULT_TIMEOUT):
    """(reply, list) of <subscriptions xmlns='urn:xmpp:mucsub:0'/> at the service or a room."""
    reply = await client.get(to, ET.Element(f"{{{NS_MUCSUB}}}subscriptions"), timeout=timeout)
    return reply, mucsub_list(reply)


def is_mucsub_event(stanza, room: str | None = None) -> bool:
    element = xml_of(stanza)
    return (kind_of(stanza) == "message" and (room is None or sender(stanza) == room)
            and element.find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items") is not None
            and element.find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items/"
                             f"{{{NS_PUBSUB_EVENT}}}item/{{{NS_CLIENT}}}message") is not None)


def mucsub_inner(stanza) -> tuple[ET.Element, ET.Element, ET.Element]:
    """(items, item, inner message) of a MucSub event."""
    items = xml_of(stanza).find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items")
    item = items.find(f"{{{NS_PUBSUB_EVENT}}}item")
    message = item.find(f"{{{NS_CLIENT}}}message")
    return items, item, message


def send_displayed(client: Client, room: str, stanza_id: str):
    marker = ET.Element(f"{{{NS_MARKERS}}}displayed", id=stanza_id)
    return client.send_message(room, None, kind="groupchat", extra=[marker])


async def reset_unread(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT):
    return await client.set(room, ET.Element(f"{{{NS_PARLEY_INBOX}}}reset"), timeout=timeout)


@dataclass
class InboxEntry:
    stanza: Any
    entry: ET.Element
    room_info: ET.Element | None
    result: ET.Element | None

    @property
    def jid(self) -> str | None:
        return self.entry.get("jid")

    @property
    def unread(self) -> int:
        return int(self.entry.get("unread", "-1"))

    @property
    def id(self) -> str | None:
        return self.entry.get("id")

    def room_attr(self, name: str) -> int:
        assert self.room_info is not None, f"no <room xmlns='{NS_PARLEY_INBOX}'/>: {describe(self.stanza)}"
        return int(self.room_info.get(name, "-1"))

    @property
    def occupants(self) -> int:
        return self.room_attr("occupants")

    @property
    def active(self) -> int:
        return self.room_attr("active")

    @property
    def mentions(self) -> int:
        return self.room_attr("mentions")

    @property
    def last_body(self) -> str | None:
        if self.result is None:
            return None
        return self.result.findtext(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message/{{{NS_CLIENT}}}body")


@dataclass
class Inbox:
    reply: Any
    entries: list[InboxEntry]

    @property
    def fin(self) -> ET.Element | None:
        return xml_of(self.reply).find(f"{{{NS_INBOX}}}fin")

    def by_room(self) -> dict[str, InboxEntry]:
        return {e.jid: e for e in self.entries}

    def summary(self) -> str:
        return (describe(self.reply, 500) + "; entries: "
                + "; ".join(describe(e.stanza, 400) for e in self.entries))


async def inbox_query(client: Client, service: str, *, attributes: Mapping[str, str] | None = None,
                      rsm: ET.Element | None = None, timeout: float = DEFAULT_TIMEOUT) -> Inbox:
    """<iq type='get' to=service><inbox xmlns='urn:xmpp:inbox:1' …/></iq>: the entry messages
    that arrived before the IQ result, and the result."""
    request = ET.Element(f"{{{NS_INBOX}}}inbox", dict(attributes or {}))
    if rsm is not None:
        request.append(rsm)
    reply = await client.get(service, request, timeout=timeout)
    stanzas = client.drop(lambda s: kind_of(s) == "message" and sender(s) == service
                          and xml_of(s).find(f"{{{NS_INBOX}}}entry") is not None)
    entries = [InboxEntry(s, xml_of(s).find(f"{{{NS_INBOX}}}entry"), xml_of(s).find(f"{{{NS_PARLEY_INBOX}}}room"),
                          xml_of(s).find(f"{{{NS_MAM}}}result")) for s in stanzas]
    return Inbox(reply, entries)


# -- the command line --------------------------------------------------------------------------------

@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (f"`{' '.join(self.argv)}` exited {self.returncode}\n--- stdout (tail)\n{self.stdout[-2000:]}"
                f"\n--- stderr (tail)\n{self.stderr[-2000:]}")


def parley_bin() -> Path:
    return default_parley_bin()


async def run_parley(*arguments: str, timeout: float = 20.0) -> CommandResult:
    """Run the Parley binary with `arguments`, bounded by `timeout` (killed after it)."""
    argv = [str(parley_bin()), *arguments]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ})
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`{' '.join(argv)}` did not finish within {timeout} s") from None
    return CommandResult(argv, process.returncode, stdout.decode("utf-8", "replace"),
                         stderr.decode("utf-8", "replace"))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- moderation (XEP-0425) -----------------------------------------------------------------------------------

def moderate_request(stanza_id: str, reason: str | None = "spam") -> ET.Element:
    """<moderate id=…><retract/><reason/></moderate> (XEP-0425 v1) for an IQ set to the room."""
    moderate = ET.Element(f"{{{NS_MODERATE_1}}}moderate", id=stanza_id)
    ET.SubElement(moderate, f"{{{NS_RETRACT_1}}}retract")
    if reason is not None:
        ET.SubElement(moderate, f"{{{NS_MODERATE_1}}}reason").text = reason
    return moderate


def is_retraction(stanza, room: str, stanza_id: str) -> bool:
    """Whether `stanza` is the room's notice that it retracted `stanza_id`."""
    element = xml_of(stanza)
    retract = element.find(f"{{{NS_RETRACT_1}}}retract")
    return sender(stanza) == room and retract is not None and retract.get("id") == stanza_id
