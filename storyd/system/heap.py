"""The garbage collector of a daemon that starts (issue 23: ready within 1 s) and then is
ready (issue 23: the vote-to-overlay p99).

While storyd starts (`starting`, entered first thing by `storyd`) the collector is off: the
start builds ~150k long-lived objects (modules, classes, the config, the web app) and
almost no garbage, yet Python's thresholds would walk that growing heap again and again
(~50 ms of a ~600 ms start, measured with tests/bench/bench_ready.py). Only the few
thousand unreachable objects a start leaves (~3k, measured) are kept for good by the freeze
below: a full collection to find them would cost more (60-100 ms) than they weigh.

Once the daemon is ready (`settle`), everything it built lives as long as the process:
`gc.freeze()` moves it out of every later pass, so a full collection only looks at what the
show made since. Young-generation passes then run every YOUNG new objects instead of
Python's 700: with hundreds of overlay websockets and thousands of votes a second, Python's
thresholds ran a full pass every ~1.5 s that paused the event loop for up to 220 ms
(measured with tests/bench/bench_vote_latency.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 10_000


@contextmanager
def starting() -> Iterator[None]:
    """Around the daemon's whole run, entered first thing: no collections until `settle`;
    a return before that (`--check-config`, an error) leaves the collector as it found it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def settle() -> None:
    """Call once, when the daemon is ready (also when `starting` was not called)."""
    gc.freeze()
    gc.set_threshold(YOUNG, 10, 10)
    gc.enable()
