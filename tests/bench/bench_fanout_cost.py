"""What one `story:vote-update` costs the daemon to deliver to N overlay websockets, in CPU.

Run: .venv/bin/python tests/bench/bench_fanout_cost.py [--clients 100,500] [--updates 50]

Wall-clock latency on a shared machine depends on who else runs; the daemon's own CPU time
(os.times: user and kernel) per delivered update does not. This process runs the real daemon
(`storyd.app.run_daemon`: bus, Quart-Trio under hypercorn on 127.0.0.1:0) with a story in its
voting phase; the overlay clients run in another process (trio-websocket, the client of
bench_vote_latency.py). For each client count: windows of `--updates` ticks at 10/s, where a
busy window publishes one vote update per tick on the bus (what the voting service's ticker
does) and an idle window publishes nothing; they alternate (idle, busy, idle, busy, ...), and
the figures are (busy CPU - idle CPU) per update, the median over the rounds, and that
CPU over the frames the clients received (a client that falls behind gets only the newest
update: fewer frames, so the per-update figure alone would flatter a slow client process;
the per-frame one does not). How many of the updates every client received is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_vote_latency import start_clients, start_voting_daemon  # noqa: E402

TICK = 0.1


def _cpu() -> tuple[float, float]:
    """(user, system) CPU seconds of this process so far."""
    t = os.times()
    return t.user, t.system


async def _window(daemon: Any, round_id: int, updates: int, first_total: int,
                  publish: bool) -> tuple[float, float]:
    from storyd.core import events

    user, system = _cpu()
    start = trio.current_time()
    for i in range(updates):
        if publish:
            total = first_total + i
            daemon.bus.publish(events.VoteUpdate(events.VoteUpdateData(
                round_id=round_id, counts=(total, 0), voters=total)))
        await trio.sleep_until(start + (i + 1) * TICK)
    user2, system2 = _cpu()
    return user2 - user, system2 - system


async def measure(clients: int, updates: int, rounds: int) -> None:
    async with trio.open_nursery() as nursery:
        daemon = await start_voting_daemon(nursery)
        round_id = daemon.voting.round.round_id
        client_seconds = 2 * rounds * updates * TICK + 10.0
        proc, buf = await start_clients(daemon, clients, client_seconds, 120)
        assert proc.stdout is not None
        started = trio.current_time()
        per_update: list[float] = []
        spent = [0.0, 0.0]          # user, system
        total = 1_000_000
        for _ in range(rounds):
            idle = await _window(daemon, round_id, updates, total, publish=False)
            busy = await _window(daemon, round_id, updates, total, publish=True)
            total += updates
            per_update.append((sum(busy) - sum(idle)) / updates)
            spent[0] += busy[0] - idle[0]
            spent[1] += busy[1] - idle[1]
        await trio.sleep_until(started + client_seconds + 1.0)
        while chunk := await proc.stdout.receive_some():
            buf += chunk
        await proc.wait()
        daemon.stop()
    received: list[list[list[float]]] = json.loads(buf)
    published = rounds * updates
    got = [len({int(n) for _, n in rec}) for rec in received]
    ms = statistics.median(per_update) * 1000
    print(f"clients={clients} (separate process): {published} vote updates published at "
          f"10/s; received by every client: min {min(got)} max {max(got)} of {published}")
    print(f"  daemon CPU per update to all {clients} clients: median {ms:.2f} ms (rounds: "
          f"{', '.join(f'{x * 1000:.2f}' for x in per_update)} ms); per frame received: "
          f"{sum(spent) / sum(got) * 1e6:.1f} µs (user {spent[0] / sum(got) * 1e6:.1f}, "
          f"kernel {spent[1] / sum(got) * 1e6:.1f})")


async def main(clients: list[int], updates: int, rounds: int) -> None:
    for n in clients:
        await measure(n, updates, rounds)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="100,500")
    ap.add_argument("--updates", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    trio.run(main, [int(c) for c in a.clients.split(",")], a.updates, a.rounds)
