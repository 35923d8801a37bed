"""Vote-to-overlay latency: 100 overlay websockets (another process) while 2,000 votes/s arrive.

Run: .venv/bin/python tests/bench/bench_vote_latency.py [--clients 100] [--rate 2000] [--seconds 10]

This process runs the real daemon (`storyd.app.run_daemon`: director, bus, Quart-Trio under
hypercorn on 127.0.0.1:0) with a story in its voting phase. The votes come from a *separate
injector process* (`--inject-mode`): `Chat` requests over the control socket carrying the
votes due at the offered rate since the previous one (checked every 5 ms), each vote from a
new viewer for choice A, one request in flight (as `storyctl chat-import` does);
each reply arrives only once its ballots are committed to SQLite (durable acknowledgement).
The overlay clients run in a third process (`--client-mode`, trio-websocket). Both children
stamp with time.monotonic() (CLOCK_MONOTONIC: one clock for all processes on Linux): the
injector the send time of every vote, each client every `story:vote-update` with its total.
A vote's latency is the time from its send until a client first sees a total that includes
it; p50/p99 over every client and every 7th vote. The achieved rate (what the injector got
acknowledged) is printed beside the offered one.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


# ---- the overlay clients (child process) -----------------------------------------------------

async def _client(url: str, ready: trio.Semaphore, out: list[tuple[float, int]],
                  stop: trio.Event) -> None:
    from trio_websocket import open_websocket_url

    async with open_websocket_url(url, message_queue_size=256) as ws:
        await ws.get_message()          # the snapshot
        ready.release()
        while not stop.is_set():
            with trio.move_on_after(0.5):
                msg = json.loads(await ws.get_message())
                if msg["event"] == "story:vote-update":
                    out.append((time.monotonic(), sum(msg["data"]["counts"])))


async def client_mode(url: str, clients: int, seconds: float) -> None:
    received: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        ready = trio.Semaphore(0)
        for i in range(clients):
            nursery.start_soon(_client, url, ready, received[i], stop)
        for _ in range(clients):
            await ready.acquire()
        print("READY", flush=True)
        await trio.sleep(seconds)
        stop.set()
    print(json.dumps(received), flush=True)


# ---- the vote injector (child process) ---------------------------------------------------

async def inject_mode(sock: str, rate: int, seconds: float) -> None:
    from storyd.control import protocol as p

    sent: list[float] = []                   # monotonic send time of vote i
    stream = await trio.open_unix_socket(sock)
    buf = bytearray()
    start = trio.current_time()
    tick = 0
    async with stream:
        while (elapsed := trio.current_time() - start) < seconds:
            # what the audience typed since the last request (a bridge batches while it
            # waits for an acknowledgement), at most 500 per request
            due = min(int(elapsed * rate) - len(sent), 500)
            if due <= 0:
                tick += 1
                await trio.sleep_until(start + tick * 0.005)
                continue
            n0 = len(sent)
            lines = [p.ChatLine(platform="bench", user_id=f"v{n0 + i}", text="!a")
                     for i in range(due)]
            t = time.monotonic()
            await stream.send_all(p.encode(p.Envelope(id=n0 + 1,
                                                      request=p.Chat(messages=lines))))
            while (nl := buf.find(b"\n")) < 0:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    raise RuntimeError("storyd closed the control connection")
                buf.extend(chunk)
            del buf[:nl + 1]
            sent.extend([t] * due)
    achieved = len(sent) / (trio.current_time() - start)
    print(json.dumps({"sent": sent, "achieved": achieved}), flush=True)


# ---- the daemon (this process) -----------------------------------------------------------

CONFIG = """\
[server]
port = 0
[control]
socket = "{tmp}/control.sock"
[storage]
data_dir = "{tmp}/data"
cache_dir = "{tmp}/cache"
[tts]
enabled = false
[images]
enabled = false
[story]
reveal = "full"
[voting]
duration = 300
"""


async def start_voting_daemon(nursery: trio.Nursery) -> Any:
    """The real daemon (CONFIG, temporary folders) in `nursery`, once its story is voting."""
    from storyd.app import run_daemon
    from storyd.config import loader as config_mod
    from storyd.control import protocol as p
    from storyd.control.dispatch import handle
    from storyd.core import events

    tmp = Path(tempfile.mkdtemp(prefix="storyd-bench-"))
    path = tmp / "storyd.toml"
    path.write_text(CONFIG.format(tmp=tmp), encoding="utf-8")
    cfg = config_mod.load(path)
    daemon: Any = await nursery.start(functools.partial(run_daemon, cfg, path))
    with daemon.bus.subscribe() as sub:
        await handle(daemon.operator, p.Start(theme="fantasy"))
        with trio.fail_after(60):
            async for ev in sub:
                if isinstance(ev, events.State) and ev.data.state == "voting":
                    break
    return daemon


async def start_clients(daemon: Any, clients: int, seconds: float, ready_within: float
                        ) -> tuple[trio.Process, bytes]:
    """The overlay clients' process (`--client-mode`) once all are connected, and what it
    printed after READY."""
    url = daemon.web_url.replace("http://", "ws://") + "/ws/overlay"
    proc = await trio.lowlevel.open_process(
        [sys.executable, __file__, "--client-mode", url, "--clients", str(clients),
         "--seconds", str(seconds)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    buf = b""
    with trio.fail_after(ready_within):
        while b"READY\n" not in buf:
            chunk = await proc.stdout.receive_some()
            if not chunk:
                raise RuntimeError("the client process ended before it was ready")
            buf += chunk
    return proc, buf.split(b"READY\n", 1)[1]


async def main(clients: int, rate: int, seconds: float) -> None:
    async with trio.open_nursery() as nursery:
        daemon = await start_voting_daemon(nursery)
        proc, buf = await start_clients(daemon, clients, seconds + 3.0, 60)
        assert proc.stdout is not None
        injector = await trio.lowlevel.open_process(
            [sys.executable, __file__, "--inject-mode", str(daemon.socket_path),
             "--rate", str(rate), "--seconds", str(seconds)], stdout=subprocess.PIPE)
        assert injector.stdout is not None
        out = b""
        while chunk := await injector.stdout.receive_some():
            out += chunk
        await injector.wait()
        injected = json.loads(out)
        submitted: list[float] = injected["sent"]
        achieved = injected["achieved"]
        while True:                              # the child prints its stamps, then exits
            chunk = await proc.stdout.receive_some()
            if not chunk:
                break
            buf += chunk
        await proc.wait()
        dropped = daemon.bus.dropped
        daemon.stop()
    received: list[list[list[float]]] = json.loads(buf)
    lat: list[float] = []
    missed = 0
    for rec in received:
        totals = [int(n) for _, n in rec]
        for vote in range(0, len(submitted), 7):
            k = bisect.bisect_left(totals, vote + 1)
            if k == len(totals):
                missed += 1
                continue
            lat.append(rec[k][0] - submitted[vote])
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000

    per_client = sum(len(r) for r in received) / clients / seconds
    print(f"clients={clients} (separate process); votes from a separate process over the "
          f"control socket, acknowledged only once committed: offered={rate}/s "
          f"achieved={achieved:.0f}/s seconds={seconds:g}")
    print(f"vote-to-overlay latency: p50={pct(0.5):.1f} ms  p99={pct(0.99):.1f} ms  "
          f"max={lat[-1] * 1000:.1f} ms  (samples={len(lat)}, never delivered={missed})")
    print(f"updates per client per second: {per_client:.1f} (coalesced; target ≤ ~10)")
    print(f"bus drops: {dropped}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--client-mode", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--inject-mode", metavar="SOCKET", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inject_mode:
        trio.run(inject_mode, a.inject_mode, a.rate, a.seconds)
    elif a.client_mode:
        trio.run(client_mode, a.client_mode, a.clients, a.seconds)
    else:
        trio.run(main, a.clients, a.rate, a.seconds)
