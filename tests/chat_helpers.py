"""Shared by the chat source tests: a health record that wakes waiters when it changes."""

from __future__ import annotations

from collections.abc import Callable

import trio

from storyd.chat.base import ChatHealth

HEALTH_CHANGED: dict[int, trio.Event] = {}


class WatchedHealth(ChatHealth):
    """ChatHealth that wakes waiters on every change (the source writes it on the trio thread)."""

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        changed = HEALTH_CHANGED.get(id(self))
        if changed is not None:
            HEALTH_CHANGED[id(self)] = trio.Event()
            changed.set()


async def until(health: ChatHealth, pred: Callable[[], bool]) -> None:
    """Wait until `pred()` holds, re-checking whenever the health record changes."""
    while not pred():
        event = HEALTH_CHANGED.setdefault(id(health), trio.Event())
        await event.wait()
