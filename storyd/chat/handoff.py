"""A bounded hand-off of items from a foreign thread (TikTokLive's asyncio loop) to trio.

Theory of operation: `put()` (any thread, never blocks) appends to a deque under a lock; a
full queue drops the new item and counts it in `dropped`. The trio side is woken through
the trio token's `run_sync_soon` only when the queue goes from "drained" to "has items", so
at most one wake-up callback is ever waiting in trio's (unbounded) run-sync-soon queue,
however fast the other thread produces. `get_batch()` (trio) takes up to `max_items` at once.

Invariant: `_wake_pending` is False only when the trio side found the queue empty and is (or
is about to be) waiting on `_event`; every `put` that sees it False schedules one wake-up.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Generic, Protocol, TypeVar

import trio

T = TypeVar("T")


class _Token(Protocol):
    def run_sync_soon(self, sync_fn: Any, *args: Any) -> None: ...


class Handoff(Generic[T]):
    def __init__(self, capacity: int, token: _Token | None = None) -> None:
        self.capacity = max(int(capacity), 1)
        self.dropped = 0
        self._token: _Token = token if token is not None else trio.lowlevel.current_trio_token()
        self._lock = threading.Lock()
        self._items: deque[T] = deque()
        self._wake_pending = True       # until the trio side first waits, no wake-up needed
        self._event = trio.Event()

    def put(self, item: T) -> bool:
        """Queue one item (any thread). False when the queue was full: dropped and counted."""
        with self._lock:
            if len(self._items) >= self.capacity:
                self.dropped += 1
                return False
            self._items.append(item)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            try:
                self._token.run_sync_soon(self._wake)
            except trio.RunFinishedError:
                pass
        return True

    def _wake(self) -> None:
        self._event.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    async def get_batch(self, max_items: int) -> list[T]:
        """Up to `max_items` items in arrival order; waits while there are none (trio)."""
        while True:
            with self._lock:
                if self._items:
                    n = min(max_items, len(self._items))
                    return [self._items.popleft() for _ in range(n)]
                self._wake_pending = False
                event = self._event = trio.Event()
            await event.wait()
