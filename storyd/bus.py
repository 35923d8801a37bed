"""The event bus: one bounded channel per subscriber; publishers never block.

Theory of operation: `publish()` is synchronous and called from the trio thread. Each
subscriber owns a bounded memory channel. When a subscriber's buffer is full the event is
dropped *for that subscriber only* and counted; overlays receive a full `story:state`
snapshot after every transition, so a dropped update costs nothing but a frame. A slow or
dead client can therefore never delay the story or other clients.

Events are plain dicts `{"event": NAME, "data": {...}}` (the websocket wire format), built
once and shared by every subscriber.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trio

Event = dict[str, Any]

DEFAULT_BUFFER = 256  # per subscriber; overflow policy: drop newest for that subscriber, count it


class Subscription:
    def __init__(self, bus: EventBus, size: int) -> None:
        self._bus = bus
        self._send, self.receive = trio.open_memory_channel[Event](size)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self.dropped += 1
            self._bus.dropped += 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._bus._subs.discard(self)

    def close(self) -> None:
        self._send.close()
        self._bus._subs.discard(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.receive.receive()
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

    def publish(self, name: str, data: dict[str, Any]) -> None:
        """Hand one event to every subscriber without blocking."""
        self.published += 1
        event: Event = {"event": name, "data": data}
        for sub in list(self._subs):
            sub.offer(event)

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
