"""The garbage collector of a daemon that is ready (issue 23: the vote-to-overlay p99).

Once startup is over, everything it built (imported modules, config, providers, the story
on air) lives as long as the process: `gc.freeze()` moves it out of every later pass, so a
full collection only looks at what the show made since. Young-generation passes then run
every YOUNG new objects instead of Python's 700: with hundreds of overlay websockets and
thousands of votes a second, Python's thresholds ran a full pass every ~1.5 s that paused
the event loop for up to 220 ms (measured with tests/bench/bench_vote_latency.py).
"""

from __future__ import annotations

import gc

YOUNG = 10_000


def settle() -> None:
    """Call once, when the daemon is ready."""
    gc.freeze()
    gc.set_threshold(YOUNG, 10, 10)
