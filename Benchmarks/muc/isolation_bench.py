#!/usr/bin/env python3
"""Isolation benchmark: does one user searching a 1,000,000-message archive in a loop slow
down the messages of another room? Through one private Prosody with Parley attached.

  archive  `archive-bench DB 1000000 100` (cached, as for the MAM benchmark), copied in as
           Parley's database: 100 persistent rooms of 10,000 messages.
  rooms    a quiet room B with a sender and a receiver; one archive room A for the searcher.
  phases   1. baseline: the sender sends M messages to B, one every --interval s; the time
              from sending to the receiver's copy is the delivery latency.
           2. the same while the searcher runs full-text MAM queries on A back to back, one
              in flight, for a word in about a third of all messages (the expensive case).
           3. alone again (the first phase also warms SQLite's cache).
Prints p50/p99 delivery latency of both phases, their ratio (target < 2 for p99, issue
"Hostile users" §7), and the searches' count and latency. Query rate limits are lifted
([limits] query_burst = 0) so that the loop really loops. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mam_bench import (BenchFailed, NS_MAM, enter_room, login, prepare_parley_archive,  # noqa: E402
                       REPO, Stack, StackSettings, PASSWORD, HarnessError, ClientError, BENCH_LIMITS,
                       machine_facts, wait_for_component)

PARLEY_DOMAIN = "rooms.localhost"
FIN = re.compile(rb"<iq\b[^>]*\bid=['\"](search-\d+)['\"][^>]*>")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def join_only(client, room: str, nick: str) -> None:
    """Enter an existing room (no history) and wait for the self-presence."""
    client.collect()
    client.presence(f"{room}/{nick}", payload="<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>")
    deadline = asyncio.get_running_loop().time() + 15
    await client.wait_for(re.compile(rb"code=['\"]110['\"]"), deadline, f"self-presence from {room}")
    client.collect()


async def deliveries(sender, receiver, room: str, count: int, interval: float, tag: str) -> list[float]:
    """Latency (ms) from each message sent by `sender` to its copy at `receiver`."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    pattern = re.compile(rb"<body>(" + tag.encode() + rb"-\d+)</body>")
    done = asyncio.Event()
    pending = bytearray()

    def sink(data: bytes, now: float) -> None:
        pending.extend(data)
        for match in pattern.finditer(pending):
            key = match.group(1).decode()
            if key in sent:
                latencies.append((now - sent.pop(key)) * 1e3)
        del pending[:max(0, len(pending) - 256)]
        if len(latencies) >= count:
            done.set()

    receiver.sink = sink
    for index in range(count):
        key = f"{tag}-{index}"
        sent[key] = time.perf_counter()
        sender.send(sender.groupchat(room, key, key))
        await asyncio.sleep(interval)
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        raise BenchFailed(f"{tag}: {count - len(latencies)} of {count} messages never arrived") from None
    receiver.collect()
    return latencies


async def search_loop(searcher, room: str, word: str, stop: asyncio.Event, timings: list[float]) -> None:
    """Full-text MAM queries on `room`, one in flight, until `stop`."""
    state = {"id": None, "t0": 0.0}
    got = asyncio.Event()
    buffer = bytearray()

    def sink(data: bytes, now: float) -> None:
        buffer.extend(data)
        for match in FIN.finditer(buffer):
            if match.group(1).decode() == state["id"]:
                timings.append((now - state["t0"]) * 1e3)
                got.set()
        del buffer[:max(0, len(buffer) - 512)]

    searcher.sink = sink
    index = 0
    while not stop.is_set():
        index += 1
        state["id"], state["t0"] = f"search-{index}", time.perf_counter()
        got.clear()
        searcher.send(
            f"<iq type='set' to='{room}' id='search-{index}'><query xmlns='{NS_MAM}' queryid='s'>"
            f"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{NS_MAM}</value></field>"
            f"<field var='{{urn:xmpp:fulltext:0}}fulltext'><value>{word}</value></field></x>"
            f"<set xmlns='http://jabber.org/protocol/rsm'><max>50</max></set></query></iq>")
        try:
            await asyncio.wait_for(got.wait(), 60)
        except asyncio.TimeoutError:
            raise BenchFailed(f"search {index} got no answer within 60 s") from None
    searcher.collect()


async def measure(args) -> dict:
    sender, receiver, searcher = [await login(user, args.c2s_port) for user in ("u0000", "u0001", "u0002")]
    quiet = f"quiet@{PARLEY_DOMAIN}"
    archive_room = f"room{args.rooms // 2}@{PARLEY_DOMAIN}"
    await enter_room(sender, quiet, "Sender")
    await join_only(receiver, quiet, "Receiver")
    await join_only(searcher, archive_room, "Searcher")
    # Warm up both paths.
    await deliveries(sender, receiver, quiet, 50, args.interval, "warm")
    result = {"baseline": await deliveries(sender, receiver, quiet, args.messages, args.interval, "base")}
    stop = asyncio.Event()
    timings: list[float] = []
    loop_task = asyncio.create_task(search_loop(searcher, archive_room, args.word, stop, timings))
    await asyncio.sleep(1.0)   # the loop is running
    try:
        result["loaded"] = await deliveries(sender, receiver, quiet, args.messages, args.interval, "load")
    finally:
        stop.set()
        await loop_task
    result["searches"] = timings
    # Alone again: the first phase also pays for warming SQLite's cache over a fresh database.
    result["after"] = await deliveries(sender, receiver, quiet, args.messages, args.interval, "after")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--parley-bin", type=Path, default=REPO / ".build" / "release" / "parley")
    p.add_argument("--archive-bench-bin", type=Path, default=REPO / ".build" / "release" / "archive-bench")
    p.add_argument("--parley-archive", type=Path, default=Path("/tmp/parley-bench/archive-1m-rooms.sqlite"))
    p.add_argument("--messages-in-archive", dest="archive_messages", type=int, default=1_000_000)
    p.add_argument("--rooms", type=int, default=100)
    p.add_argument("--messages", type=int, default=400, help="messages per phase in the quiet room")
    p.add_argument("--interval", type=float, default=0.02, help="seconds between them")
    p.add_argument("--word", default="deploy", help="the searched word (archive-bench's common words)")
    p.add_argument("--c2s-port", type=int, default=35242)
    p.add_argument("--component-port", type=int, default=35367)
    p.add_argument("--generate-timeout", type=float, default=900.0)
    args = p.parse_args(argv)
    args.messages_total = args.archive_messages
    for fact in machine_facts(args.parley_bin):
        print(fact)
    run_dir = args.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = StackSettings(
        run_dir=run_dir, c2s_port=args.c2s_port, component_port=args.component_port,
        accounts={"u0000": PASSWORD, "u0001": PASSWORD, "u0002": PASSWORD},
        parley_bin=args.parley_bin.resolve(), parley_log_level="warning", prosody_log_level="warn",
        parley_ready_timeout=60.0, parley_extra_config=BENCH_LIMITS + "\nquery_burst = 0\n")
    stack = Stack(settings)
    status = 0
    try:
        args.messages, messages = args.archive_messages, args.messages
        prepare_parley_archive(args, run_dir, f"room{args.rooms // 2}@{PARLEY_DOMAIN}")
        args.messages = messages
        stack.up()
        user, password = settings.probe_account
        wait_for_component(args.c2s_port, "localhost", user, password, PARLEY_DOMAIN, 15.0)
        result = asyncio.run(measure(args))
    except (BenchFailed, HarnessError, ClientError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(stack.describe_logs(40), file=sys.stderr)
        return 4
    finally:
        stack.down()
    base, loaded, searches = result["baseline"], result["loaded"], result["searches"]
    print(f"\ndelivery latency in a quiet room, {args.messages} messages every {args.interval * 1000:.0f} ms:")
    print(f"  {'phase':<40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    after = result["after"]
    for label, values in (("alone (first)", base), (f"while full-text '{args.word}' loops", loaded),
                          ("alone (again)", after)):
        print(f"  {label:<40} {percentile(values, .5):8.2f} {percentile(values, .99):8.2f} {max(values):8.2f}")
    alone = min(percentile(base, .99), percentile(after, .99))
    print(f"  p99 ratio (loaded / the better alone phase): {percentile(loaded, .99) / alone:.2f}  (target < 2)")
    if searches:
        print(f"searches during the loaded phase: {len(searches)}, p50 {percentile(searches, .5):.1f} ms, "
              f"p99 {percentile(searches, .99):.1f} ms")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return status


if __name__ == "__main__":
    sys.exit(main())
