"""A ballot flush's wall time while the trio thread counts a chat flood: with the GIL handoff
(system/gil.py, as shipped) and without it (plain trio.to_thread.run_sync).

    python tests/bench/bench_store_handoff.py [--viewers 100000] [--rows 20000]
                                              [--flushes 20] [--rounds 2]

A real `Store` on a temporary SQLite file (WAL). On the trio thread a task counts pre-built
chat batches of 1,000 (`VoteRound.ingest`, the realistic mix of bench_vote_core.py) with a
checkpoint after each, without pause — a flood that keeps the trio thread busy, as a source
does at its limit. Meanwhile `Store.save_ballots` of `--rows` new voters' rows is called
`--flushes` times, one after another, each timed from the call to its return (what an
acknowledgement waits for). Printed per mode, interleaved `--rounds` times: the median and
the worst save, the store thread's own CPU time per save (the save without any waiting), and
the chat messages counted per second on the trio thread meanwhile (what the handoff costs
the flood), then the medians.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from storyd.core.voting import RoundRules, VoteRound  # noqa: E402
from storyd.store.db import Store  # noqa: E402
from storyd.system import gil  # noqa: E402
from tests.bench.bench_vote_core import chat_messages  # noqa: E402
from tests.test_store import open_voting  # noqa: E402

SHIPPED = gil.run_sync


async def run_mode(mode: str, path: Path, batches: list[Any], rows: int, flushes: int,
                   ) -> dict[str, float]:
    cpu: list[float] = []

    def timed(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            c = time.thread_time()
            try:
                return fn()
            finally:
                cpu.append(time.thread_time() - c)
        return run

    async def handoff(fn: Callable[[], Any], *, limiter: Any = None) -> Any:
        return await SHIPPED(timed(fn), limiter=limiter)

    async def plain(fn: Callable[[], Any], *, limiter: Any = None) -> Any:
        return await trio.to_thread.run_sync(timed(fn), limiter=limiter)

    gil.run_sync = handoff if mode == "handoff" else plain   # type: ignore[assignment]
    store = await Store.open(path)
    sid = await open_voting(store)
    counted = 0
    saves: list[float] = []
    try:
        rnd = VoteRound(round_id=1, n_choices=4, rules=RoundRules(), opens_at=0.0,
                        ends_at=1e9, seed=1)
        async with trio.open_nursery() as nursery:
            async def flood() -> None:
                nonlocal counted
                while True:
                    for b in batches:
                        rnd.ingest(b)
                        counted += len(b)
                        await trio.lowlevel.checkpoint()

            nursery.start_soon(flood)
            await trio.sleep(0.2)
            t0, n0 = time.perf_counter(), counted
            for k in range(flushes):
                batch = [(f"tiktok:{mode}{k}-{i}", f"viewer {i}", i % 4, 1) for i in range(rows)]
                s0 = time.perf_counter()
                await store.save_ballots(sid, 1, batch, now=float(k))
                saves.append(time.perf_counter() - s0)
            rate = (counted - n0) / (time.perf_counter() - t0)
            nursery.cancel_scope.cancel()
    finally:
        gil.run_sync = SHIPPED   # type: ignore[assignment]
        await store.aclose()
    return {"median": statistics.median(saves), "worst": max(saves),
            "cpu": statistics.median(cpu), "rate": rate}


async def main(args: argparse.Namespace) -> None:
    msgs = chat_messages(200_000, args.viewers, seed=1)
    batches = [msgs[i:i + 1000] for i in range(0, len(msgs), 1000)]
    results: dict[str, list[dict[str, float]]] = {"handoff": [], "plain": []}
    print(f"python {sys.version.split()[0]}; {args.flushes} saves of {args.rows:,} rows "
          f"each while the trio thread counts chat from {args.viewers:,} viewers")
    with tempfile.TemporaryDirectory(prefix="storyd-handoff-") as tmp:
        for r in range(args.rounds):
            for mode in ("handoff", "plain"):
                res = await run_mode(mode, Path(tmp) / f"{mode}{r}.sqlite3", batches,
                                     args.rows, args.flushes)
                results[mode].append(res)
                print(f"round {r + 1} {mode:>7}: save median {res['median'] * 1e3:7.1f} ms, "
                      f"worst {res['worst'] * 1e3:7.1f} ms, store-thread CPU "
                      f"{res['cpu'] * 1e3:6.1f} ms; chat counted meanwhile "
                      f"{res['rate']:>11,.0f} msgs/s", flush=True)
    print("medians:")
    for mode, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"  {mode:>7}: save {med['median'] * 1e3:7.1f} ms (worst "
              f"{med['worst'] * 1e3:7.1f} ms, its own CPU {med['cpu'] * 1e3:6.1f} ms); chat "
              f"counted meanwhile {med['rate']:>11,.0f} msgs/s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewers", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--flushes", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    trio.run(functools.partial(main, ap.parse_args()))
