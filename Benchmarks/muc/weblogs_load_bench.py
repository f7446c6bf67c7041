#!/usr/bin/env python3
"""Web logs under load: how many day pages per second the HTTP listener serves (wrk), and
how much that slows the fan-out of a busy room, through one private Prosody with Parley.

  archive  `weblogs-bench DB 20000 200` (cached): one published room `bench`, 100 days of
           200 messages, copied in as Parley's database.
  rooms    a busy room with K receivers and one sender; the sender keeps W messages in
           flight, every receiver gets every message.
  phases   1. fan-out alone: M messages, deliveries/s = K × M / time to the last copy;
           2. wrk alone on one past day page, as fast as it goes (-t THREADS -c CONNECTIONS,
              D seconds): the listener's capacity;
           3. fan-out while wrk asks for the page at --rate requests/s (each connection
              waits between requests: wrk's `delay()` hook; plain wrk has no rate option);
           4. fan-out while wrk goes as fast as it can;
           5. fan-out alone again (the better of 1 and 5 is the baseline).
Prints requests/s of every wrk run and the fan-out of every phase with its drop (target:
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


async def fan_out(sender, receivers, room: str, count: int, window: int, tag: str) -> float:
    """Deliveries per second: `count` messages from `sender`, each to every receiver."""
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
            got[index] += counted(pending, data)
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


CPU: dict[str, list[tuple[float, float]]] = {}


async def phase(args, key: str, pids: dict[str, int], sender, receivers, room: str, tag: str) -> float:
    """One fan-out phase; also the share of a core Parley and Prosody used during it."""
    before = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    start = time.perf_counter()
    rate = await fan_out(sender, receivers, room, args.messages, args.window, tag)
    wall = time.perf_counter() - start
    CPU.setdefault(key, []).append(tuple(((cpu_seconds(pid) or 0.0) - before[name]) / wall for name, pid in pids.items()))
    return rate


async def measure(args, url: str) -> dict:
    users = [f"u{index:04d}" for index in range(args.receivers + 1)]
    clients = [await login(user, args.c2s_port) for user in users]
    sender, receivers = clients[0], clients[1:]
    room = f"busy@{PARLEY_DOMAIN}"
    await enter_room(sender, room, "Sender")
    for index, receiver in enumerate(receivers):
        await join_only(receiver, room, f"R{index}")
    await fan_out(sender, receivers, room, 200, args.window, "warm")
    result: dict[str, list] = {key: [] for key in ("alone", "paced", "loaded", "wrk_alone", "wrk_paced", "wrk_loaded")}
    connections, script = paced(args, args.run_dir)
    pids = args.pids
    # Rounds alternate the phases, so that the machine's drift falls on all of them alike.
    for round_ in range(args.rounds):
        result["alone"].append(await phase(args, "alone", pids, sender, receivers, room, f"alone{round_}x"))
        for key, load in (("paced", wrk(url, args.threads, connections, args.seconds, script)),
                          ("loaded", wrk(url, args.threads, args.connections, args.seconds))):
            await asyncio.sleep(1.0)
            result[key].append(await phase(args, key, pids, sender, receivers, room, f"{key}{round_}x"))
            result["wrk_" + key].append(wrk_result(load))
    result["alone"].append(await phase(args, "alone", pids, sender, receivers, room, "alonelast"))
    result["wrk_alone"].append(wrk_result(wrk(url, args.threads, args.connections, args.seconds)))
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--parley-bin", type=Path, default=REPO / ".build" / "release" / "parley")
    p.add_argument("--weblogs-bench-bin", type=Path, default=REPO / ".build" / "release" / "weblogs-bench")
    p.add_argument("--archive", type=Path, default=Path("/tmp/parley-bench/weblogs-20k.sqlite"))
    p.add_argument("--receivers", type=int, default=20, help="K: occupants receiving each message")
    p.add_argument("--messages", type=int, default=2000, help="M: messages per fan-out phase")
    p.add_argument("--window", type=int, default=20, help="W: messages in flight")
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--seconds", type=int, default=8, help="wrk duration (covers one fan-out phase)")
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

    alone = median(result["alone"])
    print(f"\nfan-out to K={args.receivers}, M={args.messages} messages, W={args.window} in flight, "
          f"{args.rounds} rounds (deliveries/s, median and all):")
    for label, key in (("alone", "alone"), (f"while wrk asks ~{args.rate}/s", "paced"), ("while wrk goes flat out", "loaded")):
        drop = "" if key == "alone" else f"   drop {(1 - median(result[key]) / alone) * 100:5.1f} %"
        runs = " ".join(f"{value:.0f}" for value in result[key])
        shares = CPU[key][len(CPU[key]) // 2]
        cpu = ", ".join(f"{name} {share * 100:.0f} %" for name, share in zip(args.pids, shares))
        print(f"  {label:<28} {median(result[key]):8.0f}{drop:<16}   ({runs})   CPU: {cpu}")
    print("  target: drop < 10 % while serving ≥ 2,000 day pages/s")
    print(f"day pages {url} (wrk -t{args.threads}, median of the runs):")
    for label, key in ((f"flat out, -c{args.connections}, alone", "wrk_alone"),
                       (f"paced, -c{paced(args, args.run_dir)[0]}, during the fan-out", "wrk_paced"),
                       (f"flat out, -c{args.connections}, during the fan-out", "wrk_loaded")):
        rates = [rate for rate, _ in result[key]]
        print(f"  {label:<40} {median(rates):10.0f} requests/s   ({' '.join(f'{r:.0f}' for r in rates)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
