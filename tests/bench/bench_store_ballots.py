"""Benchmark: Store.save_ballots with 100,000 rows in one call (new viewers, then every row
changed), and the steady-state case of a 2,000-row dirty batch once a second: each is an
append to the ballot log (store/ballot_log.py). Then the fold of those entries into
story_ballots (what the credit service does after the close, off the show's path), timed
in its steps.

Run: .venv/bin/python tests/bench/bench_store_ballots.py [ROWS]
Prints rows/s per phase; uses a temporary database file on the local disk.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import trio

from storyd.core.model import ChapterDraft, ChapterRecord
from storyd.store import ballot_log
from storyd.store.db import Store


async def bench(rows_n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.sqlite3")
        try:
            sid = await store.create_session(theme="fantasy", language="English", outline="",
                                             started_at=0.0, settings={})
            await store.add_chapter(ChapterRecord(
                session_id=sid, number=1, closing=False, created_at=0.0,
                draft=ChapterDraft(title="t", text="x", choices=("a", "b", "c"),
                                   provider="bench")))
            await store.open_round(sid, 1, round_id=1, choices=["a", "b", "c"], opens_at=0.0,
                                   ends_at=60.0)
            rows = [(f"viewer-{i:07d}", f"Viewer number {i}", i % 3, 1) for i in range(rows_n)]
            changed = [(v, n, (c + 1) % 3, w) for v, n, c, w in rows]
            dirty = changed[: min(2000, rows_n)]
            for label, batch in (("insert", rows), ("upsert (all changed)", changed),
                                 ("dirty batch", dirty)):
                t0 = time.perf_counter()
                await store.save_ballots(sid, 1, batch, now=1.0)
                dt = time.perf_counter() - t0
                print(f"save_ballots {label:22s} {len(batch):>7,d} rows in {dt * 1000:8.1f} ms"
                      f"  = {len(batch) / dt:>10,.0f} rows/s")
            entries = 2 * rows_n + len(dirty)
            t0 = time.perf_counter()
            steps = 0
            while await store._run(ballot_log.fold, ballot_log.FOLD_STEP):
                steps += 1
            dt = time.perf_counter() - t0
            print(f"fold {entries:,d} log entries into story_ballots in {steps} steps of "
                  f"{ballot_log.FOLD_STEP:,d}: {dt * 1000:8.1f} ms = {entries / dt:>10,.0f} "
                  f"entries/s, longest step ~{dt / max(steps, 1) * 1000:.0f} ms")
            stats = await store.stats()
            print(f"ballots stored: {stats['ballots']:,d}; file {stats['file_bytes']:,d} B,"
                  f" WAL {stats['wal_bytes']:,d} B")
        finally:
            await store.aclose()


def main() -> None:
    trio.run(bench, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)


if __name__ == "__main__":
    main()
