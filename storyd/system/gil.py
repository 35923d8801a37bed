"""Running blocking work on a worker thread while the trio thread is busy: the GIL handoff.

Theory of operation (issue 23): CPython's GIL has a convoy effect (bpo-7946). A thread that
wants the GIL waits on a condition for the switch interval (5 ms) and only then asks the
holder to give it up; but every time the holder lets the GIL go for a moment — and trio's
loop does, for its zero-timeout poll between task steps, every few hundred microseconds
under a chat flood — the waiter is woken, finds the GIL taken again and starts a fresh
5 ms wait. It never asks; it waits until the trio thread goes idle. Measured: a ballot
flush whose thread work takes 0.34 s started 1.5 s late while chat was being counted, and
the durable acknowledgement of every ballot waited for it (tests/bench/bench_chat_ingest.py).

`run_sync` is `trio.to_thread.run_sync` plus a small task that, while the call is in flight,
sleeps `PAUSE` seconds every `EVERY` seconds *blocking* (time.sleep lets the GIL go for
that long): long enough for a waiting worker to take it. The worker then runs until its next
blocking call (SQLite's step, a file write) lets the GIL go. Cost: PAUSE/EVERY = 0.5 % of
the trio thread while a call is in flight, nothing otherwise; a 0.1 ms pause delays no timer
that matters (the vote ticker is 100 ms). Measured by tests/bench/bench_store_handoff.py (a
save of 20,000 ballots while the trio thread counts a flood from 100k viewers): 156 ms
median, 197 ms worst, against 1.6 s median and 7 s worst without the handoff; the flood
was counted 6 % slower meanwhile, within that bench's noise. EVERY = 5 ms gave 106 ms saves
for 19 % of the flood; 50 ms gave 263 ms saves.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TypeVar

import outcome
import trio

T = TypeVar("T")

PAUSE = 0.0001      # seconds the trio thread lets the GIL go, blocking
EVERY = 0.02        # ... once per this many seconds while a worker call is in flight


_block = time.sleep     # blocking on purpose: while it sleeps, the GIL is free to take


async def _hand_over(pause: float, every: float) -> None:
    while True:
        await trio.sleep(every)
        _block(pause)


async def run_sync(fn: Callable[[], T], *, limiter: trio.CapacityLimiter | None = None,
                   pause: float = PAUSE, every: float = EVERY) -> T:
    """`trio.to_thread.run_sync(fn, limiter=limiter)` (not abandoned on cancellation), with
    the GIL handed to the worker now and then while it runs (see the module docstring)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_hand_over, pause, every)
        try:     # the call's own error leaves as it is, not in the nursery's ExceptionGroup
            result: outcome.Outcome[T] = await outcome.acapture(
                functools.partial(trio.to_thread.run_sync, fn, limiter=limiter))
        finally:
            nursery.cancel_scope.cancel()
    return result.unwrap()
