"""The one clock of the daemon: epoch seconds read off trio's clock.

`TrioClock` fixes the offset between wall time and trio time once, at construction, so
everything the services compute (vote deadlines, heartbeats, `…_ms` on the wire) moves with
trio's clock — under `autojump_clock` tests virtual time is the story's time too. Nothing
monotonic leaves the process: `ms()` is epoch milliseconds; `trio_deadline()` converts an
epoch time back for `trio.move_on_at`.
"""

from __future__ import annotations

import time

import trio


class TrioClock:
    def __init__(self) -> None:
        self._offset = time.time() - trio.current_time()

    def now(self) -> float:
        """Epoch seconds."""
        return self._offset + trio.current_time()

    def ms(self, epoch: float | None = None) -> int:
        """Epoch milliseconds (of `epoch`, or now)."""
        return int((self.now() if epoch is None else epoch) * 1000)

    def trio_deadline(self, epoch: float) -> float:
        return epoch - self._offset

    def from_trio(self, trio_time: float) -> float:
        """A trio-clock time (a provider's cooldown) as epoch seconds."""
        return trio_time + self._offset
