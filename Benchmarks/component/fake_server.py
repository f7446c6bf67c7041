"""Component-alone benchmark: this script plays the XMPP server. It accepts Parley's
XEP-0114 connection on loopback, completes the handshake, then routes K joins and M
groupchat messages to one room exactly as a server would, and counts the stanzas
Parley delivers. No real server and no clients: what is measured is Parley.

    python3 fake_server.py --parley .build/release/parley --occupants 200 --messages 2000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "bench-secret"
DOMAIN = "rooms.localhost"


def _iq_results(counter) -> int:
    return counter.iqs


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.presences = 0
        self.iqs = 0
        self.bytes = 0
        self.tail = b""
        self.changed = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self.bytes += len(data)
        # Count stanza starts across chunk boundaries.
        text = self.tail + data
        self.messages += text.count(b"<message ")
        self.presences += text.count(b"<presence ")
        self.iqs += text.count(b"<iq ")
        self.tail = text[-9:]
        self.tail = b"" if b"<" not in self.tail else self.tail[self.tail.rindex(b"<"):]
        self.changed.set()


async def wait_for(counter: Counter, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {what} (messages={counter.messages}, presences={counter.presences})")
        counter.changed.clear()
        try:
            await asyncio.wait_for(counter.changed.wait(), min(remaining, 1.0))
        except asyncio.TimeoutError:
            pass


async def run(args) -> int:
    loop = asyncio.get_running_loop()
    connected: asyncio.Future = loop.create_future()

    async def accept(reader, writer):
        if not connected.done():
            connected.set_result((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="parley-component-bench-"))
    (workdir / "parley.toml").write_text(
        f'[component]\ndomain = "{DOMAIN}"\nhost = "127.0.0.1"\nport = {port}\nsecret = "{SECRET}"\n'
        f'[storage]\ndatabase = "{workdir}/parley.sqlite"\n'
        # Faster than any person: flood control off, so it does not measure itself.
        '[limits]\nmessages_per_minute = 0\npresence_per_minute = 0\nsubject_changes_per_minute = 0\n')
    parley = subprocess.Popen([args.parley, "run", "--config", str(workdir / "parley.toml"), "--log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=open(workdir / "parley.log", "wb"))
    try:
        reader, writer = await asyncio.wait_for(connected, 20)
        header = await asyncio.wait_for(reader.readuntil(b">"), 10)
        if b"<?xml" in header:
            header = await asyncio.wait_for(reader.readuntil(b">"), 10)
        stream_id = "benchstream"
        writer.write(f"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                     f"xmlns:stream='http://etherx.jabber.org/streams' id='{stream_id}' from='{DOMAIN}'>".encode())
        handshake = await asyncio.wait_for(reader.readuntil(b"</handshake>"), 10)
        expected = hashlib.sha1((stream_id + SECRET).encode()).hexdigest().encode()
        if expected not in handshake:
            print("handshake mismatch", handshake, file=sys.stderr)
            return 1
        writer.write(b"<handshake/>")
        await writer.drain()

        counter = Counter()

        async def read_all():
            while True:
                data = await reader.read(1 << 20)
                if not data:
                    return
                counter.feed(data)
        read_task = asyncio.create_task(read_all())

        room = f"bench@{DOMAIN}"
        k, m = args.occupants, args.messages
        if args.keywords:
            # Keyword alert subscriptions (XEP-0060 at the service JID): made-up words that
            # never match, plus "fox" for two users, so each message alerts two people.
            syllables = ["ka", "lo", "mi", "ne", "ro", "ta", "vu", "zi"]
            subscriptions = []
            for n in range(args.keywords):
                word = "".join(syllables[(n >> (3 * i)) % 8] for i in range(5)) + str(n)
                keyword = "fox" if n < 2 else word
                subscriptions.append(
                    f"<iq from='w{n % 1000}@localhost/r' to='{DOMAIN}' type='set' id='k{n}'>"
                    f"<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='keywords/{keyword}' "
                    f"jid='w{n % 1000}@localhost'/></pubsub></iq>")
            answers_before = counter.bytes
            writer.write("".join(subscriptions).encode())
            await writer.drain()
            await wait_for(counter, lambda: counter.tail is not None and counter.bytes > answers_before
                           and _iq_results(counter) >= args.keywords, 120, "keyword subscriptions")
        # The owner creates the room and makes it an instant room; then the others join.
        start = time.perf_counter()
        writer.write(f"<presence from='u0@localhost/r' to='{room}/u0'><x xmlns='http://jabber.org/protocol/muc'/></presence>".encode())
        writer.write(f"<iq from='u0@localhost/r' to='{room}' type='set' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                     f"<x xmlns='jabber:x:data' type='submit'/></query></iq>".encode())
        for n in range(1, k):
            writer.write(f"<presence from='u{n}@localhost/r' to='{room}/u{n}'><x xmlns='http://jabber.org/protocol/muc'>"
                         f"<history maxstanzas='0'/></x></presence>".encode())
        await writer.drain()
        # Every joiner sees everyone before it and is seen by everyone after: k*k presences in all.
        await wait_for(counter, lambda: counter.presences >= k * k, 120, "all joins")
        join_seconds = time.perf_counter() - start
        messages_before = counter.messages

        body = "the quick brown fox jumps over the lazy dog " * 2
        # Built before the clock starts, so that the fake server is not what is measured.
        payload = "".join(
            f"<message from='u1@localhost/r' to='{room}' type='groupchat' id='m{n}'><body>{body}{n}</body></message>"
            for n in range(m)).encode()
        start = time.perf_counter()
        for offset in range(0, len(payload), 1 << 16):
            writer.write(payload[offset:offset + (1 << 16)])
            await writer.drain()
        # Each message alerts the two "fox" subscribers when there are keywords.
        expected = m * k + (2 * m if args.keywords >= 2 else 0)
        await wait_for(counter, lambda: counter.messages - messages_before >= expected, 600, "all deliveries")
        seconds = time.perf_counter() - start
        deliveries = counter.messages - messages_before
        print(f"component alone, K={k}, {args.keywords} keywords: joins {join_seconds * 1000:.0f} ms; {m} messages → {deliveries} deliveries "
              f"in {seconds:.2f} s = {deliveries / seconds:,.0f} deliveries/s ({m / seconds:,.0f} messages/s, "
              f"{counter.bytes / seconds / 1e6:.0f} MB/s out)")
        writer.write(b"</stream:stream>")
        read_task.cancel()
        return 0
    finally:
        parley.send_signal(signal.SIGTERM)
        try:
            parley.wait(10)
        except subprocess.TimeoutExpired:
            parley.kill()
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parley", default=str(Path(__file__).resolve().parents[2] / ".build/release/parley"))
    parser.add_argument("--occupants", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--keywords", type=int, default=0, help="keyword alert subscriptions to make first")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
