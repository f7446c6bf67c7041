#!/usr/bin/env python3
"""Web logs under load: how many day pages per second the HTTP listener serves (wrk), and
how much that slows the fan-out of a busy room, through one private Prosody with Parley.

  archive  `weblogs-bench DB 20000 200` (cached): one published room `bench`, 100 days of
           200 messages, copied in as Parley's database.
  rooms    a busy room with K receivers and one sender; the sender keeps W messages in
           flight, every receiver gets every message.
  phases   each a fan-out long enough to outlast a window of --seconds in its middle, in
           which deliveries/s (all receivers) and, with wrk, pages/s are both counted:
           1. alone;  2. wrk asks for one past day page at about --rate requests/s (each
           connection waits between requests: wrk's `delay()` hook; plain wrk has no rate
           option);  3. wrk as fast as it goes. Rounds repeat 1-3; then wrk alone.
Prints the medians, every round, and the CPU share of Parley and Prosody (target:
≥ 2,000 requests/s with the fan-out dropping < 10 %, issue "Read the archive in a browser").
On 2 cores wrk itself takes CPU from Prosody and Parley. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from isolation_bench import join_only  # noqa: E402
from mam_bench import (BenchFailed, enter_room, login, REPO, Stack, StackSettings, PASSWORD,  # noqa: E402
                       HarnessError, ClientError, BENCH_LIMITS, machine_facts, wait_for_component)
from bench import cpu_seconds  # noqa: E402

PARLEY_DOMAIN = "rooms.localhost"
WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_LATENCY = re.compile(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)")


async def fan_out(sender, receivers, room: str, count: int, window: int, tag: str,
                  events: list[tuple[float, int]] | None = None) -> float:
    """Deliveries per second: `count` messages from `sender`, each to every receiver;
    `events` gets (time, deliveries) of every read, to rate a window of the phase."""
    got = [0] * len(receivers)
    done = asyncio.Event()
    pattern = re.compile(rb"<body>" + tag.encode() + rb"-\d+</body>")
    echoes = asyncio.Semaphore(window)

    def counted(pending: bytearray, data: bytes) -> int:
        """Bodies in what arrived; a body cut between two reads is counted with the second."""
        pending.extend(data)
        matches = list(pattern.finditer(pending))
        keep_from = max(matches[-1].end() if matches else 0, len(pending) - 64)
        del pending[:keep_from]
        return len(matches)

    def make_sink(index: int):
        pending = bytearray()

        def sink(data: bytes, now: float) -> None:
            arrived = counted(pending, data)
            got[index] += arrived
            if events is not None and arrived:
                events.append((now, arrived))
            if all(n >= count for n in got):
                done.set()
        return sink

    for index, receiver in enumerate(receivers):
        receiver.sink = make_sink(index)
    sender_pending = bytearray()

    def sender_sink(data: bytes, now: float) -> None:
        for _ in range(counted(sender_pending, data)):
            echoes.release()

    sender.sink = sender_sink
    start = time.perf_counter()
    for index in range(count):
        await echoes.acquire()
        key = f"{tag}-{index}"
        sender.send(sender.groupchat(room, key, key))
    try:
        await asyncio.wait_for(done.wait(), 120)
    except asyncio.TimeoutError:
        raise BenchFailed(f"{tag}: only {min(got)} of {count} messages reached every receiver") from None
    elapsed = time.perf_counter() - start
    for receiver in receivers:
        receiver.collect()
    sender.collect()
    return len(receivers) * count / elapsed


PACE_MS = 5


def wrk(url: str, threads: int, connections: int, seconds: int, script: Path | None = None) -> subprocess.Popen:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    return subprocess.Popen(command + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def paced(args, run_dir: Path) -> tuple[int, Path]:
    """Connections and a script that make wrk ask about --rate requests/s: each connection
    waits PACE_MS between requests (plus about 1.5 ms for the request itself)."""
    script = run_dir / "pace.lua"
    script.write_text(f"function delay()\n  return {PACE_MS}\nend\n")
    return max(1, math.ceil(args.rate * (PACE_MS + 1.5) / 1000)), script


def wrk_result(process: subprocess.Popen) -> tuple[float, str]:
    out, _ = process.communicate(timeout=300)
    rate = WRK_RATE.search(out)
    if process.returncode != 0 or not rate:
        raise BenchFailed(f"wrk failed ({process.returncode}): {out[-1500:]}")
    if "Non-2xx" in out:
        raise BenchFailed(f"wrk got errors: {out[-1500:]}")
    latency = WRK_LATENCY.search(out)
    return float(rate.group(1)), (f"latency avg {latency.group(1)}, max {latency.group(3)}" if latency else "")


def rate_between(events: list[tuple[float, int]], start: float, end: float) -> float:
    return sum(n for t, n in events if start <= t < end) / (end - start)


async def phase(args, pids: dict[str, int], sender, receivers, room: str, tag: str, url: str | None,
                script: Path | None, connections: int) -> tuple[float, float | None, dict[str, float]]:
    """One fan-out of --phase-messages; with `url`, wrk runs for --seconds in its middle.
    Returns the fan-out's deliveries/s and wrk's requests/s over the same window (the
    middle --seconds, or wrk's run), and the share of a core Parley and Prosody used then."""
    events: list[tuple[float, int]] = []
    task = asyncio.create_task(fan_out(sender, receivers, room, args.phase_messages, args.window, tag, events))
    await asyncio.sleep(1.0)
    before = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    start = time.perf_counter()
    requests = None
    if url is not None:
        process = wrk(url, args.threads, connections, args.seconds, script)
        requests, _ = await asyncio.get_running_loop().run_in_executor(None, wrk_result, process)
    else:
        await asyncio.sleep(args.seconds)
    end = time.perf_counter()
    cpu = {name: ((cpu_seconds(pid) or 0.0) - before[name]) / (end - start) for name, pid in pids.items()}
    finished_early = task.done()
    await task
    if finished_early or max((t for t, _ in events), default=0) < end:
        raise BenchFailed(f"{tag}: the fan-out ended before its window did: raise --phase-messages")
    return rate_between(events, start, end), requests, cpu


async def measure(args, url: str) -> dict:
    users = [f"u{index:04d}" for index in range(args.receivers + 1)]
    clients = [await login(user, args.c2s_port) for user in users]
    sender, receivers = clients[0], clients[1:]
    room = f"busy@{PARLEY_DOMAIN}"
    await enter_room(sender, room, "Sender")
    for index, receiver in enumerate(receivers):
        await join_only(receiver, room, f"R{index}")
    # The warm-up also sizes the phases: each must outlast its window, even when slowed.
    warm = await fan_out(sender, receivers, room, 1000, args.window, "warm")
    args.phase_messages = max(args.phase_messages, int(warm / len(receivers) * (args.seconds + 2) * 1.5))
    print(f"warm-up: {warm:.0f} deliveries/s; {args.phase_messages} messages a phase", flush=True)
    result: dict[str, list] = {"alone": [], "paced": [], "loaded": [], "wrk_alone": []}
    connections, script = paced(args, args.run_dir)
    # Rounds alternate the phases, so that the machine's drift falls on all of them alike.
    for round_ in range(args.rounds):
        for key, target, pacing, count in (("alone", None, None, 0), ("paced", url, script, connections),
                                           ("loaded", url, None, args.connections)):
            result[key].append(await phase(args, args.pids, sender, receivers, room, f"{key}{round_}x", target, pacing, count))
    result["wrk_alone"].append(wrk_result(wrk(url, args.threads, args.connections, args.seconds)))
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--parley-bin", type=Path, default=REPO / ".build" / "release" / "parley")
    p.add_argument("--weblogs-bench-bin", type=Path, default=REPO / ".build" / "release" / "weblogs-bench")
    p.add_argument("--archive", type=Path, default=Path("/tmp/parley-bench/weblogs-20k.sqlite"))
    p.add_argument("--receivers", type=int, default=20, help="K: occupants receiving each message")
    p.add_argument("--phase-messages", type=int, default=0,
                   help="messages per fan-out phase (default: from the warm-up's rate, to outlast the window)")
    p.add_argument("--window", type=int, default=20, help="W: messages in flight")
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--seconds", type=int, default=5, help="the measured window of each phase (wrk's duration)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rate", type=int, default=2000, help="requests/s of the paced wrk run")
    p.add_argument("--day", default="2024-10-05", help="the day page wrk asks for")
    p.add_argument("--c2s-port", type=int, default=35262)
    p.add_argument("--component-port", type=int, default=35387)
    args = p.parse_args(argv)
    if not shutil.which("wrk"):
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    for fact in machine_facts(args.parley_bin):
        print(fact)
    run_dir = args.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    if not args.archive.exists():
        args.archive.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.archive} with {args.weblogs_bench_bin} …", flush=True)
        subprocess.run([str(args.weblogs_bench_bin), str(args.archive), "20000", "200"], check=True,
                       stdout=subprocess.DEVNULL, timeout=900)
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(args.archive) + suffix)
        if source.exists():
            shutil.copyfile(source, Path(str(run_dir / "parley.sqlite") + suffix))
    http_port = args.component_port + 2
    users = {f"u{index:04d}": PASSWORD for index in range(args.receivers + 1)}
    settings = StackSettings(
        run_dir=run_dir, c2s_port=args.c2s_port, component_port=args.component_port, accounts=users,
        parley_bin=args.parley_bin.resolve(), parley_log_level="warning", prosody_log_level="warn",
        parley_ready_timeout=60.0,
        parley_extra_config=BENCH_LIMITS + f'\n[http]\nlisten = "127.0.0.1:{http_port}"\n'
                            "[weblogs]\nsearches_per_minute = 0\n")
    stack = Stack(settings)
    url = f"http://127.0.0.1:{http_port}/logs/bench/{args.day}"
    try:
        stack.up()
        user, password = settings.probe_account
        wait_for_component(args.c2s_port, "localhost", user, password, PARLEY_DOMAIN, 15.0)
        probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url],
                               capture_output=True, text=True, timeout=10)
        print(f"day page {url}: {probe.stdout}", flush=True)
        args.run_dir = run_dir
        args.pids = {"parley": stack.parley.process.pid, "prosody": stack.prosody.process.pid}
        result = asyncio.run(measure(args, url))
    except (BenchFailed, HarnessError, ClientError, subprocess.CalledProcessError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(stack.describe_logs(40), file=sys.stderr)
        return 4
    finally:
        stack.down()
    def median(values):
        ordered = sorted(values)
        return ordered[len(ordered) // 2]

    alone = median([rate for rate, _, _ in result["alone"]])
    print(f"\nfan-out to K={args.receivers}, W={args.window} in flight, over the same {args.seconds} s window as wrk, "
          f"{args.rounds} rounds (median, then every round):")
    print(f"  {'phase':<26} {'deliveries/s':>12} {'drop':>7} {'pages/s':>8}   CPU parley, prosody")
    for label, key in (("alone", "alone"), (f"wrk paced at ~{args.rate}/s", "paced"), ("wrk flat out", "loaded")):
        runs = result[key]
        rate = median([r for r, _, _ in runs])
        pages = median([p for _, p, _ in runs]) if key != "alone" else None
        cpu = runs[len(runs) // 2][2]
        drop = "" if key == "alone" else f"{(1 - rate / alone) * 100:6.1f}%"
        print(f"  {label:<26} {rate:12.0f} {drop:>7} {'' if pages is None else f'{pages:8.0f}':>8}   "
              f"{cpu['parley'] * 100:.0f} %, {cpu['prosody'] * 100:.0f} %")
        print("  " + " " * 26 + "  ".join(f"{r:.0f}" + ("" if p is None else f"/{p:.0f}") for r, p, _ in runs))
    print("  target: drop < 10 % while serving ≥ 2,000 day pages/s")
    rate, latency = result["wrk_alone"][0]
    print(f"day page {url} with nothing else (wrk -t{args.threads} -c{args.connections}): {rate:.0f} requests/s, {latency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
