"""A minimal asyncio XMPP c2s client for benchmarks.

Plain TCP to Prosody's c2s port, SASL PLAIN without TLS, resource binding, initial
presence. After login it never parses XML: while a phase runs, a *sink* (any callable
taking the received bytes and their arrival time) scans the raw bytes, typically
counting markers such as ``</body>``, so that one Python process can drive hundreds
of connections without being the bottleneck. Between phases the client collects
bytes into ``buf`` and ``wait_for`` searches them with a regular expression.

Every wait has a deadline; nothing here can block forever.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import time
from typing import Callable, Optional
from xml.sax.saxutils import escape, quoteattr

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"

_FEATURES_END = re.compile(rb"</stream:features>")
_SASL_RESULT = re.compile(rb"<success\b[^>]*/>|</success>|</failure>")
_BIND_RESULT = re.compile(rb"<iq\b[^>]*\bid=['\"]bind1['\"].*?(?:</iq>|/>)", re.S)
_BOUND_JID = re.compile(rb"<jid>([^<]+)</jid>")
_STREAM_ERROR = re.compile(rb"<stream:error>.*?</stream:error>", re.S)

Sink = Callable[[bytes, float], None]


class ClientError(Exception):
    """Login failed, the stream broke, or an expected answer did not come in time."""


class RawClient(asyncio.Protocol):
    def __init__(self, user: str, password: str, domain: str = "localhost", resource: str = "bench"):
        self.user = user
        self.password = password
        self.domain = domain
        self.resource = resource
        self.jid = f"{user}@{domain}/{resource}"
        self.transport: Optional[asyncio.Transport] = None
        self.buf = bytearray()
        self.sink: Optional[Sink] = None
        self.changed = asyncio.Event()
        self.closed = False
        self.close_reason: Optional[BaseException] = None
        self.bytes_in = 0
        self.reads = 0

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.reads += 1
        sink = self.sink
        if sink is not None:
            sink(data, time.perf_counter())
        else:
            self.buf += data
            self.changed.set()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.close_reason = exc
        self.changed.set()

    # -- sending ---------------------------------------------------------------

    def send(self, data) -> None:
        if self.closed or self.transport is None:
            raise ClientError(f"{self.jid}: connection closed ({self.close_reason or 'by the server'})")
        self.transport.write(data.encode() if isinstance(data, str) else data)

    def presence(self, to: str, kind: Optional[str] = None, payload: str = "") -> None:
        type_attr = f" type={quoteattr(kind)}" if kind else ""
        self.send(f"<presence to={quoteattr(to)}{type_attr}>{payload}</presence>")

    @staticmethod
    def groupchat(to: str, body: str, msg_id: str) -> bytes:
        return (f"<message to={quoteattr(to)} type='groupchat' id={quoteattr(msg_id)}>"
                f"<body>{escape(body)}</body></message>").encode()

    # -- collecting mode -------------------------------------------------------

    def collect(self) -> None:
        """Leave sink mode: keep received bytes in `buf` (emptied) for `wait_for`."""
        self.sink = None
        self.buf.clear()

    async def wait_for(self, pattern: re.Pattern, deadline: float, what: str) -> re.Match:
        """The first match of `pattern` in `buf`, before `deadline` (loop time)."""
        loop = asyncio.get_running_loop()
        while True:
            match = pattern.search(self.buf)
            if match:
                return match
            error = _STREAM_ERROR.search(self.buf)
            if error:
                raise ClientError(f"{self.jid}: stream error while waiting for {what}: "
                                  f"{error.group(0).decode(errors='replace')}")
            if self.closed:
                raise ClientError(f"{self.jid}: connection closed while waiting for {what} "
                                  f"({self.close_reason or 'by the server'})")
            remaining = deadline - loop.time()
            if remaining <= 0:
                tail = bytes(self.buf[-400:]).decode(errors="replace")
                raise ClientError(f"{self.jid}: no {what} in time (last bytes: {tail!r})")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # -- login -----------------------------------------------------------------

    def _open_stream(self) -> None:
        self.buf.clear()
        self.send(f"<?xml version='1.0'?><stream:stream to={quoteattr(self.domain)} "
                  f"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                  f"version='1.0'>")

    async def login(self, host: str, port: int, timeout: float = 15.0) -> None:
        """Connect, authenticate, bind, send initial presence; ends in collecting mode."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(loop.create_connection(lambda: self, host, port), timeout)
        except (OSError, asyncio.TimeoutError) as error:
            raise ClientError(f"{self.jid}: cannot connect to {host}:{port}: {error!r}") from None
        self._open_stream()
        match = await self.wait_for(_FEATURES_END, deadline, "stream features")
        if b">PLAIN<" not in self.buf[:match.end()]:
            raise ClientError(f"{self.jid}: no SASL PLAIN offered without TLS")
        self.buf.clear()
        token = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
        match = await self.wait_for(_SASL_RESULT, deadline, "SASL result")
        if b"<success" not in self.buf:
            raise ClientError(f"{self.jid}: authentication failed: {bytes(self.buf).decode(errors='replace')}")
        self._open_stream()
        await self.wait_for(_FEATURES_END, deadline, "post-auth stream features")
        self.buf.clear()
        self.send(f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'>"
                  f"<resource>{escape(self.resource)}</resource></bind></iq>")
        match = await self.wait_for(_BIND_RESULT, deadline, "bind result")
        bound = _BOUND_JID.search(match.group(0))
        is_result = b"type='result'" in match.group(0) or b'type="result"' in match.group(0)
        if not is_result or not bound:
            raise ClientError(f"{self.jid}: bind failed: {match.group(0).decode(errors='replace')}")
        self.jid = bound.group(1).decode()
        self.buf.clear()
        self.send("<presence/>")

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            try:
                self.transport.write(b"</stream:stream>")
            except Exception:
                pass
            self.transport.close()
