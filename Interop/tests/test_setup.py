"""Setting Parley up beside a server, as an admin meets it: a refused handshake says what
to check, one instance per database, a second instance under the same domain is noticed,
and the debug log shows every stanza without what people wrote."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from harness.muc import (SELF, assert_result, bare, create_room, expect_presence, get_config_form, join, say,
                         send_groupchat, set_affiliation)
from harness.parley import write_parley_config
from harness.parley_features import json_lines, new_room, parley_bin, run_parley, stanza_id_of, wait_until


SHUTDOWN = 332  # XEP-0045: removed because the MUC service is being shut down

def _config(stack, directory: Path, *, secret: str, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = write_parley_config(directory / "parley.toml", stack.settings.component_domain,
                               stack.settings.component_port, secret, directory / "parley.sqlite")
    if extra:
        text = path.read_text().replace("[storage]", extra + "\n[storage]")
        path.write_text(text)
    return path


async def test_a_refused_handshake_names_both_causes_and_exits(stack, tmp_path):
    config = _config(stack, tmp_path / "wrong-secret", secret="not-the-secret")
    result = await run_parley("run", "--config", str(config), timeout=30)
    assert result.returncode == 1, result
    expected = f"wrong secret, or the server does not serve the domain {stack.settings.component_domain}"
    assert expected in result.stderr, result.stderr[-2000:]


async def test_a_second_instance_on_the_same_database_refuses_to_start(stack, service):
    result = await run_parley("run", "--config", str(stack.parley.config_path), timeout=30)
    assert result.returncode == 1, result
    assert "another Parley is already running on the database" in result.stderr, result.stderr[-2000:]
    assert stack.parley.running()


async def test_the_debug_log_has_every_stanza_but_not_what_people_wrote(alice, service, stack):
    room = new_room(service, "debuglog")
    await create_room(alice, room, "Alice")
    secret = f"confidential-{uuid.uuid4().hex}"
    await say(alice, room, secret)
    log = stack.parley.log_path.read_text(errors="replace")
    ins = [line for line in log.splitlines() if " in: " in line and room in line]
    outs = [line for line in log.splitlines() if " out: " in line or " out to " in line]
    assert ins and outs, "no stanzas in the debug log"
    assert any("<message" in line and "bytes]</body>" in line for line in ins), ins[-3:]
    assert secret not in log


async def test_the_reload_signal_does_not_stop_parley(stack, alice, service):
    os.kill(stack.parley.process.pid, signal.SIGHUP)
    reply = await alice.ping(service)
    assert reply["type"] == "result", reply
    assert stack.parley.running()


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_health_says_the_link_is_up_and_the_database_answers(stack, service):
    port = stack.settings.component_port + 2
    status, body = await asyncio.get_running_loop().run_in_executor(None, _get, f"http://127.0.0.1:{port}/health")
    assert status == 200, body
    report = json.loads(body)
    assert report["status"] == "ok" and report["link"] == "up" and report["database"] == "ok", report
    status, _ = await asyncio.get_running_loop().run_in_executor(None, _get, f"http://127.0.0.1:{port}/nothing")
    assert status == 404


async def test_sigterm_tells_every_occupant_332_and_exits_cleanly(stack, alice, bob, service):
    room = new_room(service, "shutdown")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    loop = asyncio.get_running_loop()
    started = loop.time()
    status = await loop.run_in_executor(None, stack.parley.stop, 10.0)
    took = loop.time() - started
    try:
        assert status == 0, f"exit status {status}"
        assert took < 6, f"took {took:.1f} s"
        # XEP-0045 status 332: removed because the service is shutting down; no client is
        # left believing it is in the room.
        await expect_presence(bob, f"{room}/Bob", unavailable=True, codes={SHUTDOWN, SELF})
        await expect_presence(alice, f"{room}/Alice", unavailable=True, codes={SHUTDOWN, SELF})
        assert "occupants told the service is shutting down" in stack.parley.log_path.read_text(errors="replace")
    finally:
        await loop.run_in_executor(None, stack.start_parley)


async def test_backup_under_load_restores_every_message_archived_before_it(stack, alice, bob, service, tmp_path):
    room = new_room(service, "backup")
    await create_room(alice, room, "Alice")
    await join(bob, room, "Bob")
    before = [stanza_id_of(await say(alice, room, f"before the backup {n}"), room) for n in range(30)]
    # Bob keeps talking while the backup runs.
    for n in range(300):
        send_groupchat(bob, room, f"during the backup {n}")
    copy = tmp_path / "parley-backup.sqlite"
    result = await run_parley("backup", "--config", str(stack.parley.config_path), "--to", str(copy), timeout=60)
    assert result.returncode == 0, result.describe()
    assert "integrity ok" in result.stdout, result.stdout

    # Restoring is copying the file back: a copy opened on its own is whole and has them all.
    restored = tmp_path / "restored.sqlite"
    restored.write_bytes(copy.read_bytes())
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {row[0] for row in connection.execute("SELECT stanza_id FROM archive WHERE room = ?", (room,))}
    missing = [sid for sid in before if sid not in kept]
    assert not missing, f"{len(missing)} messages archived before the backup are not in it"

    listed = await run_parley("rooms", "list", "--json", "--config", str(stack.parley.config_path))
    assert listed.returncode == 0, listed.describe()
    rooms = {entry["jid"]: entry for entry in json_lines(listed.stdout)}
    assert rooms[room]["messages"] >= 30, rooms.get(room)
    shown = await run_parley("rooms", "show", room, "--config", str(stack.parley.config_path))
    assert shown.returncode == 0 and json.loads(shown.stdout)["affiliations"][bare(str(alice.jid))] == "owner", shown.stdout



async def test_a_service_admin_owns_every_room(alice, connect, service):
    grace = await connect("grace")          # [service] admins in the test stack (conftest.py)
    room = new_room(service, "adminowned")
    await create_room(alice, room, "Alice")
    reply, form = await get_config_form(grace, room)
    assert reply["type"] == "result" and form is not None, reply
    assert_result(await set_affiliation(grace, room, "dave@localhost", "outcast"), "the admin's ban")


async def test_json_logs_for_log_shippers(stack, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('[component]\ndomain = "rooms.localhost"\nsecret = "x"\n[storage]\ndatabase = "x.sqlite"\nbogus = 1\n')
    result = await run_parley("check-config", "--config", str(broken), "--log-format", "json")
    assert result.returncode == 2, result.describe()
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["level"] == "critical" and "storage.bogus" in record["message"], record
    assert {"time", "label"} <= record.keys(), record



async def test_systemd_hears_ready_status_and_stopping(stack, service, tmp_path):
    """Config/parley.service can be Type=notify: Parley tells systemd's NOTIFY_SOCKET when
    it is ready, what the link does, and when it stops (sd_notify's datagrams)."""
    import socket
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(10)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stack.parley.stop, 10.0)
    os.environ["NOTIFY_SOCKET"] = str(path)
    try:
        await loop.run_in_executor(None, stack.start_parley)
    finally:
        del os.environ["NOTIFY_SOCKET"]

    def receive_until(wanted: str) -> list[str]:
        seen = []
        while not any(wanted in message for message in seen):
            seen.append(listener.recv(4096).decode())
        return seen

    try:
        heard = await loop.run_in_executor(None, receive_until, "STATUS=serving")
        assert heard[0].startswith("READY=1\n"), heard
        assert f"STATUS=serving {stack.settings.component_domain}" in heard[-1], heard
        stopping = loop.run_in_executor(None, receive_until, "STOPPING=1")
        await loop.run_in_executor(None, stack.parley.stop, 10.0)
        await stopping
    finally:
        listener.close()
        await loop.run_in_executor(None, stack.start_parley)


async def test_the_http_listener_caps_connections_and_closes_idle_ones(stack, service):
    """Nobody can hold the monitoring port: at most 32 connections, each closed after 10 s
    of silence; then /health answers again."""
    import socket
    port = stack.settings.component_port + 2
    loop = asyncio.get_running_loop()

    def hold(count: int) -> list[socket.socket]:
        sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(sock)
        return sockets

    def closed_by_server(sock: socket.socket, wait: float) -> bool:
        sock.settimeout(wait)
        try:
            return sock.recv(1) == b""
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    sockets = await loop.run_in_executor(None, hold, 40)
    try:
        refused = [closed_by_server(sock, 0.5) for sock in sockets]
        assert sum(refused) >= 8, f"{40 - sum(refused)} idle connections kept open"
        await asyncio.sleep(11)
        assert all(closed_by_server(sock, 2.0) for sock, was in zip(sockets, refused) if not was)
    finally:
        for sock in sockets:
            sock.close()
    status, _ = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/health")
    assert status == 200


# Last in the session: the stack's Parley then reports the twin in /health for ten minutes.
@pytest.mark.server_only("ejabberd", reason="Prosody refuses a second component connection for one domain (conflict)")
async def test_a_twin_attached_under_the_same_domain_is_noticed(stack, tmp_path, service):
    config = _config(stack, tmp_path / "twin", secret=stack.settings.component_secret,
                     extra="link_check_seconds = 1\n")
    log_path = tmp_path / "twin" / "parley.log"
    with open(log_path, "w") as log:
        twin = subprocess.Popen([str(parley_bin()), "run", "--config", str(config), "--log-level", "info"],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        async def noticed() -> bool:
            logs = stack.parley.log_path.read_text(errors="replace") + log_path.read_text(errors="replace")
            return "another Parley instance is attached" in logs
        await wait_until(noticed, timeout=45, interval=0.5, what="the twin noticed")
        # Whichever instance noticed says so in /health; the one the stack started serves it.
        if "another Parley instance is attached" in stack.parley.log_path.read_text(errors="replace"):
            url = f"http://127.0.0.1:{stack.settings.component_port + 2}/health"
            status, body = await asyncio.get_running_loop().run_in_executor(None, _get, url)
            assert status == 503 and json.loads(body)["twin"] is True, body
    finally:
        twin.terminate()
        try:
            twin.wait(10)
        except subprocess.TimeoutExpired:
            twin.kill()
            twin.wait()
