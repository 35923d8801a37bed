"""Vote-to-overlay latency with 100 overlay websockets while 2,000 votes/s arrive.

Run: .venv/bin/python tests/bench/bench_vote_latency.py [--clients 100] [--rate 2000] [--seconds 10]

The real web front (Quart-Trio under hypercorn on 127.0.0.1:0) serves 100 trio-websocket
clients in the same process (a pessimistic set-up: clients and server share one CPU core).
Votes are published on the real EventBus as `story:vote-update` events, each carrying its
sequence number, in 10 ms batches. For every vote, its latency is the time until a client
first receives an update whose sequence number includes it (updates are coalesced to
≤ 10/s per client, so most votes ride in a later update). p50/p99 over all clients and votes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import tempfile
import time
from pathlib import Path

import trio
from trio_websocket import open_websocket_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from web_harness import FakeDaemon, running_web  # noqa: E402


async def client(url: str, ready: trio.Semaphore, out: list[tuple[float, int]],
                 stop: trio.Event) -> None:
    async with open_websocket_url(url, message_queue_size=64) as ws:
        await ws.get_message()          # the snapshot
        ready.release()
        while not stop.is_set():
            msg = json.loads(await ws.get_message())
            if msg["event"] == "story:vote-update":
                out.append((time.perf_counter(), msg["data"]["seq"]))


async def main(clients: int, rate: int, seconds: float) -> None:
    daemon = FakeDaemon(Path(tempfile.mkdtemp()))
    published: list[float] = []      # publish time of vote seq i
    received: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    stop = trio.Event()
    async with running_web(daemon) as base:
        url = base.replace("http://", "ws://") + "/ws/overlay"
        ready = trio.Semaphore(0)
        async with trio.open_nursery() as nursery:
            for i in range(clients):
                nursery.start_soon(client, url, ready, received[i], stop)
            for _ in range(clients):
                await ready.acquire()
            batch = rate // 100
            start = trio.current_time()
            tick = 0
            while trio.current_time() - start < seconds:
                for _ in range(batch):
                    seq = len(published)
                    published.append(time.perf_counter())
                    daemon.bus.publish("story:vote-update",
                                       {"counts": [seq, 0, 0], "voters": seq, "seq": seq})
                tick += 1
                await trio.sleep_until(start + tick * 0.01)
            achieved = len(published) / (trio.current_time() - start)
            await trio.sleep(0.5)            # let the last coalesced updates arrive
            stop.set()
            daemon.bus.publish("story:state", {"state": "idle"})
            nursery.cancel_scope.cancel()
    lat: list[float] = []
    missed = 0
    for rec in received:
        seqs = [s for _, s in rec]
        for vote in range(0, len(published), 7):     # sample every 7th vote
            k = bisect.bisect_left(seqs, vote)
            if k == len(seqs):
                missed += 1
                continue
            lat.append(rec[k][0] - published[vote])
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    per_client = sum(len(r) for r in received) / clients / seconds
    print(f"clients={clients} votes/s offered={rate} achieved={achieved:.0f} "
          f"seconds={seconds:g}")
    print(f"vote-to-overlay latency: p50={pct(0.5):.1f} ms  p99={pct(0.99):.1f} ms  "
          f"max={lat[-1] * 1000:.1f} ms  (samples={len(lat)}, never delivered={missed})")
    print(f"updates per client per second: {per_client:.1f} (coalesced; target ≤ ~10)")
    print(f"bus drops: {daemon.bus.dropped}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    trio.run(main, a.clients, a.rate, a.seconds)
