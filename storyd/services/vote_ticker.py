"""THE vote-update throttle, and the leaders channel.

Theory of operation: `changed()` marks the counts as changed. The ticker publishes one
`story:vote-update` with the round's counts at once when the last one is older than TICK,
else at the last one + TICK (a fixed period: ≤ 10/s, never TICK plus the work), and none
while nothing changes. Nothing downstream throttles them again (the bus keeps only the
newest one queued per subscriber; the websockets send what they get).

With each tick, when the order of the leading choices (most votes first, ties: the lower
index first) differs from the order last sent, it goes into the channel given to
`send_leaders_to` without blocking: a full channel gets the latest order with a later tick,
never a stale one. `round_started()` sends a new round's first order at once.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.voting import VoteRound

TICK = 0.1              # the one vote-update throttle (≤ 10 updates/s)


def leading_order(counts: tuple[int, ...]) -> tuple[int, ...]:
    """Choice indices, most votes first (ties: the lower index first)."""
    return tuple(sorted(range(len(counts)), key=lambda i: (-counts[i], i)))


class VoteTicker:
    def __init__(self, bus: EventBus, current: Callable[[], VoteRound | None]) -> None:
        self._bus = bus
        self._current = current
        self._changed = trio.Event()
        self._to: trio.MemorySendChannel[tuple[int, ...]] | None = None
        self._sent: tuple[int, ...] = ()

    def changed(self) -> None:
        self._changed.set()

    def send_leaders_to(self, channel: trio.MemorySendChannel[tuple[int, ...]] | None) -> None:
        """From now on every change of the leading order goes into `channel`; None: stop."""
        self._to, self._sent = channel, ()
        self._send_leaders()

    def round_started(self) -> None:
        self._sent = ()
        self._send_leaders()

    async def run(self) -> None:
        while True:
            await self._changed.wait()
            published = trio.current_time()
            self._changed = trio.Event()
            r = self._current()
            if r is not None:
                self._bus.publish(ev.VoteUpdate(ev.VoteUpdateData(
                    round_id=r.round_id, counts=r.counts, voters=r.voters,
                    invalid=r.invalid)))
                self._send_leaders()
            await trio.sleep_until(published + TICK)   # a period of TICK, not TICK + work

    def _send_leaders(self) -> None:
        r = self._current()
        if self._to is None or r is None or r.closed:
            return
        order = leading_order(r.counts)
        if order == self._sent:
            return
        try:
            self._to.send_nowait(order)
        except trio.WouldBlock:     # the reader is behind: the latest order with a later tick
            self._changed.set()
            return
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self._to = None
            return
        self._sent = order
