"""slixmpp clients for the interop tests: log in over plain TCP to the private Prosody,
send IQs and await the reply (result or error) with a deadline, and wait for
messages/presences with a deadline. Nothing here waits without a bound.

All coroutines run on the caller's asyncio loop (the tests' session loop).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
import xml.etree.ElementTree as ET
from typing import Callable, Iterable

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import ElementBase
from slixmpp.stanza.error import Error as StanzaErrorElement

# slixmpp 1.17 still knows only RFC 3920's stanza error conditions; RFC 6120
# §8.3.3.12 added policy-violation, which Parley uses for stanzas over its
# limits. Without this, slixmpp cannot read such an error at all.
StanzaErrorElement.conditions.add("policy-violation")
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatcherId, MatchXPath

from .procs import LOOPBACK

DEFAULT_TIMEOUT = 10.0

DEFAULT_PLUGINS = (
    "xep_0004",  # data forms
    "xep_0030",  # service discovery
    "xep_0045",  # multi-user chat
    "xep_0059",  # result set management
    "xep_0060",  # publish-subscribe
    "xep_0092",  # software version
    "xep_0199",  # ping
    "xep_0313",  # message archive management
)

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"
NS_MUC = "http://jabber.org/protocol/muc"

_names = itertools.count(1)


class XMPPTimeout(AssertionError):
    """An expected answer did not come in time (an assertion failure in a test)."""


class LoginFailed(RuntimeError):
    pass


class Client:
    """A logged-in ClientXMPP with bounded waits.

    Every received <message/> and <presence/> is also kept in a mailbox, so a test can
    send first and then `await client.expect_message(...)` without racing the reply.
    """

    def __init__(self, xmpp: ClientXMPP, name: str):
        self.xmpp = xmpp
        self.name = name
        # (arrival number, stanza), in arrival order.
        self._mailbox: list[tuple[int, ElementBase]] = []
        self._arrivals = 0
        self._arrived = asyncio.Event()
        ns = xmpp.default_ns
        for kind in ("message", "presence"):
            xmpp.register_handler(Callback(f"interop-mailbox-{kind}", MatchXPath(f"{{{ns}}}{kind}"),
                                           self._collect))

    # -- connecting ----------------------------------------------------------------

    @classmethod
    async def login(cls, jid: str, password: str, port: int, host: str = LOOPBACK,
                    plugins: Iterable[str] = DEFAULT_PLUGINS, timeout: float = DEFAULT_TIMEOUT,
                    send_presence: bool = True) -> "Client":
        """Connect over plain TCP (no STARTTLS, no direct TLS), authenticate, bind, and
        optionally send initial presence."""
        if "/" not in jid:
            jid = f"{jid}/interop-{next(_names)}"
        xmpp = ClientXMPP(jid, password, plugin_config={
            # Plain TCP on loopback: let slixmpp use PLAIN/SCRAM without TLS.
            "feature_mechanisms": {"unencrypted_plain": True, "unencrypted_scram": True},
        })
        xmpp.enable_starttls = False
        xmpp.enable_direct_tls = False
        xmpp.enable_plaintext = True
        xmpp.use_ipv6 = False
        for plugin in plugins:
            xmpp.register_plugin(plugin)

        client = cls(xmpp, jid)
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future = loop.create_future()

        def settle(value):
            if not outcome.done():
                outcome.set_result(value)

        xmpp.add_event_handler("session_start", lambda _e: settle(None))
        xmpp.add_event_handler("failed_all_auth", lambda _e: settle(f"authentication failed for {jid}"))
        xmpp.add_event_handler("connection_failed",
                               lambda e: settle(f"cannot connect to {host}:{port}: {e}"))
        xmpp.add_event_handler("stream_error", lambda e: settle(f"stream error: {e}"))
        xmpp.connect(host=host, port=port)
        try:
            problem = await asyncio.wait_for(outcome, timeout)
        except asyncio.TimeoutError:
            problem = f"no session for {jid} within {timeout} s"
        if problem is not None:
            client.abort()
            raise LoginFailed(problem)
        if send_presence:
            xmpp.send_presence()
        return client

    def abort(self) -> None:
        """Drop the connection now and stop any reconnection attempt."""
        self.xmpp.cancel_connection_attempt()
        self.xmpp.abort()
        # slixmpp leaves its outgoing-filter task running after a disconnect; cancel it
        # so that it is not destroyed while pending when the client is collected.
        filters = getattr(self.xmpp, "_run_out_filters", None)
        if filters is not None and not filters.done():
            filters.cancel()

    async def disconnect(self, timeout: float = 3.0) -> None:
        if self.xmpp.transport is None:
            self.xmpp.cancel_connection_attempt()
            return
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=min(2.0, timeout)), timeout)
        except (asyncio.TimeoutError, Exception):
            pass
        self.abort()

    @property
    def jid(self):
        return self.xmpp.boundjid

    @property
    def connected(self) -> bool:
        return self.xmpp.transport is not None and not self.xmpp.transport.is_closing()

    # -- IQs -------------------------------------------------------------------------

    def new_iq(self, kind: str, to: str, payload: ET.Element | Iterable[ET.Element] | None = None) -> Iq:
        iq = self.xmpp.Iq(stype=kind, sto=to)
        iq["id"] = f"interop-{uuid.uuid4().hex[:12]}"
        if payload is not None:
            for element in ([payload] if isinstance(payload, ET.Element) else payload):
                iq.append(element)
        return iq

    async def send_iq(self, iq: Iq, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        """Send and return the reply, whether `result` or `error`."""
        try:
            return await iq.send(timeout=timeout)
        except IqError as error:
            return error.iq
        except IqTimeout:
            raise XMPPTimeout(f"{self.name}: no reply within {timeout} s to {_short(iq)}") from None

    async def get(self, to: str, payload=None, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        return await self.send_iq(self.new_iq("get", to, payload), timeout)

    async def set(self, to: str, payload=None, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        return await self.send_iq(self.new_iq("set", to, payload), timeout)

    async def ping(self, to: str, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        return await self.get(to, ET.Element(f"{{{NS_PING}}}ping"), timeout)

    async def disco_info(self, to: str, node: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        query = ET.Element(f"{{{NS_DISCO_INFO}}}query")
        if node:
            query.set("node", node)
        return await self.get(to, query, timeout)

    async def disco_items(self, to: str, node: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        query = ET.Element(f"{{{NS_DISCO_ITEMS}}}query")
        if node:
            query.set("node", node)
        return await self.get(to, query, timeout)

    async def version(self, to: str, timeout: float = DEFAULT_TIMEOUT) -> Iq:
        return await self.get(to, ET.Element(f"{{{NS_VERSION}}}query"), timeout)

    async def send_raw_iq(self, xml: str, iq_id: str, timeout: float = DEFAULT_TIMEOUT) -> ET.Element:
        """Send literal XML (an <iq> whose id is `iq_id`) and return the raw reply element."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future = loop.create_future()
        name = f"interop-raw-{iq_id}"
        self.xmpp.register_handler(Callback(
            name, MatcherId(iq_id),
            lambda stanza: reply.done() or reply.set_result(stanza), once=True))
        self.xmpp.send_raw(xml)
        try:
            stanza = await asyncio.wait_for(reply, timeout)
        except asyncio.TimeoutError:
            self.xmpp.remove_handler(name)
            raise XMPPTimeout(f"{self.name}: no reply within {timeout} s to raw iq {iq_id}") from None
        return stanza.xml

    # -- messages and presence ---------------------------------------------------------

    def send_message(self, to: str, body: str | None = None, kind: str = "chat",
                     extra: Iterable[ET.Element] = ()) -> Message:
        message = self.xmpp.make_message(mto=to, mbody=body, mtype=kind)
        message["id"] = f"interop-{uuid.uuid4().hex[:12]}"
        for element in extra:
            message.append(element)
        message.send()
        return message

    def send_presence(self, to: str | None = None, kind: str | None = None,
                      extra: Iterable[ET.Element] = ()) -> Presence:
        presence = self.xmpp.make_presence(pto=to, ptype=kind)
        for element in extra:
            presence.append(element)
        presence.send()
        return presence

    def _collect(self, stanza: ElementBase) -> None:
        self._mailbox.append((self._arrivals, stanza))
        self._arrivals += 1
        self._arrived.set()

    @property
    def position(self) -> int:
        """The arrival number the next received stanza will get: pass it as `after` to
        `expect` to ignore whatever had already arrived (or was still waiting) before."""
        return self._arrivals

    def received(self, kind: str | None = None) -> list[ElementBase]:
        return [s for _, s in self._mailbox if kind is None or s.name == kind]

    def drop(self, predicate: Callable[[ElementBase], bool]) -> list[ElementBase]:
        """Remove and return every stanza in the mailbox matching `predicate`."""
        kept, dropped = [], []
        for entry in self._mailbox:
            (dropped if predicate(entry[1]) else kept).append(entry)
        self._mailbox = kept
        return [stanza for _, stanza in dropped]

    async def expect(self, kind: str | None, predicate: Callable[[ElementBase], bool] = lambda s: True,
                     timeout: float = DEFAULT_TIMEOUT, what: str = "",
                     after: int | None = None) -> ElementBase:
        """The first received `kind` stanza (any kind if None) matching `predicate`, removed
        from the mailbox; with `after`, only stanzas whose arrival number is at least that."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for entry in self._mailbox:
                number, stanza = entry
                if after is not None and number < after:
                    continue
                if (kind is None or stanza.name == kind) and predicate(stanza):
                    self._mailbox.remove(entry)
                    return stanza
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = "\n  ".join(_short(s, 300) for _, s in self._mailbox[-5:]) or "(nothing)"
                raise XMPPTimeout(f"{self.name}: no {what or kind or 'stanza'} within {timeout} s; "
                                  f"last received:\n  {seen}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def expect_message(self, predicate=lambda s: True, timeout: float = DEFAULT_TIMEOUT,
                             what: str = "") -> Message:
        return await self.expect("message", predicate, timeout, what or "matching message")

    async def expect_presence(self, predicate=lambda s: True, timeout: float = DEFAULT_TIMEOUT,
                              what: str = "") -> Presence:
        return await self.expect("presence", predicate, timeout, what or "matching presence")


def _short(stanza, limit: int = 600) -> str:
    text = str(stanza)
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


def flush_server_parser(client: "Client", size: int = 70_000) -> None:
    """Whitespace after a stanza holding one very large XML token (a 20 KB attribute).

    Debian 12's Expat (2.5.0-1+deb12u5) has Expat 2.6's reparse deferral backported, and
    the servers' parsers (Prosody 0.12.3 through lua-expat, ejabberd through fast_xml) do
    not turn it off: a large token is held in the server's buffer until about as many
    bytes again arrive, so such a stanza is not even read until the client sends more.
    Parley's own parser turns deferral off (Sources/CExpat/shim.h). Whitespace between
    stanzas is legal (RFC 6120 §11.7) and lets the test reach what it checks: Parley's
    answer and a link that survives. It goes through slixmpp's send queue, so it follows
    whatever the client sent before."""
    client.xmpp.send(" " * size, use_filters=False)


def error_of(stanza: ElementBase) -> tuple[str, str]:
    """(error type, defined condition) of an error stanza, e.g. ("cancel", "service-unavailable")."""
    return stanza["error"]["type"], stanza["error"]["condition"]


def raw_error_of(element: ET.Element) -> tuple[str | None, str | None]:
    """The same for a raw reply element; the condition is read in the stanzas namespace only."""
    error = next((child for child in element if child.tag.endswith("}error")), None)
    if error is None:
        return None, None
    condition = next((child.tag.split("}", 1)[1] for child in error
                      if child.tag.startswith(f"{{{NS_STANZAS}}}") and not child.tag.endswith("}text")),
                     None)
    return error.get("type"), condition
