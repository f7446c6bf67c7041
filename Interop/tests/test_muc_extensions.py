"""Satellites of XEP-0045: XEP-0410 MUC self-ping and XEP-0421 occupant identifiers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.muc import (NS_OCCUPANT_ID, assert_error, assert_result, create_room, disco_features,
                         expect_groupchat, expect_presence, join, leave, occupant_id_of, say, sender,
                         status_codes)


async def test_occupant_pinging_its_own_occupant_jid_gets_a_result(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    reply = await bob.ping(f"{room}/Bob")

    assert_result(reply, "the self-ping")
    assert sender(reply) == f"{room}/Bob"


async def test_self_ping_from_a_non_occupant_is_not_acceptable(alice, bob, muc):
    # XEP-0410 §3.2 ("Server Response to a Non-Occupant"): not-acceptable, type cancel.
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    reply = await bob.ping(f"{room}/Bob")

    assert_error(reply, "cancel", "not-acceptable")


async def test_room_advertises_occupant_ids(alice, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    reply = await alice.disco_info(room)

    assert NS_OCCUPANT_ID in disco_features(reply), disco_features(reply)


async def test_occupant_ids_are_stable_per_user_and_differ_between_users(alice, bob, muc):
    room = muc.new_room()
    created = await create_room(alice, room, "Alice")
    entered = await join(bob, room, "Bob")

    alice_id = occupant_id_of(created.self_presence)
    bob_id = occupant_id_of(entered.self_presence)
    assert alice_id and bob_id, "no <occupant-id/> on the self-presences"
    assert alice_id != bob_id
    # Everyone sees the same id for a user, on presence and on messages.
    assert occupant_id_of(entered.presence_of("Alice")) == alice_id
    assert occupant_id_of(await expect_presence(alice, f"{room}/Bob", unavailable=False)) == bob_id
    reflection = await say(alice, room, "who am I?")
    assert occupant_id_of(reflection) == alice_id
    copy = await expect_groupchat(bob, room, lambda m: m["id"] == reflection["id"])
    assert occupant_id_of(copy) == alice_id

    # Leaving and coming back under another nick keeps the id.
    await leave(bob, room, "Bob")
    again = await join(bob, room, "Robert")
    assert occupant_id_of(again.self_presence) == bob_id
    assert occupant_id_of(await expect_presence(alice, f"{room}/Robert", unavailable=False)) == bob_id


async def test_a_forged_occupant_id_is_replaced_by_the_room(alice, bob, muc):
    room = muc.new_room()
    created = await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    forged = ET.Element(f"{{{NS_OCCUPANT_ID}}}occupant-id", id="forged")

    sent = bob.send_message(room, "I am Alice", kind="groupchat", extra=[forged])

    copy = await expect_groupchat(alice, room, lambda m: m["id"] == sent["id"])
    ids = [e.get("id") for e in copy.xml.findall(f"{{{NS_OCCUPANT_ID}}}occupant-id")]
    assert len(ids) == 1 and ids[0] not in ("forged", occupant_id_of(created.self_presence)), ids


@pytest.mark.muc_only("parley", reason="removing occupants whose client bounces is Parley's (XEP-0045 §15.6.2, 333)")
async def test_an_occupant_whose_client_bounces_stanzas_is_removed_with_333(alice, bob, muc):
    # When a client vanishes, its server answers the room's stanzas with errors from the
    # client's full JID. Bob's client plays its server here: it bounces a groupchat message
    # with service-unavailable, exactly as Prosody does for a resource that is gone.
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    bounce = ET.Element("{jabber:client}message", {"to": f"{room}/Alice", "type": "error"})
    error = ET.SubElement(bounce, "{jabber:client}error", {"type": "cancel"})
    ET.SubElement(error, "{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable")
    bob.xmpp.send_raw(ET.tostring(bounce, encoding="unicode"))

    gone = await expect_presence(alice, f"{room}/Bob", unavailable=True, codes=[333])
    assert 333 in status_codes(gone)

    # An error that does not mean the client is gone leaves the occupant alone.
    await join(bob, room, "Bob")
    ET.SubElement(error, "{urn:ietf:params:xml:ns:xmpp-stanzas}text").text = "quota"
    error.remove(error[0])
    ET.SubElement(error, "{urn:ietf:params:xml:ns:xmpp-stanzas}resource-constraint")
    error.set("type", "wait")
    bob.xmpp.send_raw(ET.tostring(bounce, encoding="unicode"))
    reply = await bob.ping(f"{room}/Bob")
    assert_result(reply, "the self-ping after a harmless error")


async def test_a_query_to_another_occupant_is_relayed_and_answered_from_its_occupant_jid(alice, bob, muc):
    # Clients ask occupants for vCards (avatars) and versions through occupant JIDs; the
    # room relays the query and the answer without revealing either real JID.
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")

    reply = await bob.version(f"{room}/Alice")

    assert_result(reply, "the relayed version query")
    assert sender(reply) == f"{room}/Alice"
    assert reply.xml.find("{jabber:iq:version}query/{jabber:iq:version}name").text, reply
