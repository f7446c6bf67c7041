"""The service JID (rooms.localhost) as a user's client sees it through Prosody:
discovery, ping, version, errors for what it does not offer, and a component link
that survives odd input."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET

import pytest

from harness.xmpp import NS_DISCO_INFO, NS_PING, NS_STANZAS, NS_VERSION, Client, error_of, flush_server_parser

NS_UNKNOWN = "urn:example:unknown"

# RFC 6120 §8.3.3 defined conditions: an error must carry one of these.
DEFINED_CONDITIONS = {
    "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
    "internal-server-error", "item-not-found", "jid-malformed", "not-acceptable",
    "not-allowed", "not-authorized", "policy-violation", "recipient-unavailable",
    "redirect", "registration-required", "remote-server-not-found",
    "remote-server-timeout", "resource-constraint", "service-unavailable",
    "subscription-required", "undefined-condition", "unexpected-request",
}

# Legal in XML 1.0 yet unusual: astral emoji, combining marks, bidi overrides,
# zero-width and BOM characters, non-characters, CJK, tabs and newlines, markup lookalikes.
ODD_TEXT = ("\U0001F600\U0001F9D1\u200D\U0001F4BB e\u0301\u0301\u0301 \u202Eevil\u202C "
            "\u200B\uFEFF\u2060 \uFDD0\uFFFD \U0010FFFD \u65E5\u672C\u8A9E \u0645\u0631\u062D\u0628\u0627 "
            "\t\n tab&amp;<lt>\"quote\"'apos' ]]> \u00A0\u3000")


def unknown_query() -> ET.Element:
    return ET.Element(f"{{{NS_UNKNOWN}}}query")


async def assert_service_answers_ping(client: Client, service: str) -> None:
    """The component link is still up: a ping to the service gets a result from it."""
    reply = await client.ping(service)
    assert reply["type"] == "result", f"the service no longer answers a ping with a result: {reply}"
    assert reply["from"].full == service


def assert_error(reply, error_type: str, condition: str, service: str) -> None:
    assert reply["type"] == "error", f"expected an error, got {reply}"
    assert reply["from"].full == service, reply
    error = reply.xml.find("{jabber:client}error")
    assert error is not None, f"no <error/> in {reply}"
    assert error.find(f"{{{NS_STANZAS}}}{condition}") is not None, \
        f"no <{condition} xmlns='{NS_STANZAS}'/> in {reply}"
    assert error_of(reply) == (error_type, condition), reply


# -- discovery, ping, version ----------------------------------------------------------------

async def test_disco_info_identifies_a_text_conference_service(alice, service):
    reply = await alice.disco_info(service)

    assert reply["type"] == "result", reply
    assert reply["from"].full == service
    query = reply.xml.find(f"{{{NS_DISCO_INFO}}}query")
    assert query is not None, f"no disco#info <query/> in {reply}"
    identities = {(i.get("category"), i.get("type")) for i in query.findall(f"{{{NS_DISCO_INFO}}}identity")}
    assert ("conference", "text") in identities, identities
    features = {f.get("var") for f in query.findall(f"{{{NS_DISCO_INFO}}}feature")}
    assert {NS_DISCO_INFO, NS_PING, NS_VERSION} <= features, features
    # The same as slixmpp's XEP-0030 plugin reads it.
    assert ("conference", "text") in {(c, t) for c, t, _lang, _name in reply["disco_info"]["identities"]}


async def test_ping_gets_a_result(alice, service):
    reply = await alice.ping(service)

    assert reply["type"] == "result", reply
    assert reply["from"].full == service
    assert reply["id"]


async def test_version_names_parley(alice, service):
    reply = await alice.version(service)

    assert reply["type"] == "result", reply
    query = reply.xml.find(f"{{{NS_VERSION}}}query")
    assert query is not None, f"no jabber:iq:version <query/> in {reply}"
    assert query.findtext(f"{{{NS_VERSION}}}name") == "Parley"
    assert (query.findtext(f"{{{NS_VERSION}}}version") or "").strip(), "empty <version/>"
    assert reply["software_version"]["name"] == "Parley"


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["get", "set"])
async def test_unknown_payload_is_service_unavailable(alice, service, kind):
    reply = await alice.send_iq(alice.new_iq(kind, service, unknown_query()))

    assert_error(reply, "cancel", "service-unavailable", service)


async def test_iq_without_payload_is_bad_request(alice, service):
    # Prosody 0.12 itself rejects a get/set without exactly one child before routing it
    # (core/stanza_router.lua), so this checks what a client sees, not Parley's own check.
    reply = await alice.send_iq(alice.new_iq("get", service))

    assert_error(reply, "modify", "bad-request", service)


async def test_chat_message_to_the_service_bounces_and_the_link_survives(alice, service):
    sent = alice.send_message(service, "hello, service", kind="chat")

    bounce = await alice.expect_message(
        lambda m: m["type"] == "error" and m["id"] == sent["id"], what="message error")
    assert_error(bounce, "cancel", "service-unavailable", service)
    await assert_service_answers_ping(alice, service)


# -- odd content --------------------------------------------------------------------------------

def _nested(depth: int) -> ET.Element:
    root = ET.Element(f"{{{NS_UNKNOWN}}}query")
    current = root
    for level in range(depth):
        current = ET.SubElement(current, f"{{urn:example:nested:{level % 3}}}level", n=str(level))
        current.text = ODD_TEXT if level % 5 == 0 else None
    return root


ODD_IQS = {
    "long-attribute-on-unknown": lambda: ET.Element(f"{{{NS_UNKNOWN}}}query", junk="x" * 60_000),
    "unicode-in-unknown": lambda: ET.Element(f"{{{NS_UNKNOWN}}}query", label=ODD_TEXT),
    "nested-unknown-elements": lambda: _nested(24),
    "unknown-sibling-namespaces": lambda: ET.Element("{urn:example:unknown:\u00e9\U0001F600}q\u00e9ry"),
}


@pytest.mark.parametrize("name", list(ODD_IQS))
async def test_odd_unknown_iq_is_service_unavailable_and_the_link_survives(alice, service, name):
    pending = asyncio.ensure_future(alice.send_iq(alice.new_iq("get", service, ODD_IQS[name]())))
    await asyncio.sleep(0)
    flush_server_parser(alice)
    reply = await pending

    assert_error(reply, "cancel", "service-unavailable", service)
    await assert_service_answers_ping(alice, service)


@pytest.mark.parametrize("build", [
    pytest.param(lambda: ET.Element(f"{{{NS_PING}}}ping", junk="y" * 60_000),
                 id="ping-with-long-attribute"),
    pytest.param(lambda: ET.Element(f"{{{NS_DISCO_INFO}}}query", node=ODD_TEXT),
                 id="disco-info-with-unicode-node"),
    pytest.param(lambda: _with_children(ET.Element(f"{{{NS_VERSION}}}query")),
                 id="version-with-unknown-children"),
])
async def test_odd_known_iq_is_answered_and_the_link_survives(alice, service, build):
    pending = asyncio.ensure_future(alice.send_iq(alice.new_iq("get", service, build())))
    await asyncio.sleep(0)
    flush_server_parser(alice)
    reply = await pending

    assert reply["type"] in ("result", "error"), reply
    assert reply["from"].full == service, reply
    if reply["type"] == "error":
        assert error_of(reply)[1] in DEFINED_CONDITIONS, reply
    await assert_service_answers_ping(alice, service)


def _with_children(element: ET.Element) -> ET.Element:
    ET.SubElement(element, f"{{{NS_UNKNOWN}}}extra").text = ODD_TEXT
    ET.SubElement(element, f"{{{NS_UNKNOWN}}}empty")
    return element


async def test_iq_with_a_very_long_id_is_answered_with_that_id(alice, service):
    iq_id = "id-" + "\u00e9\U0001F600z" * 1500 + uuid.uuid4().hex
    xml = f"<iq type='get' id='{iq_id}' to='{service}'><ping xmlns='{NS_PING}'/></iq>"

    pending = asyncio.ensure_future(alice.send_raw_iq(xml, iq_id))
    await asyncio.sleep(0)
    flush_server_parser(alice)
    reply = await pending

    assert reply.get("type") == "result", ET.tostring(reply)[:500]
    assert reply.get("id") == iq_id
    await assert_service_answers_ping(alice, service)


@pytest.mark.parametrize("body,extra", [
    pytest.param("0123456789abcdef" * 6400, [], id="100-KB-body"),
    pytest.param(ODD_TEXT * 20, [], id="unicode-body"),
    pytest.param("with extensions", [_nested(16), ET.Element("{urn:example:ext}x", attr="z" * 20_000)],
                 id="unknown-extensions"),
])
async def test_odd_chat_message_bounces_and_the_link_survives(alice, service, body, extra):
    sent = alice.send_message(service, body, kind="chat", extra=extra)
    flush_server_parser(alice)

    bounce = await alice.expect_message(
        lambda m: m["type"] == "error" and m["id"] == sent["id"], what="message error")
    assert_error(bounce, "cancel", "service-unavailable", service)
    await assert_service_answers_ping(alice, service)


async def test_odd_presence_to_the_service_leaves_the_link_up(alice, service):
    alice.send_presence(to=service, extra=[_nested(16)])
    alice.send_presence(to=service, kind="unavailable")

    await assert_service_answers_ping(alice, service)


async def test_a_too_deep_stanza_is_refused_with_policy_violation_and_the_link_survives(alice, service):
    # Parley's default limit is 32 levels (the IQ itself is level 1): deeper
    # stanzas are skipped without being built and refused to their sender.
    reply = await alice.send_iq(alice.new_iq("get", service, _nested(40)))

    assert_error(reply, "modify", "policy-violation", service)
    await assert_service_answers_ping(alice, service)


async def test_a_burst_of_odd_stanzas_from_two_users_leaves_the_link_up(alice, bob, service):
    pending = []
    for client in (alice, bob):
        for build in ODD_IQS.values():
            pending.append(asyncio.ensure_future(client.send_iq(client.new_iq("get", service, build()))))
        pending.append(asyncio.ensure_future(client.send_iq(client.new_iq("get", service, _nested(40)))))
        client.send_message(service, ODD_TEXT, kind="chat")
    await asyncio.sleep(0)
    for client in (alice, bob):
        flush_server_parser(client)

    replies = await asyncio.gather(*pending)

    for reply in replies:
        if reply["error"]["condition"] == "policy-violation":
            assert_error(reply, "modify", "policy-violation", service)
        else:
            assert_error(reply, "cancel", "service-unavailable", service)
    assert sum(1 for reply in replies if reply["error"]["condition"] == "policy-violation") == 2
    await assert_service_answers_ping(alice, service)
    await assert_service_answers_ping(bob, service)
