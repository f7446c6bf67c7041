"""XEP-0045 (Multi-User Chat) helpers for the interop tests: entering rooms and collecting
what the room sends, creating and configuring rooms with data forms, groupchat, private
messages and presence changes, `muc#admin` and `muc#owner` requests, and readers for
`muc#user` items, status codes, errors, data forms and disco replies.

Everything that waits takes a deadline (DEFAULT_TIMEOUT unless told); nothing blocks
without a bound. Stanzas are read as raw XML (ElementTree), not through slixmpp's MUC
plugin, so that the tests see exactly what the service sent.
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from .xmpp import DEFAULT_TIMEOUT, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_STANZAS, Client

NS_CLIENT = "jabber:client"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = f"{NS_MUC}#user"
NS_MUC_ADMIN = f"{NS_MUC}#admin"
NS_MUC_OWNER = f"{NS_MUC}#owner"
FORM_ROOMCONFIG = f"{NS_MUC}#roomconfig"
FORM_ROOMINFO = f"{NS_MUC}#roominfo"
NS_DATA = "jabber:x:data"
NS_DELAY = "urn:xmpp:delay"              # XEP-0203
NS_STANZA_ID = "urn:xmpp:sid:0"          # XEP-0359
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"  # XEP-0421

# XEP-0045 §15.6.2 status codes the tests name.
NON_ANONYMOUS = 100
CONFIG_CHANGED = 104
SELF = 110
LOGGING_ENABLED = 170
NOW_NON_ANONYMOUS = 172
NOW_SEMI_ANONYMOUS = 173
CREATED = 201
BANNED = 301
NICK_CHANGED = 303
KICKED = 307
REMOVED_AFFILIATION = 321
REMOVED_MEMBERS_ONLY = 322


# -- the service under test ------------------------------------------------------------------

@dataclass(frozen=True)
class MucService:
    """A MUC service the room tests run against: `parley` (rooms.localhost, Parley) or
    `prosody` (conference.localhost, Prosody's own mod_muc, the reference)."""

    name: str
    domain: str

    @property
    def is_parley(self) -> bool:
        return self.name == "parley"

    def new_room(self, label: str = "room") -> str:
        """A room JID no other test uses."""
        return f"{label}-{uuid.uuid4().hex[:12]}@{self.domain}"


# -- reading stanzas -----------------------------------------------------------------------

def xml_of(stanza) -> ET.Element:
    """The ElementTree element of a slixmpp stanza (or the element itself)."""
    return stanza.xml if hasattr(stanza, "xml") else stanza


def attr(stanza, name: str) -> str | None:
    return xml_of(stanza).get(name)


def kind_of(stanza) -> str:
    """The stanza's name: message, presence or iq."""
    return xml_of(stanza).tag.split("}", 1)[-1]


def type_of(stanza) -> str | None:
    return xml_of(stanza).get("type")


def sender(stanza) -> str:
    return xml_of(stanza).get("from") or ""


def bare(jid: str | None) -> str:
    return (jid or "").split("/", 1)[0]


def resource(jid: str | None) -> str | None:
    parts = (jid or "").split("/", 1)
    return parts[1] if len(parts) == 2 else None


def text_of(stanza, name: str, namespace: str = NS_CLIENT) -> str | None:
    """Text of a direct child (None if absent, "" if empty)."""
    child = xml_of(stanza).find(f"{{{namespace}}}{name}")
    return None if child is None else (child.text or "")


def body_of(stanza) -> str | None:
    return text_of(stanza, "body")


def subject_of(stanza) -> str | None:
    return text_of(stanza, "subject")


def is_subject_change(stanza) -> bool:
    """A groupchat message with a <subject/> and no <body/> (XEP-0045 §8.1)."""
    return (kind_of(stanza) == "message" and type_of(stanza) == "groupchat"
            and subject_of(stanza) is not None and body_of(stanza) is None)


def delay_of(stanza) -> ET.Element | None:
    return xml_of(stanza).find(f"{{{NS_DELAY}}}delay")


def user_x(stanza) -> ET.Element | None:
    """The <x xmlns='http://jabber.org/protocol/muc#user'/> of a stanza."""
    return xml_of(stanza).find(f"{{{NS_MUC_USER}}}x")


def status_codes(stanza) -> set[int]:
    x = user_x(stanza)
    if x is None:
        return set()
    codes = set()
    for status in x.findall(f"{{{NS_MUC_USER}}}status"):
        try:
            codes.add(int(status.get("code", "")))
        except ValueError:
            pass
    return codes


@dataclass(frozen=True)
class Item:
    """A `muc#user` or `muc#admin` <item/>."""

    affiliation: str | None = None
    role: str | None = None
    jid: str | None = None
    nick: str | None = None
    actor_nick: str | None = None
    actor_jid: str | None = None
    reason: str | None = None

    @classmethod
    def parse(cls, element: ET.Element, namespace: str) -> "Item":
        actor = element.find(f"{{{namespace}}}actor")
        reason = element.find(f"{{{namespace}}}reason")
        return cls(affiliation=element.get("affiliation"), role=element.get("role"),
                   jid=element.get("jid"), nick=element.get("nick"),
                   actor_nick=None if actor is None else actor.get("nick"),
                   actor_jid=None if actor is None else actor.get("jid"),
                   reason=None if reason is None else (reason.text or ""))


def items(stanza) -> list[Item]:
    x = user_x(stanza)
    return [] if x is None else [Item.parse(e, NS_MUC_USER) for e in x.findall(f"{{{NS_MUC_USER}}}item")]


def item(stanza) -> Item:
    """The (first) `muc#user` item of a presence; fails if there is none."""
    found = items(stanza)
    assert found, f"no <item/> in <x xmlns='{NS_MUC_USER}'/>: {describe(stanza)}"
    return found[0]


def user_child(stanza, name: str) -> ET.Element | None:
    x = user_x(stanza)
    return None if x is None else x.find(f"{{{NS_MUC_USER}}}{name}")


def destroy_of(stanza) -> tuple[str | None, str | None] | None:
    """(alternate venue, reason) of a `muc#user` <destroy/>, or None."""
    element = user_child(stanza, "destroy")
    if element is None:
        return None
    return element.get("jid"), element.findtext(f"{{{NS_MUC_USER}}}reason")


def occupant_id_of(stanza) -> str | None:
    element = xml_of(stanza).find(f"{{{NS_OCCUPANT_ID}}}occupant-id")
    return None if element is None else element.get("id")


def stanza_ids_of(stanza) -> list[tuple[str | None, str | None]]:
    """(by, id) of every XEP-0359 <stanza-id/>."""
    return [(e.get("by"), e.get("id")) for e in xml_of(stanza).findall(f"{{{NS_STANZA_ID}}}stanza-id")]


def describe(stanza, limit: int = 700) -> str:
    text = ET.tostring(xml_of(stanza), encoding="unicode")
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


# -- errors ---------------------------------------------------------------------------------

class WrongErrorType(AssertionError):
    """The error condition is the expected one but its type is not. Tests mark known
    differences of this kind with `xfail(raises=WrongErrorType)`, so that a wrong
    condition still fails."""


def error_of(stanza) -> tuple[str | None, str | None, str | None]:
    """(type, defined condition, text) of an error stanza; the condition is read in the
    RFC 6120 stanzas namespace only."""
    error = xml_of(stanza).find(f"{{{NS_CLIENT}}}error")
    if error is None:
        return None, None, None
    condition = next((child.tag.split("}", 1)[1] for child in error
                      if child.tag.startswith(f"{{{NS_STANZAS}}}") and not child.tag.endswith("}text")),
                     None)
    return error.get("type"), condition, error.findtext(f"{{{NS_STANZAS}}}text")


def assert_error(stanza, error_type: str | None, condition: str) -> None:
    """The stanza is an error with `condition`, and of `error_type` unless that is None."""
    assert type_of(stanza) == "error", f"expected a {condition} error, got {describe(stanza)}"
    got_type, got_condition, _text = error_of(stanza)
    assert got_condition == condition, \
        f"expected <{condition}/>, got <{got_condition}/> (type {got_type}): {describe(stanza)}"
    if error_type is not None and got_type != error_type:
        raise WrongErrorType(f"<{condition}/> has type '{got_type}', expected '{error_type}': "
                             f"{describe(stanza)}")


def assert_result(reply, what: str = "request") -> None:
    assert type_of(reply) == "result", f"{what} was not answered with a result: {describe(reply)}"


async def expect_error_reply(client: Client, kind: str, sent, timeout: float = DEFAULT_TIMEOUT):
    """The error bounced for the `kind` stanza we sent (matched by its id)."""
    sent_id = sent["id"] if not isinstance(sent, str) else sent
    return await client.expect(kind, lambda s: type_of(s) == "error" and attr(s, "id") == sent_id,
                               timeout=timeout, what=f"{kind} error for id {sent_id}")


# -- data forms ---------------------------------------------------------------------------------

@dataclass
class FormField:
    var: str | None
    type: str | None
    label: str | None
    values: list[str]
    options: list[str]

    @property
    def value(self) -> str | None:
        return self.values[0] if self.values else None


@dataclass
class Form:
    type: str | None
    fields: dict[str, FormField]

    @property
    def form_type(self) -> str | None:
        field_ = self.fields.get("FORM_TYPE")
        return field_.value if field_ else None

    def value(self, var: str) -> str | None:
        field_ = self.fields.get(var)
        return field_.value if field_ else None

    def values(self, var: str) -> list[str]:
        field_ = self.fields.get(var)
        return list(field_.values) if field_ else []


def parse_form(x: ET.Element) -> Form:
    fields = {}
    for element in x.findall(f"{{{NS_DATA}}}field"):
        var = element.get("var")
        fields[var or f"(unnamed {len(fields)})"] = FormField(
            var=var, type=element.get("type"), label=element.get("label"),
            values=[v.text or "" for v in element.findall(f"{{{NS_DATA}}}value")],
            options=[o.findtext(f"{{{NS_DATA}}}value") or "" for o in element.findall(f"{{{NS_DATA}}}option")])
    return Form(type=x.get("type"), fields=fields)


def forms_in(element: ET.Element) -> list[Form]:
    return [parse_form(x) for x in element.findall(f"{{{NS_DATA}}}x")]


def _form_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def submit_form(form_type: str | None, values: Mapping[str, Any],
                types: Mapping[str, str | None] | None = None) -> ET.Element:
    """<x xmlns='jabber:x:data' type='submit'/> with FORM_TYPE (if given) and `values`
    (booleans as 1/0, lists as several <value/>s); field types from `types` when known."""
    x = ET.Element(f"{{{NS_DATA}}}x", type="submit")
    if form_type is not None:
        hidden = ET.SubElement(x, f"{{{NS_DATA}}}field", var="FORM_TYPE", type="hidden")
        ET.SubElement(hidden, f"{{{NS_DATA}}}value").text = form_type
    for var, value in values.items():
        element = ET.SubElement(x, f"{{{NS_DATA}}}field", var=var)
        field_type = (types or {}).get(var)
        if field_type:
            element.set("type", field_type)
        for text in _form_values(value):
            ET.SubElement(element, f"{{{NS_DATA}}}value").text = text
    return x


# -- entering a room ------------------------------------------------------------------------------

@dataclass
class Entered:
    """Everything the room sent a joining client, in arrival order, up to the subject
    (XEP-0045 §7.1: occupants' presences, self-presence, history, subject)."""

    room: str
    nick: str
    stanzas: list = field(default_factory=list)
    occupants: list = field(default_factory=list)    # presences before the self-presence
    self_presence: Any = None
    history: list = field(default_factory=list)      # messages with a delay from the room
    subject: Any = None
    others: list = field(default_factory=list)       # anything else (live traffic, notices)
    error: Any = None                                # the error presence, if refused

    @property
    def occupant_jid(self) -> str:
        return f"{self.room}/{self.nick}"

    @property
    def codes(self) -> set[int]:
        return status_codes(self.self_presence) if self.self_presence is not None else set()

    @property
    def item(self) -> Item:
        assert self.self_presence is not None, f"no self-presence from {self.room}"
        return item(self.self_presence)

    def shape(self) -> list[str]:
        """What each received stanza was, in arrival order: occupant, self, history,
        subject, other or error."""
        def label(s) -> str:
            if s is self.self_presence:
                return "self"
            if s is self.subject:
                return "subject"
            if s is self.error:
                return "error"
            if any(s is o for o in self.occupants):
                return "occupant"
            if any(s is h for h in self.history):
                return "history"
            return "other"
        return [label(s) for s in self.stanzas]

    def presence_of(self, nick: str):
        """The presence of occupant `nick` among those sent before the self-presence."""
        found = [p for p in self.occupants if resource(sender(p)) == nick]
        assert found, (f"no presence of {nick} before the self-presence in {self.room}; got "
                       + ", ".join(resource(sender(p)) or "?" for p in self.occupants))
        return found[0]

    def summary(self) -> str:
        def one(s):
            codes = sorted(status_codes(s))
            return (f"{kind_of(s)}[{type_of(s) or ''}] from {sender(s)}"
                    + (f" codes {codes}" if codes else "")
                    + (" subject" if subject_of(s) is not None else "")
                    + (" delayed" if delay_of(s) is not None else ""))
        return "; ".join(one(s) for s in self.stanzas) or "nothing"


def muc_x(password: str | None = None, history: Mapping[str, Any] | None = None) -> ET.Element:
    """<x xmlns='http://jabber.org/protocol/muc'/> with an optional <password/> and
    <history maxstanzas=.. maxchars=.. seconds=.. since=../>."""
    x = ET.Element(f"{{{NS_MUC}}}x")
    if password is not None:
        ET.SubElement(x, f"{{{NS_MUC}}}password").text = password
    if history is not None:
        ET.SubElement(x, f"{{{NS_MUC}}}history",
                      {name: str(value) for name, value in history.items() if value is not None})
    return x


def send_join(client: Client, room: str, nick: str, password: str | None = None,
              history: Mapping[str, Any] | None = None, show: str | None = None,
              status: str | None = None):
    presence = client.xmpp.make_presence(pto=f"{room}/{nick}", pshow=show, pstatus=status)
    presence.append(muc_x(password, history))
    presence.send()
    return presence


async def attempt_join(client: Client, room: str, nick: str, *, password: str | None = None,
                       history: Mapping[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT,
                       until_subject: bool = True) -> Entered:
    """Send the entering presence and collect, in order, what the room sends until the
    subject (or only until the self-presence if not `until_subject`), or until an error
    presence refuses entry. Fails if that does not come within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    entered = Entered(room=room, nick=nick)
    start = client.position
    send_join(client, room, nick, password, history)
    while True:
        remaining = deadline - loop.time()
        stanza = await client.expect(
            None, lambda s: bare(sender(s)) == room and kind_of(s) in ("presence", "message"),
            timeout=max(remaining, 0.0), after=start,
            what=f"rest of the entry into {room} as {nick} (so far: {entered.summary()})")
        entered.stanzas.append(stanza)
        if kind_of(stanza) == "presence":
            if type_of(stanza) == "error":
                entered.error = stanza
                return entered
            if entered.self_presence is None:
                if SELF in status_codes(stanza):
                    entered.self_presence = stanza
                    if not until_subject:
                        return entered
                else:
                    entered.occupants.append(stanza)
            else:
                entered.others.append(stanza)
        elif is_subject_change(stanza):
            entered.subject = stanza
            return entered
        elif type_of(stanza) == "groupchat" and delay_of(stanza) is not None:
            entered.history.append(stanza)
        else:
            entered.others.append(stanza)


async def join(client: Client, room: str, nick: str, **options) -> Entered:
    """Enter the room; fails unless the room admits us (self-presence, then the subject)."""
    entered = await attempt_join(client, room, nick, **options)
    assert entered.error is None, \
        f"{client.name} could not enter {room} as {nick}: {describe(entered.error)}"
    assert entered.self_presence is not None, \
        f"{client.name}: no self-presence (status 110) entering {room}: {entered.summary()}"
    return entered


async def join_refused(client: Client, room: str, nick: str, **options):
    """Try to enter; fails unless the room refuses with an error presence, which is returned."""
    entered = await attempt_join(client, room, nick, **options)
    assert entered.error is not None, \
        f"{client.name} entered {room} as {nick} but should have been refused: {entered.summary()}"
    return entered.error


async def sync(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """A round trip to the room (disco#info): whatever the room sent this client before
    answering has arrived once this returns."""
    await client.disco_info(room, timeout=timeout)


def is_notice(stanza) -> bool:
    """A message from the room JID carrying only status codes (a configuration notice)."""
    return (kind_of(stanza) == "message" and resource(sender(stanza)) is None
            and bool(status_codes(stanza)) and body_of(stanza) is None and subject_of(stanza) is None)


async def create_room(client: Client, room: str, nick: str = "Owner",
                      config: Mapping[str, Any] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> Entered:
    """Create `room` (XEP-0045 §10.1): enter it (expecting 110 and 201, owner/moderator),
    then submit an empty form (an instant room, §10.1.2) or, with `config`, the form filled
    in with those fields (a reserved room, §10.1.3). Configuration notices this sends the
    creator are dropped, so that tests only see what follows."""
    entered = await join(client, room, nick, timeout=timeout)
    assert CREATED in entered.codes, \
        f"{room} was not new (no status 201): {describe(entered.self_presence)}"
    if config:
        await configure(client, room, config, timeout=timeout)
    else:
        assert_result(await submit_instant(client, room, timeout=timeout), f"instant-room form for {room}")
    await sync(client, room, timeout)
    client.drop(lambda s: bare(sender(s)) == room and is_notice(s))
    return entered


# -- the owner: configuration and destruction -------------------------------------------------------

def owner_query(*children: ET.Element) -> ET.Element:
    query = ET.Element(f"{{{NS_MUC_OWNER}}}query")
    query.extend(children)
    return query


async def get_config_form(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT):
    """(reply, form): the `muc#owner` configuration form (form is None on an error)."""
    reply = await client.get(room, owner_query(), timeout=timeout)
    if type_of(reply) != "result":
        return reply, None
    query = xml_of(reply).find(f"{{{NS_MUC_OWNER}}}query")
    found = forms_in(query) if query is not None else []
    assert found, f"no data form in the configuration reply: {describe(reply)}"
    return reply, found[0]


async def submit_instant(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT):
    """§10.1.2: <query xmlns='…#owner'><x xmlns='jabber:x:data' type='submit'/></query>."""
    return await client.set(room, owner_query(ET.Element(f"{{{NS_DATA}}}x", type="submit")), timeout=timeout)


async def submit_cancel(client: Client, room: str, timeout: float = DEFAULT_TIMEOUT):
    """§10.1.3 / §10.2: <x xmlns='jabber:x:data' type='cancel'/>."""
    return await client.set(room, owner_query(ET.Element(f"{{{NS_DATA}}}x", type="cancel")), timeout=timeout)


async def configure(client: Client, room: str, values: Mapping[str, Any], *, check: bool = True,
                    timeout: float = DEFAULT_TIMEOUT):
    """Get the configuration form, fill in `values` (field var → value; fields the form
    does not offer are sent anyway and may be ignored by the service) and submit it.
    Returns the reply; with `check`, fails unless it is a result."""
    reply, form = await get_config_form(client, room, timeout)
    assert form is not None, f"no configuration form for {room}: {describe(reply)}"
    types = {var: f.type for var, f in form.fields.items()}
    submitted = submit_form(FORM_ROOMCONFIG, values, types)
    answer = await client.set(room, owner_query(submitted), timeout=timeout)
    if check:
        assert_result(answer, f"configuration of {room} with {dict(values)}")
    return answer


async def destroy_room(client: Client, room: str, *, alternate: str | None = None,
                       reason: str | None = None, password: str | None = None,
                       timeout: float = DEFAULT_TIMEOUT):
    """§10.9: <destroy jid=alternate><reason/><password/></destroy>; returns the reply."""
    destroy = ET.Element(f"{{{NS_MUC_OWNER}}}destroy")
    if alternate is not None:
        destroy.set("jid", alternate)
    if reason is not None:
        ET.SubElement(destroy, f"{{{NS_MUC_OWNER}}}reason").text = reason
    if password is not None:
        ET.SubElement(destroy, f"{{{NS_MUC_OWNER}}}password").text = password
    return await client.set(room, owner_query(destroy), timeout=timeout)


# -- admin and moderator requests (muc#admin) ---------------------------------------------------------

def admin_item(*, nick: str | None = None, jid: str | None = None, role: str | None = None,
               affiliation: str | None = None, reason: str | None = None) -> ET.Element:
    element = ET.Element(f"{{{NS_MUC_ADMIN}}}item")
    for name, value in (("nick", nick), ("jid", jid), ("role", role), ("affiliation", affiliation)):
        if value is not None:
            element.set(name, value)
    if reason is not None:
        ET.SubElement(element, f"{{{NS_MUC_ADMIN}}}reason").text = reason
    return element


def admin_query(*admin_items: ET.Element) -> ET.Element:
    query = ET.Element(f"{{{NS_MUC_ADMIN}}}query")
    query.extend(admin_items)
    return query


async def admin_set(client: Client, room: str, *admin_items: ET.Element, timeout: float = DEFAULT_TIMEOUT):
    return await client.set(room, admin_query(*admin_items), timeout=timeout)


async def set_role(client: Client, room: str, nick: str, role: str, reason: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT):
    """Kick (role none), grant or revoke voice (participant/visitor), moderator status."""
    return await admin_set(client, room, admin_item(nick=nick, role=role, reason=reason), timeout=timeout)


async def set_affiliation(client: Client, room: str, jid: str, affiliation: str,
                          reason: str | None = None, nick: str | None = None,
                          timeout: float = DEFAULT_TIMEOUT):
    """Ban (outcast), grant or revoke membership, admin or owner status, by bare JID."""
    return await admin_set(client, room, admin_item(jid=jid, affiliation=affiliation, reason=reason, nick=nick),
                           timeout=timeout)


async def admin_list(client: Client, room: str, *, affiliation: str | None = None,
                     role: str | None = None, timeout: float = DEFAULT_TIMEOUT):
    """(reply, items): the users with an affiliation or the occupants with a role."""
    reply = await client.get(room, admin_query(admin_item(affiliation=affiliation, role=role)), timeout=timeout)
    query = xml_of(reply).find(f"{{{NS_MUC_ADMIN}}}query")
    found = [] if query is None else [Item.parse(e, NS_MUC_ADMIN) for e in query.findall(f"{{{NS_MUC_ADMIN}}}item")]
    return reply, found


# -- messages and presence in a room ----------------------------------------------------------------

def send_groupchat(client: Client, room: str, body: str, extra: Iterable[ET.Element] = ()):
    return client.send_message(room, body, kind="groupchat", extra=extra)


async def expect_groupchat(client: Client, room: str, predicate: Callable[[Any], bool] = lambda m: True,
                           timeout: float = DEFAULT_TIMEOUT, what: str = ""):
    """A groupchat message from the room (or one of its occupants) matching `predicate`."""
    return await client.expect_message(
        lambda m: type_of(m) == "groupchat" and bare(sender(m)) == room and predicate(m),
        timeout=timeout, what=what or f"groupchat from {room}")


async def say(client: Client, room: str, body: str, timeout: float = DEFAULT_TIMEOUT):
    """Send a groupchat message and wait for the room to reflect it back to us; returns
    the reflection."""
    sent = send_groupchat(client, room, body)
    return await client.expect_message(
        lambda m: attr(m, "id") == sent["id"] and bare(sender(m)) == room,
        timeout=timeout, what=f"reflection of groupchat {sent['id']} from {room}")


def send_subject(client: Client, room: str, subject: str):
    """A groupchat message with only a <subject/> (§8.1)."""
    message = client.xmpp.make_message(mto=room, mtype="groupchat")
    message["id"] = f"interop-{uuid.uuid4().hex[:12]}"
    ET.SubElement(message.xml, f"{{{NS_CLIENT}}}subject").text = subject
    message.send()
    return message


def send_private(client: Client, occupant_jid: str, body: str, kind: str = "chat"):
    """§7.5: a private message to an occupant JID, with the <x xmlns='…#user'/> marker."""
    return client.send_message(occupant_jid, body, kind=kind, extra=[ET.Element(f"{{{NS_MUC_USER}}}x")])


def send_presence(client: Client, occupant_jid: str, *, show: str | None = None,
                  status: str | None = None, kind: str | None = None):
    """In-room presence (no <x/>): availability changes, nick changes (§7.6), exit (§7.14)."""
    presence = client.xmpp.make_presence(pto=occupant_jid, pshow=show, pstatus=status, ptype=kind)
    presence.send()
    return presence


async def expect_presence(client: Client, occupant_jid: str, *, unavailable: bool | None = None,
                          codes: Iterable[int] = (), predicate: Callable[[Any], bool] = lambda p: True,
                          timeout: float = DEFAULT_TIMEOUT):
    """The next presence from `occupant_jid` (available or not, as asked) whose status codes
    include `codes` and that matches `predicate`."""
    wanted = set(codes)

    def matches(p) -> bool:
        if sender(p) != occupant_jid or type_of(p) == "error":
            return False
        if unavailable is not None and (type_of(p) == "unavailable") != unavailable:
            return False
        return wanted <= status_codes(p) and predicate(p)

    state = {True: "unavailable ", False: "available ", None: ""}[unavailable]
    return await client.expect_presence(
        matches, timeout=timeout,
        what=f"{state}presence from {occupant_jid}" + (f" with status {sorted(wanted)}" if wanted else ""))


async def leave(client: Client, room: str, nick: str, status: str | None = None,
                timeout: float = DEFAULT_TIMEOUT):
    """§7.14: exit and wait for our own unavailable presence (110)."""
    send_presence(client, f"{room}/{nick}", kind="unavailable", status=status)
    return await expect_presence(client, f"{room}/{nick}", unavailable=True, codes={SELF}, timeout=timeout)


# -- invitations --------------------------------------------------------------------------------------

def send_invite(client: Client, room: str, invitee: str, reason: str | None = None):
    """§7.8.2: a mediated invitation, sent to the room."""
    x = ET.Element(f"{{{NS_MUC_USER}}}x")
    invite = ET.SubElement(x, f"{{{NS_MUC_USER}}}invite", to=invitee)
    if reason is not None:
        ET.SubElement(invite, f"{{{NS_MUC_USER}}}reason").text = reason
    return client.send_message(room, None, kind="normal", extra=[x])


def send_decline(client: Client, room: str, inviter: str, reason: str | None = None):
    x = ET.Element(f"{{{NS_MUC_USER}}}x")
    decline = ET.SubElement(x, f"{{{NS_MUC_USER}}}decline", to=inviter)
    if reason is not None:
        ET.SubElement(decline, f"{{{NS_MUC_USER}}}reason").text = reason
    return client.send_message(room, None, kind="normal", extra=[x])


# -- discovery -----------------------------------------------------------------------------------------

def disco_identities(reply) -> set[tuple[str | None, str | None, str | None]]:
    query = xml_of(reply).find(f"{{{NS_DISCO_INFO}}}query")
    if query is None:
        return set()
    return {(i.get("category"), i.get("type"), i.get("name")) for i in query.findall(f"{{{NS_DISCO_INFO}}}identity")}


def disco_features(reply) -> set[str]:
    query = xml_of(reply).find(f"{{{NS_DISCO_INFO}}}query")
    if query is None:
        return set()
    return {f.get("var") for f in query.findall(f"{{{NS_DISCO_INFO}}}feature")}


def disco_info_forms(reply) -> dict[str | None, Form]:
    query = xml_of(reply).find(f"{{{NS_DISCO_INFO}}}query")
    if query is None:
        return {}
    return {form.form_type: form for form in forms_in(query)}


def disco_item_list(reply) -> list[tuple[str | None, str | None]]:
    query = xml_of(reply).find(f"{{{NS_DISCO_ITEMS}}}query")
    if query is None:
        return []
    return [(i.get("jid"), i.get("name")) for i in query.findall(f"{{{NS_DISCO_ITEMS}}}item")]


NS_RSM = "http://jabber.org/protocol/rsm"


async def disco_items_all(client: Client, jid: str, timeout: float = DEFAULT_TIMEOUT):
    """(first reply, every item) of disco#items, following XEP-0059 pages while the service
    gives a <set> with a <last> and more items than it sent (Parley pages at 250)."""
    first = await client.disco_items(jid, timeout=timeout)
    found = disco_item_list(first)
    reply = first
    for _ in range(100):
        rsm = xml_of(reply).find(f"{{{NS_DISCO_ITEMS}}}query/{{{NS_RSM}}}set")
        last = None if rsm is None else rsm.findtext(f"{{{NS_RSM}}}last")
        count = None if rsm is None else rsm.findtext(f"{{{NS_RSM}}}count")
        if type_of(reply) == "error" or not last or (count is not None and len(found) >= int(count)):
            break
        query = ET.Element(f"{{{NS_DISCO_ITEMS}}}query")
        ET.SubElement(ET.SubElement(query, f"{{{NS_RSM}}}set"), f"{{{NS_RSM}}}after").text = last
        reply = await client.get(jid, query, timeout=timeout)
        page = disco_item_list(reply)
        if not page:
            break
        found += page
    return first, found


# -- time ---------------------------------------------------------------------------------------------

def xmpp_datetime(moment: datetime) -> str:
    """XEP-0082 DateTime, UTC, whole seconds."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xmpp_datetime(text: str) -> datetime:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)
