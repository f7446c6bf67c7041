#!/usr/bin/env python3
"""Parley's MUC (rooms.localhost, external component) against Prosody's own mod_muc
(conference.localhost), side by side on one Prosody, on this machine.

Measured for each service, alternating the order from round to round:

  join      N occupants enter one room: the first creates it (self-presence, then an
            instant-room config submit), then the other N-1 send their presence at once;
            time until every one has its own self-presence (status 110).
  fan-out   with N occupants in the room, M groupchat messages from S senders, each
            keeping at most W messages in flight (sent but not yet echoed back);
            messages/s in, deliveries/s out (M x N), and latencies from send to the
            sender's echo, to a designated receiver, and to the last of the N deliveries.
            With W in flight these latencies are mostly queueing (about W / rate), so:
  latency   the same room, one sender, one message in flight at a time: unloaded
            latency to the echo, the receiver and the last delivery.
  history   a room with a subject and H messages; then occupants join one at a time:
            time from the join presence to the subject (which follows the history).

The clients are raw sockets (rawclient.py) that count bytes instead of parsing XML.
It prints figures and asserts nothing about speed. Run it through
Benchmarks/run-muc-benchmark.sh, or `python3 Benchmarks/muc/bench.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Interop"))
sys.path.insert(0, str(HERE))

from harness import HarnessError, Stack, StackSettings, wait_for_component  # noqa: E402
from harness.procs import format_tail  # noqa: E402
from rawclient import ClientError, RawClient  # noqa: E402

# Benchmarks send faster than any person: flood control off, so it does not measure itself.
BENCH_LIMITS = "[limits]\nmessages_per_minute = 0\npresence_per_minute = 0\nsubject_changes_per_minute = 0"

PARLEY_DOMAIN = "rooms.localhost"
PROSODY_MUC_DOMAIN = "conference.localhost"
SERVICES = {"parley": ("Parley", PARLEY_DOMAIN), "prosody": ("Prosody", PROSODY_MUC_DOMAIN)}
PASSWORD = "bench-secret"
MUC_X = "<x xmlns='http://jabber.org/protocol/muc'/>"
INSTANT_ROOM = ("<query xmlns='http://jabber.org/protocol/muc#owner'>"
                "<x xmlns='jabber:x:data' type='submit'/></query>")

SELF_110 = b"code='110'"
ERROR_ATTR = b"type='error'"
BODY_END = b"</body>"
BODY_ID = re.compile(rb"<body>(\d+)\.(\d+)</body>")
SELF_OR_ERROR = re.compile(rb"code=['\"]110['\"]|<presence\b[^>]*\btype=['\"]error['\"].*?</presence>", re.S)
SUBJECT_ECHO = re.compile(rb"</subject>|<subject/>|<subject\b[^>]*/>")
CARRY = 64


class PhaseTimeout(Exception):
    pass


class PhaseFailed(Exception):
    pass


# -- processes: memory and CPU --------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK   # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def io_syscalls(pid: int) -> tuple[int, int]:
    """(read-like, write-like) system calls so far, from /proc/PID/io."""
    values = {}
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                key, _, value = line.partition(":")
                values[key] = int(value)
    except (OSError, ValueError):
        return (0, 0)
    return (values.get("syscr", 0), values.get("syscw", 0))


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return float("nan")


class Monitor:
    def __init__(self, pids: dict[str, int], clients=()):
        self.pids = pids
        self.clients = clients

    def snapshot(self) -> dict:
        snap = {name: (rss_kib(pid), cpu_seconds(pid)) for name, pid in self.pids.items()}
        snap["client"] = (rss_kib(os.getpid()), time.process_time())
        snap["wall"] = (None, time.perf_counter())
        snap["machine"] = (None, machine_busy_seconds())
        snap["reads"] = (None, sum(c.reads for c in self.clients))
        snap["bytes"] = (None, sum(c.bytes_in for c in self.clients))
        for name, pid in self.pids.items():
            snap[name + "_io"] = io_syscalls(pid)
        return snap

    @staticmethod
    def other_cpu(before: dict, after: dict) -> float:
        """CPU used during a phase by processes other than Parley, Prosody and this one."""
        ours = sum(after[k][1] - before[k][1] for k in ("parley", "prosody", "client"))
        return (after["machine"][1] - before["machine"][1]) - ours

    async def quiesce(self, limit: float = 20.0, window: float = 0.5, threshold: float = 0.05) -> bool:
        """Wait until Parley and Prosody together use under `threshold` of a core."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            c0 = sum(cpu_seconds(p) or 0.0 for p in self.pids.values())
            await asyncio.sleep(window)
            c1 = sum(cpu_seconds(p) or 0.0 for p in self.pids.values())
            if (c1 - c0) / window < threshold:
                return True
        return False


# -- statistics --------------------------------------------------------------------

def pct(values, p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(p / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def med(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


# -- sinks: byte scanners installed on clients during a phase ------------------------

class ErrorWatch:
    """Counts `type='error'` in a client's bytes and keeps the first one seen."""

    def __init__(self):
        self.count = 0
        self.sample: bytes | None = None

    def scan(self, prev: bytes, chunk: bytes) -> int:
        n = chunk.count(ERROR_ATTR) - (prev.count(ERROR_ATTR) if prev else 0)
        if n > 0:
            self.count += n
            if self.sample is None:
                i = chunk.find(ERROR_ATTR)
                self.sample = chunk[max(0, i - 300): i + 500]
        return n


class MarkerRun:
    """N clients each waiting for one marker (self-presence on join or on leave)."""

    def __init__(self, count: int):
        self.remaining = count
        self.done = asyncio.Event()
        self.failed: list[str] = []

    def hit(self):
        self.remaining -= 1
        if self.remaining <= 0:
            self.done.set()

    def fail(self, text: str):
        self.failed.append(text)
        self.done.set()


class MarkerSink:
    def __init__(self, run: MarkerRun, client: RawClient, marker: bytes = SELF_110):
        self.run = run
        self.client = client
        self.marker = marker
        self.carry = b""
        self.t: float | None = None
        self.errors = ErrorWatch()

    def __call__(self, data: bytes, now: float) -> None:
        prev = self.carry
        chunk = prev + data if prev else data
        if self.t is None and self.marker in chunk:
            self.t = now
            self.run.hit()
        if self.errors.scan(prev, chunk) and self.t is None:
            self.run.fail(f"{self.client.jid}: {self.errors.sample.decode(errors='replace')}")
        self.carry = chunk[-CARRY:]


class FanoutRun:
    def __init__(self, n_clients: int, expected_each: int):
        self.expected_each = expected_each
        self.total = 0
        self.complete = 0
        self.n_clients = n_clients
        self.done = asyncio.Event()


class FanoutSink:
    """Counts `</body>` per chunk with its arrival time; optionally reads the body ids
    (`<sender>.<seq>`) to know echoes (a sender) or the room's order (the receiver)."""

    def __init__(self, run: FanoutRun, client: RawClient, parse_ids: bool = False, sender_index: int | None = None):
        self.run = run
        self.client = client
        self.parse_ids = parse_ids or sender_index is not None
        self.sender_index = sender_index
        self.carry = b""
        self.count = 0
        self.records: list[tuple[float, int]] = []
        self.ids: list[tuple[int, int, float]] = []
        self.echoed = 0
        self.echo_times: dict[int, float] = {}
        self.wake = asyncio.Event()
        self.complete = False
        self.errors = ErrorWatch()

    def __call__(self, data: bytes, now: float) -> None:
        prev = self.carry
        chunk = prev + data if prev else data
        n = chunk.count(BODY_END) - (prev.count(BODY_END) if prev else 0)
        if n:
            self.count += n
            self.records.append((now, self.count))
            if self.parse_ids:
                lp = len(prev)
                own = self.sender_index
                for m in BODY_ID.finditer(chunk):
                    if m.end() > lp:
                        s, q = int(m.group(1)), int(m.group(2))
                        self.ids.append((s, q, now))
                        if s == own:
                            self.echoed += 1
                            self.echo_times[q] = now
                if own is not None:
                    self.wake.set()
            run = self.run
            run.total += n
            if not self.complete and self.count >= run.expected_each:
                self.complete = True
                run.complete += 1
                if run.complete >= run.n_clients:
                    run.done.set()
        if self.errors.scan(prev, chunk) and self.sender_index is not None:
            self.wake.set()
        self.carry = chunk[-CARRY:]

    def arrival_times(self, m: int) -> list[float]:
        """Arrival time of the k-th body, k < m (chunk granularity)."""
        out = [float("nan")] * m
        k = 0
        for t, c in self.records:
            while k < c and k < m:
                out[k] = t
                k += 1
        return out


class HistorySink:
    def __init__(self):
        self.buf = bytearray()
        self.t_first_body: float | None = None
        self.t_subject: float | None = None
        self.history_count = 0
        self.done = asyncio.Event()

    def __call__(self, data: bytes, now: float) -> None:
        start = max(0, len(self.buf) - CARRY)
        self.buf += data
        if self.t_first_body is None and BODY_END in self.buf:
            self.t_first_body = now
        if self.t_subject is None:
            m = SUBJECT_ECHO.search(self.buf, start)
            if m:
                self.t_subject = now
                self.history_count = self.buf.count(BODY_END, 0, m.start())
                self.done.set()
        if ERROR_ATTR in self.buf[start:]:
            self.done.set()


# -- the benchmark -------------------------------------------------------------------

@dataclass
class PhaseRecord:
    round: int
    phase: str
    service: str
    metrics: dict
    before: dict
    after: dict
    quiet: bool = True


@dataclass
class Bench:
    args: argparse.Namespace
    stack: Stack
    monitor: Monitor
    clients: list[RawClient]
    records: list[PhaseRecord] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    # -- helpers --------------------------------------------------------------

    def check_alive(self, where: str) -> None:
        problems = self.stack.problems()
        if problems:
            raise PhaseFailed(f"{where}: {'; '.join(problems)}")

    async def wait_event(self, event: asyncio.Event, deadline: float, what: str, progress=None) -> None:
        """Wait for `event` until the deadline (loop time), checking every second that
        both servers are alive and, if `progress` is given, that it keeps moving."""
        loop = asyncio.get_running_loop()
        last, last_change = (progress() if progress else None), loop.time()
        while not event.is_set():
            self.check_alive(what)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PhaseTimeout(f"{what}: not done within the phase timeout ({self.args.phase_timeout:.0f} s)")
            try:
                await asyncio.wait_for(event.wait(), min(1.0, remaining))
            except asyncio.TimeoutError:
                pass
            if progress is not None and not event.is_set():
                now_value = progress()
                if now_value != last:
                    last, last_change = now_value, loop.time()
                elif loop.time() - last_change > self.args.stall_timeout:
                    raise PhaseTimeout(f"{what}: no progress for {self.args.stall_timeout:.0f} s "
                                       f"(stuck at {now_value})")

    def deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.args.phase_timeout

    async def run_phase(self, rnd: int, phase: str, service: str, coro) -> PhaseRecord:
        before = self.monitor.snapshot()
        try:
            metrics = await asyncio.wait_for(coro, self.args.phase_timeout + 30)
        except asyncio.TimeoutError:
            raise PhaseTimeout(f"round {rnd} {phase} on {service}: exceeded the phase timeout") from None
        except ClientError as error:
            raise PhaseFailed(f"round {rnd} {phase} on {service}: {error}") from None
        after = self.monitor.snapshot()
        self.check_alive(f"after round {rnd} {phase} on {service}")
        quiet = await self.monitor.quiesce()
        record = PhaseRecord(rnd, phase, service, metrics, before, after, quiet)
        self.records.append(record)
        print(self.describe(record), flush=True)
        if not quiet:
            self.anomalies.append(f"round {rnd} {phase} on {service}: servers still busy 20 s after the phase")
        return record

    def describe(self, r: PhaseRecord) -> str:
        m = r.metrics
        parts = [f"[r{r.round} {r.phase:<16} {SERVICES[r.service][0]:<7}]"]
        for key, value in m.items():
            if key.startswith("_"):
                continue
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
        res = []
        for name in ("parley", "prosody"):
            (rb, cb), (ra, ca) = r.before[name], r.after[name]
            res.append(f"{name} rss {fmt_mib(rb)}->{fmt_mib(ra)} MiB cpu {ca - cb:.2f}s")
        cpu_client = r.after["client"][1] - r.before["client"][1]
        res.append(f"client cpu {cpu_client:.2f}s")
        res.append(f"other processes cpu {Monitor.other_cpu(r.before, r.after):.2f}s")
        reads = r.after["reads"][1] - r.before["reads"][1]
        res.append(f"client reads {reads} ({(r.after['bytes'][1] - r.before['bytes'][1]) / max(1, reads):.0f} B/read)")
        return " ".join(parts) + "\n      " + "; ".join(res)

    # -- room operations ----------------------------------------------------------

    async def create_room(self, owner: RawClient, room: str, deadline: float) -> dict:
        """Owner joins (room created, locked), then submits the instant-room form."""
        t0 = time.perf_counter()
        owner.collect()
        owner.presence(f"{room}/n0", payload=MUC_X)
        match = await owner.wait_for(SELF_OR_ERROR, deadline, f"self-presence from {room}")
        if b"110" not in match.group(0):
            raise PhaseFailed(f"creating {room}: {match.group(0).decode(errors='replace')}")
        t_self = time.perf_counter()
        iq_id = f"cfg-{room.split('@')[0]}"
        owner.send(f"<iq type='set' to='{room}' id='{iq_id}'>{INSTANT_ROOM}</iq>")
        reply = re.compile(rb"<iq\b[^>]*\bid=['\"]" + re.escape(iq_id.encode()) + rb"['\"][^>]*>")
        match = await owner.wait_for(reply, deadline, f"instant-room reply from {room}")
        if b"type='result'" not in match.group(0) and b'type="result"' not in match.group(0):
            end = owner.buf.find(b"</iq>", match.start())
            raise PhaseFailed(f"instant room {room} refused: "
                              f"{bytes(owner.buf[match.start(): end + 5]).decode(errors='replace')}")
        t_done = time.perf_counter()
        return {"create_self_ms": (t_self - t0) * 1e3, "create_total_ms": (t_done - t0) * 1e3}

    async def enter_all(self, clients: list[RawClient], room: str, first_index: int, deadline: float,
                        what: str) -> tuple[float, list[float]]:
        """Every client sends its join presence at once; seconds until all have 110."""
        run = MarkerRun(len(clients))
        sinks = []
        for c in clients:
            sink = MarkerSink(run, c)
            c.sink = sink
            sinks.append(sink)
        t0 = time.perf_counter()
        for i, c in enumerate(clients):
            c.presence(f"{room}/n{first_index + i}", payload=MUC_X)
        await self.wait_event(run.done, deadline, what, progress=lambda: run.remaining)
        if run.failed:
            raise PhaseFailed(f"{what}: error stanza: {run.failed[0]}")
        return max(s.t for s in sinks) - t0, [s.t - t0 for s in sinks]

    async def leave_all(self, clients: list[RawClient], room: str, nicks: list[str], deadline: float,
                        what: str) -> float:
        run = MarkerRun(len(clients))
        sinks = []
        for c in clients:
            sink = MarkerSink(run, c)
            c.sink = sink
            sinks.append(sink)
        t0 = time.perf_counter()
        for c, nick in zip(clients, nicks):
            c.presence(f"{room}/{nick}", kind="unavailable")
        await self.wait_event(run.done, deadline, what, progress=lambda: run.remaining)
        if run.failed:
            raise PhaseFailed(f"{what}: error stanza: {run.failed[0]}")
        for c in clients:
            c.collect()
        return max(s.t for s in sinks) - t0

    # -- phases ---------------------------------------------------------------------

    async def phase_join(self, room: str, n: int) -> dict:
        deadline = self.deadline()
        clients = self.clients[:n]
        created = await self.create_room(clients[0], room, deadline)
        t_all, each = await self.enter_all(clients[1:], room, 1, deadline, f"join of {n} into {room}")
        return {"join_all_s": t_all, "join_p50_ms": pct(each, 50) * 1e3, **created}

    async def send_window(self, client: RawClient, sink: FanoutSink, room: str, sidx: int, count: int,
                          send_times: dict, deadline: float, what: str, window: int | None = None) -> None:
        window = window or self.args.window
        loop = asyncio.get_running_loop()
        sent = 0
        while sent < count:
            inflight = sent - sink.echoed
            if inflight >= window:
                sink.wake.clear()
                if sink.errors.count:
                    raise PhaseFailed(f"{what}: sender {client.jid} got an error: "
                                      f"{sink.errors.sample.decode(errors='replace')}")
                if sent - sink.echoed >= window:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise PhaseTimeout(f"{what}: sender {client.jid} stuck at {sink.echoed}/{sent} echoes")
                    try:
                        await asyncio.wait_for(sink.wake.wait(), min(remaining, self.args.stall_timeout))
                    except asyncio.TimeoutError:
                        if sink.echoed == sent - inflight:
                            raise PhaseTimeout(
                                f"{what}: sender {client.jid} got no echo for {self.args.stall_timeout:.0f} s "
                                f"({sink.echoed} of {sent} sent echoed)") from None
                continue
            batch = min(window - inflight, count - sent)
            now = time.perf_counter()
            parts = []
            for seq in range(sent, sent + batch):
                tag = f"{sidx}.{seq}"
                parts.append(RawClient.groupchat(room, tag, tag))
                send_times[(sidx, seq)] = now
            client.send(b"".join(parts))
            sent += batch
            await asyncio.sleep(0)

    async def phase_fanout(self, room: str, n: int, m: int, window: int | None = None, senders: int | None = None) -> dict:
        deadline = self.deadline()
        what = f"fan-out of {m} messages to {n} in {room}"
        senders = min(senders or self.args.senders, n - 1)
        clients = self.clients[:n]
        run = FanoutRun(n, m)
        sinks = []
        receiver_index = n - 1
        for i, c in enumerate(clients):
            sink = FanoutSink(run, c, parse_ids=(i == receiver_index),
                              sender_index=i if i < senders else None)
            c.sink = sink
            sinks.append(sink)
        per_sender = [m // senders + (1 if i < m % senders else 0) for i in range(senders)]
        send_times: dict[tuple[int, int], float] = {}
        t0 = time.perf_counter()
        tasks = [asyncio.ensure_future(self.send_window(clients[i], sinks[i], room, i, per_sender[i],
                                                        send_times, deadline, what, window))
                 for i in range(senders)]
        waiter = asyncio.ensure_future(self.wait_event(run.done, deadline, what, progress=lambda: run.total))
        try:
            done, _ = await asyncio.wait(tasks + [waiter], return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()
            await asyncio.gather(*tasks, waiter)
        except (PhaseTimeout, PhaseFailed) as error:
            short = [(s.client.jid.split("/")[0], s.count) for s in sinks if s.count < m]
            errors = [s for s in sinks if s.errors.count]
            detail = (f"; {len(short)} of {n} occupants short of {m} bodies "
                      f"(e.g. {short[:5]}), total {run.total}/{m * n}")
            if errors:
                detail += (f"; {sum(s.errors.count for s in errors)} error stanzas, first: "
                           f"{errors[0].errors.sample.decode(errors='replace')}")
            raise type(error)(str(error) + detail) from None
        finally:
            for t in tasks + [waiter]:
                t.cancel()
        # Deliveries may still be in flight for nobody; the counts are final once all reached m.
        t_last_echo = max(max(s.echo_times.values()) for s in sinks[:senders])
        t_last = max(s.records[-1][0] for s in sinks)
        echo_lat = [s.echo_times[q] - send_times[(i, q)] for i, s in enumerate(sinks[:senders])
                    for q in s.echo_times]
        receiver = sinks[receiver_index]
        recv_lat = [t - send_times[(s, q)] for s, q, t in receiver.ids]
        order = [(s, q) for s, q, _ in receiver.ids]
        last_lat = []
        if len(order) == m:
            arrivals = [s.arrival_times(m) for s in sinks]
            for k in range(m):
                last_lat.append(max(a[k] for a in arrivals) - send_times[order[k]])
        else:
            self.anomalies.append(f"{what}: designated receiver saw {len(order)} ids for {m} messages")
        # Sanity: every sender saw the room's messages in the receiver's order.
        for s in sinks[:senders]:
            seen = [(a, b) for a, b, _ in s.ids]
            if seen != order:
                self.anomalies.append(f"{what}: sender {s.client.jid} saw a different message order "
                                      f"than the receiver")
                break
        extra = [(s.client.jid, s.count) for s in sinks if s.count > m]
        errors = sum(s.errors.count for s in sinks)
        if extra:
            self.anomalies.append(f"{what}: {len(extra)} occupants got more than {m} bodies: {extra[:5]}")
        if errors:
            first = next(s for s in sinks if s.errors.count)
            self.anomalies.append(f"{what}: {errors} error stanzas, first: "
                                  f"{first.errors.sample.decode(errors='replace')}")
        for c in clients:
            c.collect()
        return {
            "in_msgs_s": m / (t_last_echo - t0),
            "out_deliv_s": m * n / (t_last - t0),
            "total_s": t_last - t0,
            "echo_p50_ms": pct(echo_lat, 50) * 1e3, "echo_p99_ms": pct(echo_lat, 99) * 1e3,
            "recv_p50_ms": pct(recv_lat, 50) * 1e3, "recv_p99_ms": pct(recv_lat, 99) * 1e3,
            "last_p50_ms": pct(last_lat, 50) * 1e3, "last_p99_ms": pct(last_lat, 99) * 1e3,
        }

    async def phase_leave(self, room: str, n: int) -> dict:
        deadline = self.deadline()
        t = await self.leave_all(self.clients[:n], room, [f"n{i}" for i in range(n)], deadline,
                                 f"{n} leaving {room}")
        return {"leave_all_s": t}

    async def phase_history(self, room: str) -> dict:
        deadline = self.deadline()
        owner = self.clients[0]
        what = f"history in {room}"
        created = await self.create_room(owner, room, deadline)
        owner.collect()
        owner.send(f"<message to='{room}' type='groupchat' id='subj'><subject>Benchmark subject</subject></message>")
        await owner.wait_for(SUBJECT_ECHO, deadline, f"subject echo from {room}")
        # Fill the archive / history with one occupant.
        h = self.args.history
        run = FanoutRun(1, h)
        sink = FanoutSink(run, owner, sender_index=0)
        owner.sink = sink
        send_times: dict = {}
        t0 = time.perf_counter()
        await self.send_window(owner, sink, room, 0, h, send_times, deadline, what + " (filling)")
        await self.wait_event(run.done, deadline, what + " (filling)", progress=lambda: run.total)
        fill_rate = h / (max(sink.echo_times.values()) - t0)
        owner.collect()
        await self.monitor.quiesce()
        times, first_msgs, counts = [], [], []
        for j in range(self.args.history_joiners):
            joiner = self.clients[1 + j]
            hs = HistorySink()
            joiner.sink = hs
            t1 = time.perf_counter()
            joiner.presence(f"{room}/h{j}", payload=MUC_X)
            await self.wait_event(hs.done, deadline, f"{what}: joiner {j}")
            if hs.t_subject is None:
                i = hs.buf.find(ERROR_ATTR)
                raise PhaseFailed(f"{what}: joiner {j} got an error: "
                                  f"{bytes(hs.buf[max(0, i - 300): i + 500]).decode(errors='replace')}")
            times.append(hs.t_subject - t1)
            first_msgs.append((hs.t_first_body or hs.t_subject) - t1)
            counts.append(hs.history_count)
            await self.leave_all([joiner], room, [f"h{j}"], deadline, f"{what}: joiner {j} leaving")
        await self.leave_all([owner], room, ["n0"], deadline, f"{what}: owner leaving")
        if len(set(counts)) != 1:
            self.anomalies.append(f"{what}: joiners got different history sizes {counts}")
        return {"fill_msgs_s": fill_rate, "subject_p50_ms": pct(times, 50) * 1e3,
                "subject_max_ms": max(times) * 1e3, "first_msg_p50_ms": pct(first_msgs, 50) * 1e3,
                "history_msgs": counts[0], "create_total_ms": created["create_total_ms"]}

    # -- the schedule -----------------------------------------------------------------

    async def run(self) -> None:
        order = list(self.args.services)
        sizes = list(zip(self.args.sizes, self.args.messages))
        for rnd in range(1, self.args.rounds + 1):
            svc_order = order if rnd % 2 == 1 else order[::-1]
            print(f"\n== round {rnd} of {self.args.rounds} (order: "
                  f"{', '.join(SERVICES[s][0] for s in svc_order)}) ==", flush=True)
            for n, m in sizes:
                rooms = {s: f"fan{n}-r{rnd}@{SERVICES[s][1]}" for s in svc_order}
                for s in svc_order:
                    await self.run_phase(rnd, f"join N={n}", s, self.phase_join(rooms[s], n))
                for s in svc_order:
                    await self.run_phase(rnd, f"fanout N={n} M={m}", s, self.phase_fanout(rooms[s], n, m))
                if self.args.latency_messages:
                    for s in svc_order:
                        await self.run_phase(rnd, f"latency N={n} W=1", s,
                                             self.phase_fanout(rooms[s], n, self.args.latency_messages, 1, 1))
                for s in svc_order:
                    await self.run_phase(rnd, f"leave N={n}", s, self.phase_leave(rooms[s], n))
            for s in svc_order if self.args.history else ():
                await self.run_phase(rnd, f"history H={self.args.history}", s,
                                     self.phase_history(f"hist-r{rnd}@{SERVICES[s][1]}"))


# -- reporting -------------------------------------------------------------------------

def fmt_mib(kib) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f}"


ROWS = [
    # (phase prefix, metric, label, unit, kind) kind: "time" (lower is better) or "rate"
    ("join", "create_total_ms", "room creation (join + instant form)", "ms", "time"),
    ("join", "join_all_s", "join: all N-1 have self-presence", "s", "time"),
    ("join", "join_p50_ms", "join: median self-presence", "ms", "time"),
    ("fanout", "in_msgs_s", "fan-out: messages/s in", "msg/s", "rate"),
    ("fanout", "out_deliv_s", "fan-out: deliveries/s out", "stanza/s", "rate"),
    ("fanout", "echo_p50_ms", "fan-out: sender echo p50", "ms", "time"),
    ("fanout", "echo_p99_ms", "fan-out: sender echo p99", "ms", "time"),
    ("fanout", "recv_p50_ms", "fan-out: receiver p50", "ms", "time"),
    ("fanout", "recv_p99_ms", "fan-out: receiver p99", "ms", "time"),
    ("fanout", "last_p50_ms", "fan-out: last delivery p50", "ms", "time"),
    ("fanout", "last_p99_ms", "fan-out: last delivery p99", "ms", "time"),
    ("latency", "echo_p50_ms", "unloaded (1 in flight): sender echo p50", "ms", "time"),
    ("latency", "echo_p99_ms", "unloaded: sender echo p99", "ms", "time"),
    ("latency", "recv_p50_ms", "unloaded: receiver p50", "ms", "time"),
    ("latency", "last_p50_ms", "unloaded: last delivery p50", "ms", "time"),
    ("latency", "last_p99_ms", "unloaded: last delivery p99", "ms", "time"),
    ("leave", "leave_all_s", "leave: all N have left", "s", "time"),
    ("history", "fill_msgs_s", "history: fill, 1 occupant, msgs/s", "msg/s", "rate"),
    ("history", "subject_p50_ms", "history: join -> subject p50", "ms", "time"),
    ("history", "subject_max_ms", "history: join -> subject max", "ms", "time"),
    ("history", "first_msg_p50_ms", "history: join -> 1st history msg p50", "ms", "time"),
    ("history", "history_msgs", "history: messages received", "", "count"),
]


def fmt_value(v, unit) -> str:
    if v != v:
        return "n/a"
    if unit in ("msg/s", "stanza/s"):
        return f"{v:,.0f}"
    if unit == "s":
        return f"{v:.3f}"
    if unit == "":
        return f"{v:.0f}"
    return f"{v:.1f}"


def print_summary(bench: Bench) -> None:
    records = bench.records
    rounds = sorted({r.round for r in records})
    phases = []
    for r in records:
        if r.phase not in phases:
            phases.append(r.phase)
    print(f"\n== results: median over {len(rounds)} round(s) ==")
    server = SERVICES["prosody"][0]
    print(f"ratio: for times Parley/{server} (above 1 = Parley slower); "
          f"for rates Parley/{server} (above 1 = Parley faster)")
    header = f"{'phase':<22} {'measure':<42} {'Parley':>12} {server:>12} {'ratio':>7}  unit"
    print(header)
    print("-" * len(header))
    for phase in phases:
        for prefix, key, label, unit, kind in ROWS:
            if not phase.startswith(prefix):
                continue
            vals = {}
            for svc in ("parley", "prosody"):
                vals[svc] = med([r.metrics.get(key) for r in records
                                 if r.phase == phase and r.service == svc and key in r.metrics])
            if vals["parley"] != vals["parley"] and vals["prosody"] != vals["prosody"]:
                continue
            ratio = (vals["parley"] / vals["prosody"]
                     if vals["prosody"] and vals["prosody"] == vals["prosody"] and kind != "count" else float("nan"))
            ratio_s = "" if ratio != ratio else f"{ratio:.2f}"
            print(f"{phase:<22} {label:<42} {fmt_value(vals['parley'], unit):>12} "
                  f"{fmt_value(vals['prosody'], unit):>12} {ratio_s:>7}  {unit}")
    print(f"\n== CPU seconds per phase (median over rounds): who did the work ==")
    print("other cpu: all other processes on the machine during the phase (noise if well above 0); "
          "B/client read: bytes per read on the clients' sockets (how much the server batches per write);\n"
          "parley write()s: Parley's write system calls (/proc/PID/io syscw: component socket and SQLite; "
          "Prosody's LuaSocket send/recv are not counted there)")
    header = (f"{'phase':<22} {'service':<8} {'parley cpu':>10} {server.lower() + ' cpu':>11} {'client cpu':>10} "
              f"{'other cpu':>9} {'wall':>8} {'B/client read':>13} {'parley write()s':>15}")
    print(header)
    print("-" * len(header))
    for phase in phases:
        for svc in ("parley", "prosody"):
            rs = [r for r in records if r.phase == phase and r.service == svc]
            if not rs:
                continue
            def d(name, idx=1):
                return med([r.after[name][idx] - r.before[name][idx] for r in rs])
            other = med([Monitor.other_cpu(r.before, r.after) for r in rs])
            per_read = med([(r.after["bytes"][1] - r.before["bytes"][1])
                            / max(1, r.after["reads"][1] - r.before["reads"][1]) for r in rs])
            def sc(name, idx):
                return med([r.after[name][idx] - r.before[name][idx] for r in rs])
            print(f"{phase:<22} {SERVICES[svc][0]:<8} {d('parley'):>10.2f} {d('prosody'):>11.2f} "
                  f"{d('client'):>10.2f} {other:>9.2f} {d('wall'):>8.2f} {per_read:>13.0f} "
                  f"{sc('parley_io', 1):>15.0f}")
    print(f"\n== resident memory (VmRSS, MiB) before -> after each phase ==")
    header = f"{'round':<5} {'phase':<22} {'service':<8} {'Parley':>14} {SERVICES['prosody'][0]:>14}"
    print(header)
    print("-" * len(header))
    for r in records:
        p0, p1 = r.before["parley"][0], r.after["parley"][0]
        q0, q1 = r.before["prosody"][0], r.after["prosody"][0]
        print(f"{r.round:<5} {r.phase:<22} {SERVICES[r.service][0]:<8} "
              f"{fmt_mib(p0):>6} -> {fmt_mib(p1):<6}{fmt_mib(q0):>6} -> {fmt_mib(q1):<6}")


def machine_facts(parley_bin: Path) -> list[str]:
    facts = []
    nproc = shutil.which("nproc")
    n = subprocess.run([nproc], capture_output=True, text=True, timeout=5).stdout.strip() if nproc else str(os.cpu_count())
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    facts.append(f"machine: nproc {n}, CPU {model}, RAM {mem}, {platform.system()} {platform.release()}")
    facts.append(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
                 "(other work on the machine skews the figures)")

    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError) as error:
            return f"? ({error.__class__.__name__})"
    # `prosody --version` is not an option in 0.12: it starts a server with the system
    # config and never returns. `prosodyctl about` prints "Prosody <version>" first.
    facts.append(f"prosody: {first_line(['prosodyctl', 'about'])}")
    facts.append(f"ejabberd: {first_line(['dpkg-query', '-W', '-f=${Version}', 'ejabberd'])} (Debian package)")
    facts.append(f"parley: {parley_bin} --version: {first_line([str(parley_bin), '--version'])}")
    facts.append(f"python: {platform.python_version()} (load generator, one process, asyncio)")
    return facts


# -- main ---------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True, help="directory for configs, data and logs")
    p.add_argument("--parley-bin", type=Path, default=REPO / ".build" / "release" / "parley")
    p.add_argument("--server", choices=("prosody", "ejabberd"), default="prosody",
                   help="the XMPP server, and whose own MUC Parley is compared with")
    p.add_argument("--c2s-port", type=int, default=35222)
    p.add_argument("--component-port", type=int, default=35347)
    p.add_argument("--users", type=int, default=200, help="accounts and connected clients")
    p.add_argument("--sizes", default="10,50,200", help="occupant counts N")
    p.add_argument("--messages", default="1000,1000,1000", help="messages M for each N")
    p.add_argument("--senders", type=int, default=1, help="senders S in the fan-out")
    p.add_argument("--window", type=int, default=50, help="messages in flight per sender")
    p.add_argument("--latency-messages", type=int, default=100,
                   help="messages sent one at a time (window 1) for the unloaded latency; 0 skips it")
    p.add_argument("--history", type=int, default=1000, help="messages in the history room; 0 skips the history phase")
    p.add_argument("--history-joiners", type=int, default=5, help="occupants joining the history room, one by one")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--services", default="parley,prosody", help="which services, in round-1 order")
    p.add_argument("--phase-timeout", type=float, default=180.0, help="seconds for any one phase")
    p.add_argument("--stall-timeout", type=float, default=30.0, help="seconds without progress in a phase")
    p.add_argument("--parley-log-level", default="warning")
    p.add_argument("--prosody-log-level", default="warn")
    p.add_argument("--no-muc-mam", dest="muc_mam", action="store_false",
                   help="Prosody's MUC without mod_muc_mam (by default it archives in SQLite, as Parley does)")
    p.add_argument("--prosody-read-size", type=int, default=None,
                   help="experiment: Prosody's network_default_read_size, the bytes it reads at a time "
                        "from a client or component connection (default: Prosody's own, 4096)")
    args = p.parse_args(argv)
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.messages = [int(x) for x in args.messages.split(",")]
    if len(args.sizes) != len(args.messages):
        p.error("--sizes and --messages need the same number of entries")
    args.services = [s.strip() for s in args.services.split(",") if s.strip()]
    for s in args.services:
        if s not in SERVICES:
            p.error(f"unknown service {s!r} (parley, prosody)")
    need = max(max(args.sizes), 1 + args.history_joiners)
    if args.users < need:
        p.error(f"--users must be at least {need}")
    return args


def with_ejabberd_muc(stack: Stack, muc_mam: bool = True) -> None:
    """ejabberd's own MUC (conference.localhost, in the interop config) with its rooms
    archived (`mam: true` in the room defaults; mod_mam keeps them in Mnesia, ejabberd's
    default), and room sizes up to 1,000 (its default refuses the 201st occupant)."""
    original = stack.server.write_config

    def write_config():
        path = original()
        text = path.read_text()
        marker = "    default_room_options:\n"
        if marker not in text:
            raise RuntimeError(f"no default_room_options in {path}: cannot turn on MUC archiving")
        if muc_mam:
            text = text.replace(marker, marker + "      mam: true\n", 1)
            path.write_text(text)
        return path
    stack.server.write_config = write_config


def with_prosody_muc(stack: Stack, read_size: int | None = None, muc_mam: bool = True) -> None:
    """Make the Prosody config also host Prosody's own MUC at conference.localhost,
    unless the shared template already does. Only this run's rendered config changes."""
    original = stack.prosody.write_config

    def write_config():
        path = original()
        text = path.read_text()
        if read_size:
            # A global option: it must come before the first VirtualHost/Component line.
            first = re.search(r'^(VirtualHost|Component)\b', text, re.M)
            # Accepted connections read this many bytes at a time (core/portmanager.lua);
            # network_settings.read_size only applies to outgoing ones.
            option = f"network_default_read_size = {int(read_size)} -- bench.py --prosody-read-size\n\n"
            text = text[:first.start()] + option + text[first.start():]
        if not re.search(r'^\s*Component\s+"' + re.escape(PROSODY_MUC_DOMAIN) + '"', text, re.M):
            text += ("\n-- Added by Benchmarks/muc/bench.py: Prosody's own MUC, for comparison.\n"
                     f'Component "{PROSODY_MUC_DOMAIN}" "muc"\n')
        if muc_mam:
            # What an admin who keeps history runs: mod_muc_mam with its archive in SQLite.
            # The MUC component is the file's last section, so these lines are its options.
            sections = re.findall(r'^(?:VirtualHost|Component)\s+"([^"]+)"', text, re.M)
            if sections[-1] != PROSODY_MUC_DOMAIN:
                raise RuntimeError(f"the Prosody config does not end with {PROSODY_MUC_DOMAIN}: cannot add mod_muc_mam")
            text += ("\n\t-- Added by Benchmarks/muc/bench.py: Prosody's MUC keeps its archive in SQLite.\n"
                     '\tmodules_enabled = { "muc_mam" }\n'
                     '\tstorage = "sql"\n'
                     '\tsql = { driver = "SQLite3", database = "prosody-muc.sqlite" }\n'
                     "\tmuc_log_all_rooms = true\n"
                     '\tmuc_log_expires_after = "never"\n')
        path.write_text(text)
        return path

    stack.prosody.write_config = write_config


async def connect_all(args, users: list[str]) -> list[RawClient]:
    clients = [RawClient(u, PASSWORD, resource="bench") for u in users]
    sem = asyncio.Semaphore(20)

    async def one(c):
        async with sem:
            await c.login("127.0.0.1", args.c2s_port, timeout=30.0)

    results = await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients), return_exceptions=True), 120)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for c in clients:
            c.close()
        raise PhaseFailed(f"{len(failures)} of {len(clients)} logins failed, first: {failures[0]}")
    return clients


def server_pid(stack: Stack) -> int:
    """The XMPP server's own process: Prosody, or ejabberd's Erlang VM (not its runuser)."""
    if stack.settings.server == "ejabberd":
        return int(stack.server.harness_pid_path.read_text().strip())
    return stack.prosody.process.pid


async def amain(args, stack: Stack) -> Bench:
    user, password = stack.settings.probe_account
    await asyncio.to_thread(wait_for_component, args.c2s_port, "localhost", user, password,
                            PROSODY_MUC_DOMAIN, 15.0)
    t0 = time.perf_counter()
    clients = await connect_all(args, [f"u{i:04d}" for i in range(args.users)])
    # "prosody" names the server's process and its own MUC, whichever server it is.
    monitor = Monitor({"parley": stack.parley.process.pid, "prosody": server_pid(stack)}, clients)
    print(f"{len(clients)} clients logged in in {time.perf_counter() - t0:.2f} s", flush=True)
    bench = Bench(args, stack, monitor, clients)
    try:
        await monitor.quiesce()
        snap = monitor.snapshot()
        print(f"idle: Parley {fmt_mib(snap['parley'][0])} MiB, {SERVICES['prosody'][0]} {fmt_mib(snap['prosody'][0])} MiB",
              flush=True)
        try:
            await bench.run()
        finally:
            bench.final = monitor.snapshot()
    finally:
        for c in clients:
            c.close()
        await asyncio.sleep(0.2)
    return bench


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.parley_bin.is_file():
        print(f"error: no Parley binary at {args.parley_bin} "
              f"(build it: swift build -c release --product parley)", file=sys.stderr)
        return 2
    for fact in machine_facts(args.parley_bin):
        print(fact)
    print(f"settings: N={args.sizes} M={args.messages} senders={args.senders} window={args.window} "
          f"history={args.history} joiners={args.history_joiners} rounds={args.rounds} "
          f"ports c2s {args.c2s_port} component {args.component_port}; log levels Parley "
          f"{args.parley_log_level}, Prosody {args.prosody_log_level}"
          + (f"; Prosody network_default_read_size {args.prosody_read_size}" if args.prosody_read_size else ""))
    print(f"run dir: {args.run_dir}", flush=True)

    settings = StackSettings(
        run_dir=args.run_dir.resolve(), server=args.server, c2s_port=args.c2s_port, component_port=args.component_port,
        accounts={f"u{i:04d}": PASSWORD for i in range(args.users)},
        parley_bin=args.parley_bin.resolve(), parley_log_level=args.parley_log_level,
        prosody_log_level=args.prosody_log_level, parley_ready_timeout=30.0,
        parley_extra_config=BENCH_LIMITS)
    stack = Stack(settings)
    if args.server == "ejabberd":
        SERVICES["prosody"] = ("ejabberd", PROSODY_MUC_DOMAIN)
        with_ejabberd_muc(stack, args.muc_mam)
    else:
        with_prosody_muc(stack, args.prosody_read_size, args.muc_mam)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    bench = None
    try:
        stack.up()
        print(f"stack up: {SERVICES['prosody'][0]} pid {server_pid(stack)}, Parley pid {stack.parley.process.pid} "
              f"({stack.ready_answer})", flush=True)
        bench = asyncio.run(amain(args, stack))
    except (PhaseTimeout, PhaseFailed, HarnessError, ClientError) as error:
        kind = "TIMEOUT" if isinstance(error, PhaseTimeout) else "FAILED"
        print(f"\n{kind}: {error}", file=sys.stderr)
        print(stack.describe_logs(60), file=sys.stderr)
        status = 3 if isinstance(error, PhaseTimeout) else 4
    except KeyboardInterrupt as error:
        print(f"\ninterrupted ({error}); stopping", file=sys.stderr)
        status = 130
    finally:
        stack.down()
    if bench is not None:
        print_summary(bench)
        print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if bench.anomalies:
            print("\n== anomalies ==")
            for a in bench.anomalies:
                print(f"- {a}")
        else:
            print("\nanomalies: none seen (no error stanzas, no missing or extra deliveries)")
    for name, path in (("parley", settings.run_dir / "parley.log"), ("prosody", settings.run_dir / "prosody.err")):
        if path.exists() and path.stat().st_size > 0:
            text = path.read_text(errors="replace")
            lines = [l for l in text.splitlines() if not l.startswith("--- harness:")]
            if lines:
                print(f"\nnote: {path} has {len(lines)} line(s); last ones:")
                print("\n".join("    " + l[:300] for l in lines[-15:]))
    return status


if __name__ == "__main__":
    sys.exit(main())
