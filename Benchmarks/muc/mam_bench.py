#!/usr/bin/env python3
"""MAM benchmark: the round trip of an XEP-0313 query for the last page of 100 messages of a
room, through one private Prosody, for Parley (rooms.localhost, external component) and for
Prosody's own mod_muc + mod_muc_mam on SQLite (mam.localhost, storage = "sql"), with the same
archive size in both: R rooms of M/R messages each (default 100 rooms, 1,000,000 messages).

Filling:
  Parley   `archive-bench DB M R` generates the archive in Parley's own schema (cached at
           --parley-archive and reused; about 90 s for 1,000,000), copied into the run
           directory as parley.sqlite. The queried room is created by an owner joining
           (history maxstanzas='0') and submitting the instant-room form.
  Prosody  the queried room is created the same way (persistent), a few real messages are
           sent and the rows Prosody archives are read back to learn its exact format; then
           Prosody (and Parley) stop, the learned rows are deleted, M rows are inserted into
           `prosodyarchive` (host, user = room node, store 'muc_log', key = UUID, when,
           with 'message<groupchat', type 'xml', value = the serialized stanza) and the
           stack starts again.

Both rooms are checked through MAM (the <count> in <fin>, and by paging back through the
whole room) before measuring. Then Q queries per service, alternating the order each round:
time from sending the query until the IQ result with <fin/> has arrived after the 100
result messages; median, p95 and the Parley/Prosody ratio, plus the CPU each server used.

Run it through Benchmarks/run-mam-benchmark.sh, or `python3 Benchmarks/muc/mam_bench.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Interop"))
sys.path.insert(0, str(HERE))

from harness import HarnessError, Stack, StackSettings, wait_for_component  # noqa: E402
from rawclient import ClientError, RawClient  # noqa: E402
from bench import BENCH_LIMITS, cpu_seconds, fmt_mib, machine_busy_seconds, machine_facts, pct, rss_kib  # noqa: E402

PARLEY_DOMAIN = "rooms.localhost"
PROSODY_MAM_DOMAIN = "mam.localhost"
SERVICES = {"parley": ("Parley", PARLEY_DOMAIN), "prosody": ("Prosody", PROSODY_MAM_DOMAIN)}
PASSWORD = "bench-secret"
NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
JOIN_NO_HISTORY = "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>"
INSTANT_ROOM = ("<query xmlns='http://jabber.org/protocol/muc#owner'>"
                "<x xmlns='jabber:x:data' type='submit'/></query>")
PROSODY_DB_NAME = "prosody.sqlite"   # relative to Prosody's data_path

SELF_OR_ERROR = re.compile(rb"code=['\"]110['\"]|<presence\b[^>]*\btype=['\"]error['\"].*?</presence>", re.S)
RESULT_TAG = re.compile(rb"<result\b[^>]*\bid=['\"]([^'\"]+)['\"]")
COUNT_TAG = re.compile(rb"<count>(\d+)</count>")
FIRST_TAG = re.compile(rb"<first\b[^>]*>([^<]+)</first>")
LAST_TAG = re.compile(rb"<last>([^<]+)</last>")
COMPLETE_ATTR = re.compile(rb"<fin\b[^>]*\bcomplete=['\"](true|1)['\"]")

# Words for the generated Prosody bodies (the same vocabulary as Parley's archive-bench).
WORDS = ("the release build deploy outage meeting review please thanks tomorrow today server client "
         "database backup restore monitoring alert latency throughput customer ticket sprint roadmap design "
         "café naïve résumé über straße").split()


class BenchFailed(Exception):
    pass


# -- CPU, precise ----------------------------------------------------------------------------

def cpu_ns(pid: int) -> int | None:
    """Time on CPU of all live threads of `pid`, in ns (/proc/PID/task/*/schedstat)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


# -- one MAM query on a raw client ------------------------------------------------------------

class QuerySink:
    """Collects a client's bytes and notes when the IQ with `iq_id` has fully arrived."""

    def __init__(self, iq_id: str):
        self.buf = bytearray()
        self.start_re = re.compile(rb"<iq\b[^>]*\bid=['\"]" + re.escape(iq_id.encode()) + rb"['\"][^>]*?(/?)>")
        self.scan_from = 0
        self.iq_start: int | None = None
        self.iq_end: int | None = None
        self.self_closing = False
        self.t_done: float | None = None
        self.done = asyncio.Event()

    def __call__(self, data: bytes, now: float) -> None:
        self.buf += data
        if self.iq_start is None:
            m = self.start_re.search(self.buf, self.scan_from)
            if m is None:
                self.scan_from = max(0, len(self.buf) - 512)
                return
            self.iq_start = m.start()
            if m.group(1) == b"/":
                self.iq_end = m.end()
            else:
                self.scan_from = m.end()
        if self.iq_end is None:
            i = self.buf.find(b"</iq>", self.scan_from)
            if i < 0:
                self.scan_from = max(self.iq_start, len(self.buf) - 8)
                return
            self.iq_end = i + 5
        self.t_done = now
        self.done.set()


async def mam_query(client: RawClient, room: str, iq_id: str, rsm: str, timeout: float) -> dict:
    """Send one MAM query and wait for its IQ answer. Returns timing and what came back."""
    sink = QuerySink(iq_id)
    client.sink = sink
    stanza = (f"<iq type='set' to='{room}' id='{iq_id}'><query xmlns='{NS_MAM}' queryid='q'>"
              f"<set xmlns='{NS_RSM}'>{rsm}</set></query></iq>").encode()
    t0 = time.perf_counter()
    client.send(stanza)
    try:
        await asyncio.wait_for(sink.done.wait(), timeout)
    except asyncio.TimeoutError:
        tail = bytes(sink.buf[-400:]).decode(errors="replace")
        raise BenchFailed(f"MAM query {iq_id} to {room}: no IQ answer within {timeout:.0f} s "
                          f"({len(sink.buf)} bytes came, last: {tail!r})") from None
    finally:
        client.collect()
    if client.closed:
        raise BenchFailed(f"MAM query {iq_id} to {room}: the connection closed")
    before = bytes(sink.buf[:sink.iq_start])
    iq = bytes(sink.buf[sink.iq_start:sink.iq_end])
    if b"type='result'" not in iq and b'type="result"' not in iq:
        raise BenchFailed(f"MAM query {iq_id} to {room} failed: {iq.decode(errors='replace')[:800]}")
    if b"type='error'" in before or b'type="error"' in before:
        i = before.find(b"type='error'")
        raise BenchFailed(f"MAM query {iq_id} to {room}: an error stanza came with the results: "
                          f"{before[max(0, i - 300): i + 400].decode(errors='replace')}")
    ids = [m.group(1).decode() for m in RESULT_TAG.finditer(before)]
    count = COUNT_TAG.search(iq)
    first = FIRST_TAG.search(iq)
    last = LAST_TAG.search(iq)
    return {
        "rtt_ms": (sink.t_done - t0) * 1e3,
        "results": len(ids), "ids": ids,
        "count": int(count.group(1)) if count else None,
        "first": first.group(1).decode() if first else None,
        "last": last.group(1).decode() if last else None,
        "complete": bool(COMPLETE_ATTR.search(iq)),
        "bytes": len(sink.buf),
    }


async def enter_room(client: RawClient, room: str, nick: str, timeout: float = 15.0) -> None:
    """Join without history, then submit the instant-room form (creates, or just reconfigures)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    client.collect()
    client.presence(f"{room}/{nick}", payload=JOIN_NO_HISTORY)
    m = await client.wait_for(SELF_OR_ERROR, deadline, f"self-presence from {room}")
    if b"110" not in m.group(0):
        raise BenchFailed(f"joining {room}: {m.group(0).decode(errors='replace')}")
    iq_id = "cfg-" + room.replace("@", "-")
    client.send(f"<iq type='set' to='{room}' id='{iq_id}'>{INSTANT_ROOM}</iq>")
    reply = re.compile(rb"<iq\b[^>]*\bid=['\"]" + re.escape(iq_id.encode()) + rb"['\"][^>]*>")
    m = await client.wait_for(reply, deadline, f"instant-room reply from {room}")
    if b"type='result'" not in m.group(0) and b'type="result"' not in m.group(0):
        raise BenchFailed(f"instant-room form refused by {room}: {bytes(client.buf[m.start():m.start() + 600])!r}")
    client.collect()


class QuickAckClient(RawClient):
    """RawClient that re-arms TCP_QUICKACK after every read (Linux clears it), so that the
    client's delayed ACKs (40 ms) cannot hold back a server's Nagle-delayed last segment."""

    def data_received(self, data: bytes) -> None:
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except (OSError, AttributeError):
                pass
        super().data_received(data)


QUICKACK = False


async def login(user: str, port: int) -> RawClient:
    client = (QuickAckClient if QUICKACK else RawClient)(user, PASSWORD, resource="mam")
    await client.login("127.0.0.1", port, timeout=30.0)
    return client


# -- Parley's archive -------------------------------------------------------------------------

def parley_counts(path: Path, room: str) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = db.execute("SELECT count(*) FROM archive").fetchone()[0]
        in_room = db.execute("SELECT count(*) FROM archive WHERE room = ?", (room,)).fetchone()[0]
    finally:
        db.close()
    return total, in_room


def prepare_parley_archive(args, run_dir: Path, room: str) -> dict:
    cache = args.parley_archive
    info = {}
    if not cache.exists():
        if not args.archive_bench_bin.is_file():
            raise BenchFailed(f"no archive-bench at {args.archive_bench_bin} and no archive at {cache}")
        cache.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating Parley's archive: {args.archive_bench_bin} {cache} {args.messages} {args.rooms}", flush=True)
        t0 = time.perf_counter()
        out = subprocess.run([str(args.archive_bench_bin), str(cache), str(args.messages), str(args.rooms)],
                             capture_output=True, text=True, timeout=args.generate_timeout,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise BenchFailed(f"archive-bench failed ({out.returncode}): {out.stderr[-2000:]}{out.stdout[-2000:]}")
        info["generated_s"] = time.perf_counter() - t0
        for line in out.stdout.splitlines():
            if line.startswith("generated in"):
                print(f"  archive-bench: {line}", flush=True)
    # Fold the WAL into the main file so that one file is the whole archive.
    db = sqlite3.connect(str(cache))
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    total, in_room = parley_counts(cache, room)
    per_room = args.messages // args.rooms
    if total != args.messages or in_room != per_room:
        raise BenchFailed(f"{cache} holds {total} messages ({in_room} in {room}), not {args.messages} "
                          f"({per_room} per room): delete it or point --parley-archive elsewhere")
    dest = run_dir / "parley.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    shutil.copyfile(cache, dest)
    info["copy_s"] = time.perf_counter() - t0
    info["bytes"] = dest.stat().st_size
    print(f"Parley archive: {cache} ({total:,} messages, {in_room:,} in {room}, "
          f"{info['bytes'] / 2**20:.0f} MiB) copied to {dest} in {info['copy_s']:.1f} s", flush=True)
    return info


# -- Prosody's archive ------------------------------------------------------------------------

def occupant_id(room: str, nick: str) -> str:
    return base64.b64encode(hashlib.sha256(f"{room}/{nick}".encode()).digest()).decode()


def prosody_value(room: str, nick: str, msg_id: str, body: str, occ_id: str) -> str:
    """A groupchat message as mod_muc_mam stores it (type 'xml'), in the form learned from
    Prosody's own rows (see check_format)."""
    return (f"<message to='{room}' xml:lang='en' from='{room}/{nick}' type='groupchat' id='{msg_id}'>"
            f"<body>{escape(body)}</body>"
            f"<occupant-id id='{occ_id}' xmlns='urn:xmpp:occupant-id:0'/></message>")


def element_shape(el: ET.Element):
    return (el.tag, sorted(el.attrib.items()), (el.text or "").strip(),
            [element_shape(c) for c in el])


EXPECTED_COLUMNS = ["sort_id", "host", "user", "store", "key", "when", "with", "type", "value"]


def check_format(db: sqlite3.Connection, room_node: str, sent: list[tuple[str, str]]) -> list[tuple]:
    """Prosody's rows for the messages we sent, checked against the generator: same columns,
    same constants, and a value that parses to the same XML."""
    columns = [r[1] for r in db.execute("PRAGMA table_info(prosodyarchive)")]
    if columns != EXPECTED_COLUMNS:
        raise BenchFailed(f"prosodyarchive has columns {columns}, expected {EXPECTED_COLUMNS}")
    rows = db.execute('SELECT "sort_id","host","user","store","key","when","with","type","value" '
                      'FROM prosodyarchive WHERE "host" = ? AND "user" = ? ORDER BY sort_id',
                      (PROSODY_MAM_DOMAIN, room_node)).fetchall()
    if len(rows) != len(sent):
        raise BenchFailed(f"Prosody archived {len(rows)} rows for {room_node}, expected {len(sent)}")
    room = f"{room_node}@{PROSODY_MAM_DOMAIN}"
    for row, (msg_id, body) in zip(rows, sent):
        _, host, user, store, key, when, with_, type_, value = row
        problems = []
        if store != "muc_log" or with_ != "message<groupchat" or type_ != "xml":
            problems.append(f"store/with/type {store!r} {with_!r} {type_!r}")
        if not isinstance(when, int):
            problems.append(f"'when' is {type(when).__name__}, not an integer")
        try:
            uuid.UUID(key)
        except ValueError:
            problems.append(f"key {key!r} is not a UUID")
        real = ET.fromstring(value)
        occ = real.find("{urn:xmpp:occupant-id:0}occupant-id")
        nick = (real.get("from") or "/").split("/", 1)[1]
        ours = ET.fromstring(prosody_value(room, nick, msg_id, body, occ.get("id") if occ is not None else ""))
        if element_shape(real) != element_shape(ours):
            problems.append(f"value differs:\n  Prosody:   {value}\n  generated: "
                            f"{prosody_value(room, nick, msg_id, body, occ.get('id') if occ is not None else '')}")
        if problems:
            raise BenchFailed("the generated rows would not match Prosody's format: " + "; ".join(problems))
    return rows


def fill_prosody(db_path: Path, messages: int, rooms: int, seed: int) -> dict:
    """Insert `messages` rows, room by room interleaved (message i in room i % rooms), as
    Parley's archive-bench does; timestamps one second apart, ending now."""
    rng = random.Random(seed)
    db = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1000000")   # 1 GB page cache for this connection only
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            db.execute("PRAGMA journal_mode = MEMORY")   # not persistent: Prosody's own mode stays
        base = int(time.time()) - messages
        room_names = [f"room{r}" for r in range(rooms)]
        occ = {(r, n): occupant_id(f"{room_names[r]}@{PROSODY_MAM_DOMAIN}", f"user{n}")
               for r in range(rooms) for n in range(37)}

        def rows():
            for i in range(messages):
                r = i % rooms
                node = room_names[r]
                body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24)))
                if i % 10_007 == 0:
                    body += " zanzibar"
                nick = f"user{i % 37}"
                value = prosody_value(f"{node}@{PROSODY_MAM_DOMAIN}", nick, f"m{i}", body, occ[(r, i % 37)])
                yield (PROSODY_MAM_DOMAIN, node, "muc_log", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                       base + i, "message<groupchat", "xml", value)

        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany('INSERT INTO prosodyarchive ("host","user","store","key","when","with","type","value") '
                       'VALUES (?,?,?,?,?,?,?,?)', rows())
        db.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        total = db.execute('SELECT count(*) FROM prosodyarchive WHERE "host" = ? AND "store" = ?',
                           (PROSODY_MAM_DOMAIN, "muc_log")).fetchone()[0]
    finally:
        db.close()
    return {"fill_s": elapsed, "rows": total, "bytes": db_path.stat().st_size, "journal_mode": mode}


def with_prosody_mam(stack: Stack, max_results: int) -> None:
    """Add Prosody's own MUC with mod_muc_mam on SQLite at mam.localhost to this run's config."""
    original = stack.prosody.write_config

    def write_config():
        path = original()
        text = path.read_text()
        text += (
            "\n-- Added by Benchmarks/muc/mam_bench.py: Prosody's own MUC with its archive in SQLite.\n"
            f'Component "{PROSODY_MAM_DOMAIN}" "muc"\n'
            '\tmodules_enabled = { "muc_mam" }\n'
            '\tstorage = "sql"\n'
            f'\tsql = {{ driver = "SQLite3", database = "{PROSODY_DB_NAME}" }}\n'
            "\trestrict_room_creation = false\n"
            "\tmuc_room_locking = true\n"
            "\tmuc_room_default_persistent = true\n"
            "\t-- mod_muc_mam caps <max> at 50 by default; the benchmark asks for 100.\n"
            f"\tmax_archive_query_results = {int(max_results)}\n"
            "\t-- The generated messages are up to M seconds old: no expiry during the run.\n"
            '\tmuc_log_expires_after = "never"\n')
        path.write_text(text)
        return path

    stack.prosody.write_config = write_config


# -- the run ------------------------------------------------------------------------------------

async def learn_prosody_format(args, room: str) -> list[tuple[str, str]]:
    """Create the Prosody room (persistent) and have Prosody archive a few real messages."""
    client = await login("u0000", args.c2s_port)
    try:
        await enter_room(client, room, "owner")
        sent = [(f"learn{i}", f"learning {i} <&> café") for i in range(3)]
        loop = asyncio.get_running_loop()
        for msg_id, body in sent:
            client.send(RawClient.groupchat(room, body, msg_id))
            await client.wait_for(re.compile(rb"id=['\"]" + msg_id.encode() + rb"['\"]"),
                                  loop.time() + 10, f"echo of {msg_id}")
        client.presence(f"{room}/owner", kind="unavailable")
        await asyncio.sleep(0.3)
    finally:
        client.close()
        await asyncio.sleep(0.1)
    return sent


async def verify_room(client: RawClient, service: str, room: str, expected: int, full: bool, timeout: float) -> dict:
    """The last page's <count>, and (full) every message by paging back to the start."""
    last = await mam_query(client, room, f"check-{service}-0", "<max>100</max><before/>", timeout)
    # Prosody 0.12.3's mod_muc_mam sends no <count> here (seen in practice), so the count is
    # checked where present and the paging below is what proves the room's size.
    if (last["count"] not in (None, expected)) or last["results"] != min(100, expected):
        raise BenchFailed(f"{SERVICES[service][0]} {room}: last page has {last['results']} results and "
                          f"count {last['count']}, expected 100 and {expected}")
    if last["count"] is None and not full:
        raise BenchFailed(f"{SERVICES[service][0]} {room}: no <count> in <fin>; the size can only be "
                          f"checked by paging (drop --no-full-check)")
    seen = set(last["ids"])
    first_count = last["count"]
    pages = 1
    if full:
        first = last["first"]
        t0 = time.perf_counter()
        while first and len(last["ids"]) == 100 and not last["complete"] and pages < expected // 100 + 5:
            last = await mam_query(client, room, f"check-{service}-{pages}",
                                   f"<max>100</max><before>{first}</before>", timeout)
            seen.update(last["ids"])
            first = last["first"]
            pages += 1
        if len(seen) != expected:
            raise BenchFailed(f"{SERVICES[service][0]} {room}: paging back through the room found "
                              f"{len(seen)} distinct messages in {pages} pages, expected {expected}")
        count = "no <count> in <fin>" if first_count is None else f"<count> {first_count}"
        print(f"  {SERVICES[service][0]:<7} {room}: {count}, {len(seen):,} distinct messages "
              f"in {pages} pages of 100 ({time.perf_counter() - t0:.1f} s)", flush=True)
    else:
        print(f"  {SERVICES[service][0]:<7} {room}: count {expected} (no paging check)", flush=True)
    return {"pages": pages, "distinct": len(seen), "count": first_count}


async def measure(args, stack: Stack, rooms: dict[str, str]) -> dict:
    pids = {"parley": stack.parley.process.pid, "prosody": stack.prosody.process.pid}
    client = await login("u0000", args.c2s_port)
    try:
        for svc in args.services:
            await enter_room(client, rooms[svc], "owner")
        print(f"\nchecking the rooms through MAM (room size {args.per_room:,}):", flush=True)
        checks = {svc: await verify_room(client, svc, rooms[svc], args.per_room, args.full_check,
                                         args.query_timeout)
                  for svc in args.services}
        # Quiet before measuring.
        await asyncio.sleep(1.0)
        samples: dict[str, list[dict]] = {svc: [] for svc in args.services}
        warm: dict[str, list[float]] = {svc: [] for svc in args.services}
        for w in range(args.warmup):
            for svc in args.services:
                r = await mam_query(client, rooms[svc], f"warm-{svc}-{w}", "<max>100</max><before/>",
                                    args.query_timeout)
                warm[svc].append(r["rtt_ms"])
        phase0 = {name: (cpu_seconds(pid), rss_kib(pid)) for name, pid in pids.items()}
        phase0["machine"] = machine_busy_seconds()
        phase0["client"] = time.process_time()
        t_phase = time.perf_counter()
        print(f"\nmeasuring {args.queries} queries per service, alternating:", flush=True)
        for q in range(args.queries):
            order = args.services if q % 2 == 0 else args.services[::-1]
            line = []
            for svc in order:
                c0 = {name: cpu_ns(pid) for name, pid in pids.items()}
                r = await mam_query(client, rooms[svc], f"mam-{svc}-{q}", "<max>100</max><before/>",
                                    args.query_timeout)
                c1 = {name: cpu_ns(pid) for name, pid in pids.items()}
                problems = stack.problems()
                if problems:
                    raise BenchFailed("; ".join(problems))
                if r["results"] != 100 or r["count"] not in (None, args.per_room):
                    raise BenchFailed(f"query {q} on {svc}: {r['results']} results, count {r['count']}")
                r["cpu_ms"] = {name: (c1[name] - c0[name]) / 1e6 if c0[name] is not None and c1[name] is not None
                               else float("nan") for name in pids}
                del r["ids"]
                samples[svc].append(r)
                line.append(f"{SERVICES[svc][0]} {r['rtt_ms']:7.2f} ms")
                await asyncio.sleep(args.pause)
            print(f"  [{q + 1:>2}] " + "   ".join(line), flush=True)
        phase1 = {name: (cpu_seconds(pid), rss_kib(pid)) for name, pid in pids.items()}
        phase1["machine"] = machine_busy_seconds()
        phase1["client"] = time.process_time()
        wall = time.perf_counter() - t_phase
    finally:
        client.close()
        await asyncio.sleep(0.2)
    return {"samples": samples, "warm": warm, "checks": checks, "phase0": phase0, "phase1": phase1,
            "wall": wall}


def report(args, result: dict, fills: dict) -> None:
    samples, warm = result["samples"], result["warm"]
    print(f"\n== MAM last page of 100 (<max>100</max><before/>), room of {args.per_room:,} messages, "
          f"archive of {args.messages:,} in {args.rooms} rooms; {args.queries} queries per service ==")
    header = (f"{'service':<30} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'max ms':>8} "
              f"{'warm-up ms':>14} {'bytes/answer':>12}")
    print(header)
    print("-" * len(header))
    stats = {}
    for svc in args.services:
        rtts = [s["rtt_ms"] for s in samples[svc]]
        stats[svc] = (pct(rtts, 50), pct(rtts, 95))
        label = "Parley (rooms.localhost)" if svc == "parley" else "Prosody mod_muc_mam (SQLite)"
        warm_s = ",".join(f"{w:.1f}" for w in warm[svc]) or "-"
        print(f"{label:<30} {stats[svc][0]:>10.2f} {stats[svc][1]:>8.2f} {min(rtts):>8.2f} {max(rtts):>8.2f} "
              f"{warm_s:>14} {int(pct([s['bytes'] for s in samples[svc]], 50)):>12}")
    print("(median and p95 are nearest-rank over the measured queries; warm-up queries are not counted)")
    if set(args.services) == {"parley", "prosody"}:
        r50 = stats["parley"][0] / stats["prosody"][0]
        r95 = stats["parley"][1] / stats["prosody"][1]
        verdict = "met" if r50 <= 0.5 else "NOT met"
        print(f"ratio Parley/Prosody: median {r50:.2f}, p95 {r95:.2f} "
              f"(target: median <= 0.50 x Prosody -> {verdict})")

    print("\n== CPU during the queries (schedstat of all threads, summed over each service's queries) ==")
    header = f"{'queries to':<10} {'Parley cpu ms':>14} {'Prosody cpu ms':>15} {'per query: Parley':>18} {'Prosody':>9}"
    print(header)
    print("-" * len(header))
    for svc in args.services:
        p = sum(s["cpu_ms"]["parley"] for s in samples[svc])
        q = sum(s["cpu_ms"]["prosody"] for s in samples[svc])
        n = len(samples[svc])
        print(f"{SERVICES[svc][0]:<10} {p:>14.1f} {q:>15.1f} {p / n:>18.2f} {q / n:>9.2f}")
    p0, p1 = result["phase0"], result["phase1"]
    ours = sum(p1[k][0] - p0[k][0] for k in ("parley", "prosody")) + (p1["client"] - p0["client"])
    print(f"whole measuring phase ({result['wall']:.2f} s wall, utime+stime): "
          f"Parley {p1['parley'][0] - p0['parley'][0]:.2f} s, Prosody {p1['prosody'][0] - p0['prosody'][0]:.2f} s, "
          f"client {p1['client'] - p0['client']:.2f} s, other processes "
          f"{(p1['machine'] - p0['machine']) - ours:.2f} s")
    print(f"VmRSS after: Parley {fmt_mib(p1['parley'][1])} MiB, Prosody {fmt_mib(p1['prosody'][1])} MiB")

    print("\n== filling ==")
    pa, pr = fills.get("parley", {}), fills.get("prosody", {})
    if pa:
        gen = f"generated in {pa['generated_s']:.0f} s, " if "generated_s" in pa else "reused from the cache, "
        print(f"Parley:  {args.messages:,} messages by archive-bench ({gen}copied in {pa['copy_s']:.1f} s), "
              f"database {pa['bytes'] / 2**20:.0f} MiB")
    if pr:
        print(f"Prosody: {pr['rows']:,} rows inserted in {pr['fill_s']:.1f} s "
              f"({pr['rows'] / pr['fill_s']:,.0f} rows/s), database {pr['bytes'] / 2**20:.0f} MiB")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True, help="directory for configs, data and logs")
    p.add_argument("--parley-bin", type=Path, default=REPO / ".build" / "release" / "parley")
    p.add_argument("--archive-bench-bin", type=Path, default=REPO / ".build" / "release" / "archive-bench")
    p.add_argument("--parley-archive", type=Path, default=Path("/tmp/parley-bench/archive-1m.sqlite"),
                   help="Parley archive made by archive-bench (generated if missing, reused otherwise)")
    p.add_argument("--messages", type=int, default=1_000_000, help="archive size M in each service")
    p.add_argument("--rooms", type=int, default=100, help="rooms R (M/R messages each)")
    p.add_argument("--queries", type=int, default=20, help="measured queries per service")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured queries per service first")
    p.add_argument("--pause", type=float, default=0.05, help="seconds between queries")
    p.add_argument("--no-full-check", dest="full_check", action="store_false",
                   help="check only <count>, do not page through the whole room before measuring")
    p.add_argument("--max-results", type=int, default=250,
                   help="Prosody's max_archive_query_results for the MUC host (its default, 50, is below 100)")
    p.add_argument("--quickack", action="store_true",
                   help="the client re-arms TCP_QUICKACK after each read: takes the 40 ms delayed-ACK "
                        "stalls on Prosody's c2s socket out of the round trips")
    p.add_argument("--services", default="parley,prosody")
    p.add_argument("--c2s-port", type=int, default=35232)
    p.add_argument("--component-port", type=int, default=35357)
    p.add_argument("--query-timeout", type=float, default=30.0)
    p.add_argument("--generate-timeout", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=20261125)
    p.add_argument("--parley-log-level", default="warning")
    p.add_argument("--prosody-log-level", default="warn")
    args = p.parse_args(argv)
    if args.messages % args.rooms or args.messages // args.rooms < 100:
        p.error("--messages must be a multiple of --rooms with at least 100 per room")
    args.per_room = args.messages // args.rooms
    args.services = [s.strip() for s in args.services.split(",") if s.strip()]
    for s in args.services:
        if s not in SERVICES:
            p.error(f"unknown service {s!r} (parley, prosody)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.parley_bin.is_file():
        print(f"error: no Parley binary at {args.parley_bin}", file=sys.stderr)
        return 2
    global QUICKACK
    QUICKACK = args.quickack
    run_dir = args.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for fact in machine_facts(args.parley_bin):
        print(fact)
    print(f"python sqlite3 (filling, checks): SQLite {sqlite3.sqlite_version}")
    room_node = f"room{args.rooms // 2}"
    rooms = {"parley": f"{room_node}@{PARLEY_DOMAIN}", "prosody": f"{room_node}@{PROSODY_MAM_DOMAIN}"}
    print(f"settings: archive {args.messages:,} messages in {args.rooms} rooms ({args.per_room:,} each) "
          f"per service; queried rooms {rooms['parley']} and {rooms['prosody']}; {args.queries} queries "
          f"per service after {args.warmup} warm-up; ports c2s {args.c2s_port} component {args.component_port}; "
          f"Prosody max_archive_query_results {args.max_results}; client TCP_QUICKACK "
          f"{'on' if args.quickack else 'off'}")
    print(f"run dir: {run_dir}", flush=True)

    settings = StackSettings(
        run_dir=run_dir, c2s_port=args.c2s_port, component_port=args.component_port,
        accounts={"u0000": PASSWORD, "u0001": PASSWORD},
        parley_bin=args.parley_bin.resolve(), parley_log_level=args.parley_log_level,
        prosody_log_level=args.prosody_log_level, parley_ready_timeout=60.0,
        parley_extra_config=BENCH_LIMITS)
    stack = Stack(settings)
    with_prosody_mam(stack, args.max_results)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    fills: dict = {}
    result = None
    try:
        if "parley" in args.services:
            fills["parley"] = prepare_parley_archive(args, run_dir, rooms["parley"])
        stack.up()
        print(f"stack up: Prosody pid {stack.prosody.process.pid}, Parley pid {stack.parley.process.pid}", flush=True)
        user, password = settings.probe_account
        wait_for_component(args.c2s_port, "localhost", user, password, PROSODY_MAM_DOMAIN, 15.0)
        if "prosody" in args.services:
            sent = asyncio.run(learn_prosody_format(args, rooms["prosody"]))
            db_path = stack.prosody.data_path / PROSODY_DB_NAME
            stack.down()
            db = sqlite3.connect(str(db_path))
            try:
                learned = check_format(db, room_node, sent)
                print(f"Prosody's format (one of {len(learned)} rows archived by Prosody itself, "
                      f"checked against the generator):\n  {learned[0]}")
                persistent = db.execute("SELECT count(*) FROM prosody WHERE host = ? AND store = 'persistent' "
                                        "AND key = ?", (PROSODY_MAM_DOMAIN, rooms["prosody"])).fetchone()[0]
                if not persistent:
                    raise BenchFailed(f"{rooms['prosody']} was not stored as a persistent room")
                db.execute('DELETE FROM prosodyarchive WHERE "host" = ? AND "user" = ?',
                           (PROSODY_MAM_DOMAIN, room_node))
                db.commit()
            finally:
                db.close()
            print(f"filling Prosody's archive {db_path} with {args.messages:,} rows ...", flush=True)
            fills["prosody"] = fill_prosody(db_path, args.messages, args.rooms, args.seed)
            print(f"  {fills['prosody']['rows']:,} rows in {fills['prosody']['fill_s']:.1f} s", flush=True)
            stack.up()
            print(f"stack up again: Prosody pid {stack.prosody.process.pid}, "
                  f"Parley pid {stack.parley.process.pid}", flush=True)
            wait_for_component(args.c2s_port, "localhost", user, password, PROSODY_MAM_DOMAIN, 15.0)
        result = asyncio.run(measure(args, stack, rooms))
    except (BenchFailed, HarnessError, ClientError, subprocess.TimeoutExpired) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(stack.describe_logs(40), file=sys.stderr)
        status = 4
    except KeyboardInterrupt as error:
        print(f"\ninterrupted ({error}); stopping", file=sys.stderr)
        status = 130
    finally:
        stack.down()
    if result is not None:
        report(args, result, fills)
        print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, path in (("parley", run_dir / "parley.log"), ("prosody", run_dir / "prosody.err")):
        if path.exists() and path.stat().st_size > 0:
            lines = [l for l in path.read_text(errors="replace").splitlines() if not l.startswith("--- harness:")]
            if lines:
                print(f"\nnote: {path} has {len(lines)} line(s); last ones:")
                print("\n".join("    " + l[:300] for l in lines[-15:]))
    return status


if __name__ == "__main__":
    sys.exit(main())
