"""A minimal blocking XMPP client over plain TCP (SASL PLAIN, resource binding, IQs),
used to find out whether Parley's component is attached to Prosody.

It is deliberately independent of slixmpp: every read has a deadline, and its only
job is "log in, send an IQ, read the reply".
"""

from __future__ import annotations

import base64
import itertools
import socket
import time
import xml.etree.ElementTree as ET
from collections import deque
from typing import Callable
from xml.sax.saxutils import quoteattr

from .errors import HarnessError
from .procs import LOOPBACK

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PING = "urn:xmpp:ping"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
# Prosody 0.12 (mod_component) adds this to its bounce while no component is attached:
# <error type='wait'><remote-server-timeout/><text>Component unavailable</text>
# <not-connected xmlns='xmpp:prosody.im/protocol/component'/></error>
NS_PROSODY_COMPONENT = "xmpp:prosody.im/protocol/component"


class ProbeError(HarnessError):
    pass


class ProbeAuthError(ProbeError):
    """The server refused the account: polling again will not help."""


def describe_reply(iq: ET.Element) -> str:
    """`result`, or `error wait/remote-server-timeout (not-connected)`, for messages."""
    kind = iq.get("type", "?")
    if kind != "error":
        return kind
    error = iq.find(f"{{{NS_CLIENT}}}error")
    if error is None:
        return "error (no <error/> child)"
    conditions = [child.tag.split("}")[-1] for child in error
                  if child.tag.startswith(f"{{{NS_STANZAS}}}") and not child.tag.endswith("}text")]
    text = error.findtext(f"{{{NS_STANZAS}}}text")
    marker = " (Prosody: component not connected)" if error.find(
        f"{{{NS_PROSODY_COMPONENT}}}not-connected") is not None else ""
    return (f"error {error.get('type', '?')}/{','.join(conditions) or '?'}"
            + (f" {text!r}" if text else "") + marker)


class ProbeClient:
    """Blocking c2s client: `with ProbeClient(port, "localhost", "alice", pw) as c: c.ping(jid)`."""

    def __init__(self, port: int, domain: str, user: str, password: str,
                 host: str = LOOPBACK, resource: str = "harness-probe", timeout: float = 5.0):
        self.address = (host, port)
        self.domain = domain
        self.user = user
        self.password = password
        self.resource = resource
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.jid: str | None = None
        self._ids = itertools.count(1)
        self._pending: deque[ET.Element] = deque()

    # -- connection ------------------------------------------------------------

    def __enter__(self) -> "ProbeClient":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
        except OSError as error:
            raise ProbeError(f"cannot connect to {self.address[0]}:{self.address[1]}: {error}") from error
        features = self._open_stream(deadline)
        mechanisms = [m.text for m in features.iter(f"{{{NS_SASL}}}mechanism")]
        if "PLAIN" not in mechanisms:
            raise ProbeError(f"server offers no PLAIN over plain TCP (offers {mechanisms}); "
                             "is allow_unencrypted_plain_auth set?")
        token = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        self._send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
        answer = self._read(deadline)
        if answer.tag != f"{{{NS_SASL}}}success":
            condition = [c.tag.split("}")[-1] for c in answer]
            raise ProbeAuthError(f"login as {self.user}@{self.domain} failed: {condition or answer.tag}")
        features = self._open_stream(deadline)
        if features.find(f"{{{NS_BIND}}}bind") is None:
            raise ProbeError("server offered no resource binding after login")
        reply = self.iq("set", None, f"<bind xmlns='{NS_BIND}'><resource>{self.resource}</resource></bind>",
                        deadline - time.monotonic())
        if reply.get("type") != "result":
            raise ProbeError(f"resource binding failed: {describe_reply(reply)}")
        self.jid = reply.findtext(f".//{{{NS_BIND}}}jid")

    def close(self) -> None:
        if self.sock is None:
            return
        try:
            self.sock.settimeout(1.0)
            self.sock.sendall(b"</stream:stream>")
        except OSError:
            pass
        finally:
            self.sock.close()
            self.sock = None

    # -- stanzas ---------------------------------------------------------------

    def iq(self, kind: str, to: str | None, payload: str, timeout: float | None = None) -> ET.Element:
        """Send an IQ and return the reply with the same id (other stanzas are dropped)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        iq_id = f"probe-{next(self._ids)}"
        to_attr = f" to={quoteattr(to)}" if to else ""
        self._send(f"<iq type='{kind}' id='{iq_id}'{to_attr}>{payload}</iq>")
        while True:
            stanza = self._read(deadline)
            if stanza.tag == f"{{{NS_CLIENT}}}iq" and stanza.get("id") == iq_id:
                return stanza

    def ping(self, to: str, timeout: float | None = None) -> ET.Element:
        return self.iq("get", to, f"<ping xmlns='{NS_PING}'/>", timeout)

    def disco_info(self, to: str, timeout: float | None = None) -> ET.Element:
        return self.iq("get", to, f"<query xmlns='{NS_DISCO_INFO}'/>", timeout)

    # -- wire ------------------------------------------------------------------

    def _send(self, text: str) -> None:
        assert self.sock is not None
        try:
            self.sock.sendall(text.encode("utf-8"))
        except OSError as error:
            raise ProbeError(f"connection to the server lost while sending: {error}") from error

    def _open_stream(self, deadline: float) -> ET.Element:
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._root: ET.Element | None = None
        self._pending.clear()
        self._send(f"<?xml version='1.0'?><stream:stream to={quoteattr(self.domain)} "
                   f"xmlns='{NS_CLIENT}' xmlns:stream='{NS_STREAMS}' version='1.0'>")
        features = self._read(deadline)
        if features.tag != f"{{{NS_STREAMS}}}features":
            raise ProbeError(f"expected <stream:features/>, got {features.tag}")
        return features

    def _read(self, deadline: float) -> ET.Element:
        """The next top-level element of the stream, before `deadline`."""
        assert self.sock is not None
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from the server in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no answer from the server in time") from None
            except OSError as error:
                raise ProbeError(f"connection to the server lost: {error}") from error
            if not data:
                raise ProbeError("the server closed the connection")
            self._parser.feed(data)
            for event, element in self._parser.read_events():
                if event == "start":
                    self._depth += 1
                    if self._depth == 1:
                        self._root = element
                else:
                    self._depth -= 1
                    if self._depth == 0:
                        raise ProbeError("the server closed the stream")
                    if self._depth == 1:
                        if element.tag == f"{{{NS_STREAMS}}}error":
                            raise ProbeError("stream error from the server: "
                                             + ",".join(c.tag.split("}")[-1] for c in element))
                        self._pending.append(element)
                        if self._root is not None:
                            self._root.remove(element)
        return self._pending.popleft()


def wait_for_component(c2s_port: int, domain: str, user: str, password: str, component: str,
                       timeout: float = 20.0, alive: Callable[[], bool] | None = None,
                       describe_logs: Callable[[], str] | None = None) -> str:
    """Poll until `component` answers a ping (or, failing that, disco#info) with a result.

    Prosody answers for the component while none is attached — in 0.12 with
    wait/remote-server-timeout and <not-connected xmlns='xmpp:prosody.im/protocol/component'/> —
    and any error counts as "not ready yet". `alive` lets a dead component process end the wait
    early. Returns a short description of the answer that made it ready."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"

    def fail(reason: str) -> HarnessError:
        logs = f"\n{describe_logs()}" if describe_logs else ""
        return HarnessError(f"{component} is not ready: {reason} (last answer: {last}){logs}")

    client: ProbeClient | None = None
    try:
        while True:
            if alive is not None and not alive():
                raise fail("the component process exited")
            if time.monotonic() >= deadline:
                raise fail(f"no result within {timeout:.0f} s")
            if client is None:
                candidate = ProbeClient(c2s_port, domain, user, password,
                                        timeout=max(0.5, min(5.0, deadline - time.monotonic())))
                try:
                    candidate.connect()
                    client = candidate
                except ProbeAuthError as error:
                    candidate.close()
                    last = str(error)
                    raise fail("the probe account cannot log in") from None
                except (ProbeError, TimeoutError) as error:
                    candidate.close()
                    last = f"c2s login: {error}"
                    time.sleep(0.2)
                    continue
            try:
                remaining = max(0.2, min(2.0, deadline - time.monotonic()))
                for ask in (client.ping, client.disco_info):
                    reply = ask(component, remaining)
                    last = f"{ask.__name__}: {describe_reply(reply)}"
                    if reply.get("type") == "result":
                        return last
            except TimeoutError as error:
                last = str(error)
            except ProbeError as error:
                last = str(error)
                if client is not None:
                    client.close()
                client = None
            time.sleep(0.2)
    finally:
        if client is not None:
            client.close()
