"""The event bus: one bounded queue per subscriber; publishers never block.

Theory of operation: `publish()` is synchronous, called from the trio thread with a typed
event (storyd/core/events.py), built once and shared by every subscriber. Each subscriber owns
a bounded queue. A queue holds at most one `story:vote-update`: a newer one replaces the
queued one (which goes, and the newer joins the end, so the order of events is kept) —
that is not a throttle (the voting service's ticker is the only one, ≤ 10/s), only stale
counts never waiting in line. When a queue is full, room is made by the overflow policy,
which never loses the show's state:
  1. the oldest *lossy* event goes (a `story:vote-update`: the next one carries the counts);
  2. else, when the newcomer is a `story:state`, the oldest queued snapshot goes (only the
     latest snapshot matters: each one is complete);
  3. else the oldest event that is not a snapshot goes;
  4. else (a queue of snapshots only, newcomer not a snapshot) the newcomer is dropped.
Every drop is counted per subscriber and on the bus. A slow or dead client can therefore never
delay the story or other clients, and always ends up with the latest `story:state`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from storyd.core import events as ev

Event = ev.BusEvent

DEFAULT_BUFFER = 256  # per subscriber; overflow: see the policy above


class Subscription:
    def __init__(self, bus: EventBus, size: int) -> None:
        self._bus = bus
        self._size = max(size, 1)
        self._queue: deque[Event] = deque()
        self._ready = trio.Event()
        self.closed = False
        self.dropped = 0
        self.replaced = 0          # queued vote updates a newer one replaced
        self._votes_queued = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        q = self._queue
        vote = isinstance(event, ev.VoteUpdate)
        if vote and self._votes_queued:     # the queued counts are stale: only the newest
            for i, queued in enumerate(q):
                if isinstance(queued, ev.VoteUpdate):
                    del q[i]
                    self.replaced += 1
                    break
            self._votes_queued = False
        if len(q) >= self._size and not self._make_room(isinstance(event, ev.State)):
            self._drop()
            return
        q.append(event)
        self._votes_queued = self._votes_queued or vote
        self._ready.set()

    def _make_room(self, incoming_state: bool) -> bool:
        q = self._queue
        victim = next((i for i, e in enumerate(q) if isinstance(e, ev.VoteUpdate)), None)
        if victim is None and incoming_state:
            victim = next((i for i, e in enumerate(q) if isinstance(e, ev.State)), None)
        if victim is None:
            victim = next((i for i, e in enumerate(q) if not isinstance(e, ev.State)), None)
        if victim is None:
            return False
        if isinstance(q[victim], ev.VoteUpdate):
            self._votes_queued = False
        del q[victim]
        self._drop()
        return True

    def _drop(self) -> None:
        self.dropped += 1
        self._bus.dropped += 1

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._bus._discard(self)

    def get_nowait(self) -> Event:
        """The next queued event; trio.WouldBlock when none, trio.EndOfChannel once closed
        and drained."""
        if self._queue:
            event = self._queue.popleft()
            if isinstance(event, ev.VoteUpdate):
                self._votes_queued = False
            return event
        if self.closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    def wake(self) -> None:
        """Wake the task waiting in ready() or get() (it has other work: a websocket's
        writer is handed a pong)."""
        self._ready.set()

    async def ready(self) -> None:
        """Return once an event is queued, the subscription is closed, or wake() ran."""
        if self._queue or self.closed:
            await trio.lowlevel.checkpoint()
            return
        self._ready = trio.Event()
        await self._ready.wait()

    async def get(self) -> Event:
        while True:
            try:
                return self.get_nowait()
            except trio.WouldBlock:
                self._ready = trio.Event()
                await self._ready.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.get()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self.published = 0
        self.dropped = 0
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: Event) -> None:
        """Hand one typed event to every subscriber without blocking."""
        self.published += 1
        for sub in list(self._subs):
            sub.offer(event)

    def backlogs(self) -> list[int]:
        """How many events wait in each subscriber's queue (diagnostics and tests)."""
        return [len(sub._queue) for sub in self._subs]

    def _discard(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @contextmanager
    def subscribe(self, size: int = DEFAULT_BUFFER) -> Iterator[Subscription]:
        """A subscription for the with-block; its iteration ends when close_all() runs."""
        sub = Subscription(self, size)
        if self.closed:
            sub.close()
        else:
            self._subs.add(sub)
        try:
            yield sub
        finally:
            sub.close()

    def close_all(self) -> None:
        """Shutdown: every subscriber's iteration ends; later subscriptions end at once."""
        self.closed = True
        for sub in list(self._subs):
            sub.close()
