"""Writes the disk refused, kept in memory and retried in order (issue 11: disk full mid-show).

Theory of operation: SQLite reports a full disk (SQLITE_FULL), a read-only database or data
directory (SQLITE_READONLY, SQLITE_CANTOPEN) and failing storage (SQLITE_IOERR) with its own
result codes; `resource_problem` turns those into one operator-facing sentence and returns
None for every other error (a bug or bad input, which still raises). The `Backlog` is the
bounded FIFO of write calls (query function + arguments) that failed that way. While it is
not empty every new write joins its end, so the database sees the writes in the order the
show made them; `drain` replays them from the front until one fails again. Every query
function runs in its own transaction, so a replayed write either lands whole or not at all.

Bound: at most MAX_PENDING writes wait. Beyond that the oldest is dropped and counted
(`dropped`) — memory stays bounded however long the disk stays full; the notice says so.
All methods run on the store's worker thread (under its CapacityLimiter), never concurrently.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_PENDING = 20_000

# SQLite primary result codes (the low byte of the extended code)
_FULL, _READONLY, _IOERR, _CANTOPEN = 13, 8, 10, 14
_WHY = {_FULL: "the disk is full", _READONLY: "the database or data folder is read-only",
        _IOERR: "the disk reports I/O errors", _CANTOPEN: "the database file cannot be opened"}

Write = tuple[Callable[..., Any], tuple[Any, ...]]


def resource_problem(exc: BaseException) -> str | None:
    """What is wrong with the storage, when `exc` is a disk-level SQLite error; else None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _WHY:
        return _WHY[code & 0xFF]
    text = str(exc).lower()   # older builds without error codes: match SQLite's messages
    for needle, why in (("database or disk is full", _WHY[_FULL]),
                        ("readonly database", _WHY[_READONLY]),
                        ("disk i/o error", _WHY[_IOERR])):
        if needle in text:
            return why
    return None


class Backlog:
    """The writes waiting for the disk, oldest first."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._queue: deque[Write] = deque()
        self.max_pending = max_pending
        self.problem: str | None = None   # why the last attempt failed; None = disk is fine
        self.dropped = 0                  # writes given up (queue full, or refused on replay)
        self.saved_late = 0               # writes that reached the disk on a retry

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if len(self._queue) >= self.max_pending:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append((fn, args))

    def drain(self, conn: sqlite3.Connection) -> None:
        """Replay waiting writes in order until one fails for a disk reason again."""
        while self._queue:
            fn, args = self._queue[0]
            try:
                fn(conn, *args)
            except Exception as exc:  # noqa: BLE001 — classified below, never lost silently
                why = resource_problem(exc)
                if why is not None:
                    self.problem = why
                    return
                self._queue.popleft()   # it can never succeed (e.g. its session is gone)
                self.dropped += 1
                log.error("a delayed %s write was refused and dropped: %s", fn.__name__, exc)
                continue
            self._queue.popleft()
            self.saved_late += 1
        self.problem = None
