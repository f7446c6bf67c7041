"""Keyword alerts through Prosody: XEP-0060 at the service JID (rooms.localhost) on nodes
`keywords/<keyword>` — subscribe, subscriptions, options (pubsub#deliver, parley#rooms),
items (catch-up, newest first, with RSM), unsubscribe — and the live headline alerts for
archived room messages, only to subscribers who may read the room. Parley only.

Every test uses keywords of its own (a random suffix), because subscriptions and the
archive are kept for the whole session."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from harness.muc import (NS_CLIENT, assert_error, assert_result, bare, create_room, describe, disco_features,
                         disco_identities, forms_in, parse_xmpp_datetime, say, set_affiliation, xml_of)
from harness.parley_features import (NS_ALERTS, NS_DELAY, NS_FORWARD, NS_PUBSUB, NS_PUBSUB_ERRORS,
                                     NS_PUBSUB_EVENT, SUBSCRIBE_OPTIONS, Alert, alert_items,
                                     alert_options_get, alert_options_set, alert_subscribe, alert_subscriptions,
                                     alert_unsubscribe, alerts_received, expect_alert, keyword_node, new_room,
                                     ping_sync, pubsub, stanza_id_of, unique)
from harness.xmpp import NS_DISCO_ITEMS, Client

ALERTS_NODE = "urn:parley:alerts:0"


def _bare(client: Client) -> str:
    return bare(str(client.jid))


async def subscribed(client: Client, service: str, *keywords: str) -> None:
    for keyword in keywords:
        assert_result(await alert_subscribe(client, service, keyword), f"subscribing to {keyword}")


async def say_id(client: Client, room: str, body: str) -> str:
    return stanza_id_of(await say(client, room, body), room)


async def assert_no_alerts(client: Client, service: str, what: str, predicate=lambda a: True) -> None:
    """Nothing matching has arrived: a short pause, then a round trip to the service (its
    alerts come over the same link, in order), then a look at the mailbox."""
    await asyncio.sleep(0.3)
    await ping_sync(client, service)
    unexpected = [a for a in alerts_received(client) if predicate(a)]
    assert not unexpected, f"{what}: " + "; ".join(describe(a.stanza) for a in unexpected)


def assert_alert_shape(alert: Alert, service: str, room: str, nick: str, body: str, stanza_id: str,
                       keywords: list[str]) -> None:
    stanza = xml_of(alert.stanza)
    assert stanza.tag == f"{{{NS_CLIENT}}}message", describe(stanza)
    assert stanza.get("type") == "headline", describe(stanza)
    assert stanza.get("from") == service, describe(stanza)
    event = stanza.find(f"{{{NS_PUBSUB_EVENT}}}event")
    assert event is not None and len(event) == 1, describe(stanza)
    assert alert.node in {keyword_node(k) for k in keywords}, describe(stanza)
    assert alert.id == stanza_id, f"item id is not the message's stanza-id {stanza_id}: {describe(stanza)}"
    assert alert.alert.tag == f"{{{NS_ALERTS}}}alert", describe(stanza)
    assert alert.room == room, describe(stanza)
    assert alert.alert.get("keyword") in keywords, describe(stanza)
    assert sorted(alert.keywords) == sorted(keywords), describe(stanza)
    forwarded = alert.alert.find(f"{{{NS_FORWARD}}}forwarded")
    assert forwarded is not None, describe(stanza)
    delay = forwarded.find(f"{{{NS_DELAY}}}delay")
    assert delay is not None and delay.get("stamp"), describe(stanza)
    parse_xmpp_datetime(delay.get("stamp"))
    message = forwarded.find(f"{{{NS_CLIENT}}}message")
    assert message is not None, describe(stanza)
    assert message.get("from") == f"{room}/{nick}" and message.get("type") == "groupchat", describe(stanza)
    assert message.findtext(f"{{{NS_CLIENT}}}body") == body, describe(stanza)


async def public_room(owner: Client, service: str, label: str = "alerts", **config) -> str:
    room = new_room(service, label)
    await create_room(owner, room, "Alice", config=config or None)
    return room


# -- subscribing ---------------------------------------------------------------------------------------

async def test_subscribe_answers_subscribed_and_the_node_is_listed(bob, service):
    keyword = unique("outage")

    reply = await alert_subscribe(bob, service, keyword, jid="bob@localhost")

    assert_result(reply, "the subscription")
    subscription = xml_of(reply).find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}subscription")
    assert subscription is not None, describe(reply)
    assert subscription.get("node") == keyword_node(keyword), describe(reply)
    assert subscription.get("jid") == "bob@localhost", describe(reply)
    assert subscription.get("subscription") == "subscribed", describe(reply)

    reply, listed = await alert_subscriptions(bob, service)
    assert_result(reply)
    assert (keyword_node(keyword), "bob@localhost", "subscribed") in listed, describe(reply)

    reply = await bob.disco_items(service, node=ALERTS_NODE)
    assert_result(reply, "disco#items on the alerts node")
    query = xml_of(reply).find(f"{{{NS_DISCO_ITEMS}}}query")
    assert query is not None and query.get("node") == ALERTS_NODE, describe(reply)
    items = [(i.get("jid"), i.get("node")) for i in query.findall(f"{{{NS_DISCO_ITEMS}}}item")]
    assert (service, keyword_node(keyword)) in items, describe(reply)
    assert_result(await alert_unsubscribe(bob, service, keyword))


async def test_subscriptions_are_per_user(alice, bob, service):
    keyword = unique("private")
    await subscribed(bob, service, keyword)

    _reply, listed = await alert_subscriptions(alice, service)
    assert keyword_node(keyword) not in {node for node, _jid, _sub in listed}, listed
    reply = await alice.disco_items(service, node=ALERTS_NODE)
    assert keyword_node(keyword) not in describe(reply, 100000), describe(reply)


async def test_subscribing_someone_elses_jid_is_forbidden(bob, service):
    reply = await alert_subscribe(bob, service, unique("outage"), jid="alice@localhost")

    assert_error(reply, "auth", "forbidden")


async def test_service_disco_info_has_a_pubsub_identity_and_the_alerts_feature(alice, service):
    reply = await alice.disco_info(service)

    assert_result(reply)
    assert ("pubsub", "service") in {(c, t) for c, t, _name in disco_identities(reply)}, disco_identities(reply)
    assert ("conference", "text") in {(c, t) for c, t, _name in disco_identities(reply)}
    assert NS_ALERTS in disco_features(reply), sorted(disco_features(reply))


async def test_empty_keyword_node_is_bad_request(bob, service):
    for node in ("keywords/ ", "keywords/", "keywords/ \t "):
        subscribe = ET.Element(f"{{{NS_PUBSUB}}}subscribe", node=node, jid="bob@localhost")
        reply = await bob.set(service, pubsub(subscribe))
        assert_error(reply, "modify", "bad-request")


# -- live alerts ---------------------------------------------------------------------------------------------

async def test_live_alert_reaches_a_subscriber_outside_the_room_but_not_the_author(alice, bob, service):
    keyword = unique("outage")
    room = await public_room(alice, service)
    await subscribed(bob, service, keyword)
    await subscribed(alice, service, keyword)
    body = f"Major {keyword.upper()} in prod"

    stanza_id = await say_id(alice, room, body)

    alert = await expect_alert(bob, lambda a: a.id == stanza_id, what=f"the alert for {stanza_id}")
    assert_alert_shape(alert, service, room, "Alice", body, stanza_id, [keyword])
    assert alert.node == keyword_node(keyword)
    await assert_no_alerts(alice, service, "the author was alerted about her own message")
    await assert_no_alerts(bob, service, "a second alert for one message")


async def test_one_alert_when_two_keywords_match(alice, bob, service):
    first, second = unique("outage"), unique("prod")
    room = await public_room(alice, service)
    await subscribed(bob, service, first, second)
    body = f"Major {first.upper()} in {second}!"

    stanza_id = await say_id(alice, room, body)

    alert = await expect_alert(bob, lambda a: a.id == stanza_id)
    assert_alert_shape(alert, service, room, "Alice", body, stanza_id, [first, second])
    await assert_no_alerts(bob, service, "two alerts for one message", lambda a: a.id == stanza_id)


async def test_keywords_match_whole_words_case_and_accent_insensitively(alice, bob, service):
    tag = unique("")
    ops, cafe = f"ops{tag}", f"cafe{tag}"
    room = await public_room(alice, service)
    await subscribed(bob, service, ops, cafe)

    stops_id = await say_id(alice, room, f"the train stops{tag} here")
    devops_id = await say_id(alice, room, f"dev{ops} rocks")
    ops_id = await say_id(alice, room, f"{ops.upper()}, please look")
    cafe_id = await say_id(alice, room, f"Meet at the Caf\u00e9{tag} at noon")

    ops_alert = await expect_alert(bob, lambda a: a.id == ops_id, what="the alert for OPS…")
    assert ops_alert.keywords == [ops], describe(ops_alert.stanza)
    cafe_alert = await expect_alert(bob, lambda a: a.id == cafe_id, what="the alert for Café…")
    assert cafe_alert.keywords == [cafe], describe(cafe_alert.stanza)
    await assert_no_alerts(bob, service, "a keyword matched inside a word",
                           lambda a: a.id in (stops_id, devops_id))


async def test_members_only_room_alerts_only_those_who_may_read_it(alice, bob, carol, service):
    keyword = unique("outage")
    room = await public_room(alice, service, "alertsmembers", **{"muc#roomconfig_membersonly": True})
    assert_result(await set_affiliation(alice, room, _bare(carol), "member"), "carol's membership")
    await subscribed(bob, service, keyword)
    await subscribed(carol, service, keyword)

    hidden_id = await say_id(alice, room, f"{keyword} for members")

    await expect_alert(carol, lambda a: a.id == hidden_id, what="the member's alert")
    await assert_no_alerts(bob, service, "a non-member was alerted from a members-only room")

    assert_result(await set_affiliation(alice, room, _bare(bob), "member"), "bob's membership")
    visible_id = await say_id(alice, room, f"{keyword} again")
    alert = await expect_alert(bob, lambda a: a.id == visible_id, what="the alert after becoming a member")
    assert alert.room == room


# -- options -----------------------------------------------------------------------------------------------------

def _options_form(reply):
    options = xml_of(reply).find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}options")
    assert options is not None, describe(reply)
    found = forms_in(options)
    assert found, describe(reply)
    return options, found[0]


async def test_deliver_0_pauses_live_alerts_but_items_keep_the_matches(alice, bob, carol, service):
    keyword = unique("outage")
    room = await public_room(alice, service)
    await subscribed(bob, service, keyword)
    await subscribed(carol, service, keyword)

    reply = await alert_options_set(bob, service, keyword, {"pubsub#deliver": False})
    assert_result(reply, "pausing")
    reply = await alert_options_get(bob, service, keyword)
    assert_result(reply, "the options")
    options, form = _options_form(reply)
    assert options.get("node") == keyword_node(keyword) and options.get("jid") == "bob@localhost", describe(reply)
    assert form.form_type == SUBSCRIBE_OPTIONS and form.value("pubsub#deliver") in ("0", "false"), describe(reply)

    paused_id = await say_id(alice, room, f"{keyword} while paused")
    await expect_alert(carol, lambda a: a.id == paused_id, what="the control subscriber's alert")
    await assert_no_alerts(bob, service, "an alert while pubsub#deliver is 0")
    reply, items = await alert_items(bob, service, keyword)
    assert_result(reply, "items")
    assert [i.get("id") for i in items] == [paused_id], describe(reply)

    assert_result(await alert_options_set(bob, service, keyword, {"pubsub#deliver": True}), "resuming")
    resumed_id = await say_id(alice, room, f"{keyword} after the pause")
    await expect_alert(bob, lambda a: a.id == resumed_id, what="the alert after resuming")


async def test_parley_rooms_restricts_alerts_to_those_rooms(alice, bob, service):
    keyword = unique("outage")
    chosen = await public_room(alice, service, "chosen")
    other = await public_room(alice, service, "other")
    await subscribed(bob, service, keyword)

    reply = await alert_options_set(bob, service, keyword, {"parley#rooms": [chosen]}, types={"parley#rooms": "jid-multi"})
    assert_result(reply, "restricting to one room")
    reply = await alert_options_get(bob, service, keyword)
    assert_result(reply)
    _options, form = _options_form(reply)
    assert form.type == "form", describe(reply)
    assert form.values("parley#rooms") == [chosen], describe(reply)
    assert form.fields["parley#rooms"].type == "jid-multi", describe(reply)
    assert form.value("pubsub#deliver") in ("1", "true"), describe(reply)

    other_id = await say_id(alice, other, f"{keyword} elsewhere")
    chosen_id = await say_id(alice, chosen, f"{keyword} here")

    alert = await expect_alert(bob, lambda a: a.id == chosen_id, what="the alert from the chosen room")
    assert alert.room == chosen
    await assert_no_alerts(bob, service, "an alert from a room not in parley#rooms", lambda a: a.id == other_id)


async def test_options_of_a_node_one_is_not_subscribed_to(bob, service):
    reply = await alert_options_get(bob, service, unique("never"))

    assert_error(reply, "cancel", "unexpected-request")
    assert xml_of(reply).find(f"{{{NS_CLIENT}}}error/{{{NS_PUBSUB_ERRORS}}}not-subscribed") is not None, \
        describe(reply)


# -- catching up ------------------------------------------------------------------------------------------------------

async def test_items_catch_up_after_being_offline_newest_first_only_readable_rooms(alice, bob, connect, service):
    keyword = unique("outage")
    room = await public_room(alice, service)
    closed = await public_room(alice, service, "closed", **{"muc#roomconfig_membersonly": True})
    await subscribed(bob, service, keyword)
    await bob.disconnect()

    ids = [await say_id(alice, room, f"{keyword} number {n}") for n in range(3)]
    await say_id(alice, closed, f"{keyword} in a closed room")
    await say_id(alice, room, "nothing to see")

    bob = await connect("bob")
    reply, items = await alert_items(bob, service, keyword)

    assert_result(reply, "items")
    holder = xml_of(reply).find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items")
    assert holder.get("node") == keyword_node(keyword), describe(reply)
    assert [i.get("id") for i in items] == list(reversed(ids)), f"newest first, open room only: {describe(reply, 3000)}"
    for item, n in zip(items, (2, 1, 0)):
        alert = item.find(f"{{{NS_ALERTS}}}alert")
        assert alert is not None and alert.get("room") == room, describe(item)
        assert [k.text for k in alert.findall(f"{{{NS_ALERTS}}}keyword")] == [keyword], describe(item)
        body = alert.findtext(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message/{{{NS_CLIENT}}}body")
        assert body == f"{keyword} number {n}", describe(item)

    reply, items = await alert_items(bob, service, keyword, max_items=2)
    assert_result(reply)
    assert [i.get("id") for i in items] == [ids[2], ids[1]], describe(reply, 3000)


# -- unsubscribing ---------------------------------------------------------------------------------------------------

async def test_unsubscribe_stops_alerts_and_a_second_one_is_not_subscribed(alice, bob, carol, service):
    keyword = unique("outage")
    room = await public_room(alice, service)
    await subscribed(bob, service, keyword)
    await subscribed(carol, service, keyword)

    reply = await alert_unsubscribe(bob, service, keyword)
    assert_result(reply, "the unsubscription")
    _reply, listed = await alert_subscriptions(bob, service)
    assert keyword_node(keyword) not in {node for node, _jid, _sub in listed}, listed

    stanza_id = await say_id(alice, room, f"{keyword} after unsubscribing")
    await expect_alert(carol, lambda a: a.id == stanza_id, what="the control subscriber's alert")
    await assert_no_alerts(bob, service, "an alert after unsubscribing")

    reply = await alert_unsubscribe(bob, service, keyword)
    assert_error(reply, "cancel", "unexpected-request")
    assert xml_of(reply).find(f"{{{NS_CLIENT}}}error/{{{NS_PUBSUB_ERRORS}}}not-subscribed") is not None, \
        describe(reply)
