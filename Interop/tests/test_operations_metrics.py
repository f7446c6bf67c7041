"""What an admin's Prometheus sees: /metrics in the text format, parsed by the official
client library, with every documented family and figures that move when users act."""

from __future__ import annotations

import re
from pathlib import Path

from harness.metrics import scrape, value
from harness.muc import create_room, join, say
from harness.parley_features import mam_query, new_room

DOCS = Path(__file__).resolve().parents[2] / "Docs" / "operations.md"


def documented_metrics() -> set[str]:
    return set(re.findall(r"^\| `(parley_[a-z_]+)`", DOCS.read_text(), re.MULTILINE))


async def test_metrics_are_prometheus_text_with_every_documented_family(stack, service):
    content_type, families = await scrape(stack)
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    documented = documented_metrics()
    assert len(documented) >= 19, documented
    # The parser strips `_total` from counter family names.
    exported = {name + "_total" if family.type == "counter" else name for name, family in families.items()}
    assert documented <= exported, documented - exported
    assert exported <= documented, f"undocumented: {exported - documented}"
    assert all(family.documentation for family in families.values())
    assert value(families, "parley_component_link_up") == 1
    (build,) = families["parley_build_info"].samples
    assert build.value == 1 and re.match(r"\d+\.\d+", build.labels["version"]), build
    assert value(families, "parley_start_time_seconds") > 1.7e9


async def test_figures_move_when_users_act(stack, alice, bob, service):
    _, before = await scrape(stack)
    room = new_room(service, "metrics")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    for index in range(3):
        await say(alice, room, f"counted {index}")
    await mam_query(alice, room)
    # A message to a room that does not exist: an item-not-found error goes back.
    alice.send_message(new_room(service, "nowhere"), "hello?", kind="groupchat")
    await alice.expect_message(lambda m: m["type"] == "error")
    _, after = await scrape(stack)

    def grew(name, suffix="", **labels):
        return value(after, name, suffix, **labels) - value(before, name, suffix, **labels)

    assert grew("parley_messages_archived", "_total") >= 3
    assert grew("parley_archive_commit_seconds", "_count") >= 1
    assert grew("parley_archive_commit_batch_messages", "_sum") >= 3
    # Each message to two occupants, plus presences: at least six message copies.
    assert grew("parley_stanzas_sent", "_total", kind="message") >= 6
    assert grew("parley_stanzas_received", "_total", kind="message") >= 4
    assert grew("parley_stanzas_received", "_total", kind="presence") >= 2
    assert grew("parley_stanza_errors_sent", "_total", condition="item-not-found") >= 1
    assert grew("parley_archive_query_seconds", "_count", kind="mam") >= 1
    assert value(after, "parley_occupants") >= 2
    assert value(after, "parley_rooms_loaded") >= 1
    assert value(after, "parley_database_bytes") > 0
