#!/usr/bin/env python3
"""Web logs under load: how many day pages per second the HTTP listener serves (wrk), and
how much that slows the fan-out of a busy room, through one private Prosody with Parley.

  archive  `weblogs-bench DB 20000 200` (cached): one published room `bench`, 100 days of
           200 messages, copied in as Parley's database.
  rooms    a busy room with K receivers and one sender; the sender keeps W messages in
           flight, every receiver gets every message.
  phases   1. fan-out alone: M messages, deliveries/s = K × M / time to the last copy;
           2. wrk alone on one past day page (-t THREADS -c CONNECTIONS, D seconds);
           3. fan-out again while wrk runs on the same page;
           4. fan-out alone again (the better of 1 and 4 is the baseline).
Prints requests/s of both wrk runs and the fan-out of every phase with the drop (target:
≥ 2,000 requests/s with the fan-out dropping < 10 %, issue "Read the archive in a browser").
Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
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


def wrk(url: str, threads: int, connections: int, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(process: subprocess.Popen) -> tuple[float, str]:
    out, _ = process.communicate(timeout=300)
    rate = WRK_RATE.search(out)
    if process.returncode != 0 or not rate:
        raise BenchFailed(f"wrk failed ({process.returncode}): {out[-1500:]}")
    if "Non-2xx" in out:
        raise BenchFailed(f"wrk got errors: {out[-1500:]}")
    latency = WRK_LATENCY.search(out)
    return float(rate.group(1)), (f"latency avg {latency.group(1)}, max {latency.group(3)}" if latency else "")


async def measure(args, url: str) -> dict:
    users = [f"u{index:04d}" for index in range(args.receivers + 1)]
    clients = [await login(user, args.c2s_port) for user in users]
    sender, receivers = clients[0], clients[1:]
    room = f"busy@{PARLEY_DOMAIN}"
    await enter_room(sender, room, "Sender")
    for index, receiver in enumerate(receivers):
        await join_only(receiver, room, f"R{index}")
    await fan_out(sender, receivers, room, 200, args.window, "warm")
    result = {"alone": await fan_out(sender, receivers, room, args.messages, args.window, "alone")}
    result["wrk_alone"] = wrk_result(wrk(url, args.threads, args.connections, args.seconds))
    loaded = wrk(url, args.threads, args.connections, args.seconds)
    await asyncio.sleep(1.0)
    result["loaded"] = await fan_out(sender, receivers, room, args.messages, args.window, "loaded")
    result["wrk_loaded"] = wrk_result(loaded)
    result["again"] = await fan_out(sender, receivers, room, args.messages, args.window, "again")
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
    p.add_argument("--seconds", type=int, default=15, help="wrk duration")
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
        result = asyncio.run(measure(args, url))
    except (BenchFailed, HarnessError, ClientError, subprocess.CalledProcessError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(stack.describe_logs(40), file=sys.stderr)
        return 4
    finally:
        stack.down()
    alone = max(result["alone"], result["again"])
    print(f"\nfan-out to K={args.receivers}, M={args.messages} messages, W={args.window} in flight (deliveries/s):")
    for label, key in (("alone (first)", "alone"), ("while wrk reads day pages", "loaded"), ("alone (again)", "again")):
        print(f"  {label:<32} {result[key]:10.0f}")
    print(f"  drop while loaded: {(1 - result['loaded'] / alone) * 100:.1f} %  (target < 10 %)")
    print(f"day pages (wrk -t{args.threads} -c{args.connections} -d{args.seconds}s):")
    for label, key in (("alone", "wrk_alone"), ("during the fan-out", "wrk_loaded")):
        rate, latency = result[key]
        print(f"  {label:<32} {rate:10.0f} requests/s   {latency}")
    print("  target: ≥ 2,000 requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
