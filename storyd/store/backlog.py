"""Writes the disk refused, kept in memory and retried in order (issue 11: disk full mid-show;
issue 22: nothing acknowledged is lost, ever).

Theory of operation: SQLite reports a full disk (SQLITE_FULL), a read-only database or data
directory (SQLITE_READONLY, SQLITE_CANTOPEN) and failing storage (SQLITE_IOERR) with its own
result codes; `resource_problem` turns those into one operator-facing sentence and returns
None for every other error (a bug or bad input, which still raises).

Two bounded stores wait for the disk, and are replayed in this order (ballots reference
their round, so the round's writes go first):
- The `Backlog`: the FIFO of other write calls (query function + arguments) that failed
  that way — chapters, rounds, results, memory, viewer stats. While it is not empty every
  new write joins its end, so the database sees the writes in the order the show made them;
  `drain` replays them from the front until one fails again. A keyed write (an open
  round's heartbeat) replaces its waiting predecessor instead of queueing behind it. Bound:
  MAX_PENDING writes; beyond that the oldest is dropped and counted (`dropped`).
- The `BallotBuffer`: ballots the disk refused, the newest per (session, chapter, viewer)
  — exactly what the upsert into story_ballots would have kept. These include acknowledged
  ballots, so they are never dropped: at MAX_BUFFERED_BALLOTS the buffer is *full*, and the
  store refuses new ballots (StoreUnavailable, HTTP 503) instead; the caller sees that
  refusal. `drain` writes them in transactions of DRAIN_CHUNK rows, so a disk with a little
  room takes what fits. About 350 bytes a ballot: at most ~35 MB while the disk stays full.

Every query function runs in its own transaction, so a replayed write lands whole or not at
all. All methods run on the store's worker thread (under its CapacityLimiter), never
concurrently.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from storyd.store import vote_queries as vq

log = logging.getLogger(__name__)

MAX_PENDING = 20_000              # other writes waiting (oldest dropped beyond)
MAX_BUFFERED_BALLOTS = 100_000    # ballots waiting; full: new ballots are refused (503)
DRAIN_CHUNK = 2_000               # ballots per transaction when the buffer is written

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
        self._queue: deque[list[Any]] = deque()     # [fn, args, key]
        self._keyed: dict[Hashable, list[Any]] = {}
        self.max_pending = max_pending
        self.problem: str | None = None   # why the last attempt failed; None = disk is fine
        self.dropped = 0                  # writes given up (queue full, or refused on replay)
        self.saved_late = 0               # writes that reached the disk on a retry

    def __len__(self) -> int:
        return len(self._queue)

    def writes(self) -> list[Write]:
        """What waits, oldest first (for the recovery file)."""
        return [(fn, args) for fn, args, _key in self._queue]

    def add(self, fn: Callable[..., Any], args: tuple[Any, ...],
            key: Hashable | None = None) -> None:
        """Queue a write; a `key` already waiting gets the new arguments in its place."""
        if key is not None and key in self._keyed:
            self._keyed[key][1] = args
            return
        if len(self._queue) >= self.max_pending:
            self._forget(self._queue.popleft())
            self.dropped += 1
        entry = [fn, args, key]
        self._queue.append(entry)
        if key is not None:
            self._keyed[key] = entry

    def _forget(self, entry: list[Any]) -> None:
        if entry[2] is not None:
            self._keyed.pop(entry[2], None)

    def drain(self, conn: sqlite3.Connection) -> None:
        """Replay waiting writes in order until one fails for a disk reason again."""
        while self._queue:
            fn, args, _key = self._queue[0]
            try:
                fn(conn, *args)
            except Exception as exc:  # noqa: BLE001 — classified below, never lost silently
                why = resource_problem(exc)
                if why is not None:
                    self.problem = why
                    return
                self._forget(self._queue.popleft())  # it can never succeed (its session is gone)
                self.dropped += 1
                log.error("a delayed %s write was refused and dropped: %s", fn.__name__, exc)
                continue
            self._forget(self._queue.popleft())
            self.saved_late += 1
        self.problem = None


Ballot = tuple[str, int, int, float]     # name, choice, weight, updated_at


class BallotBuffer:
    """Ballots waiting for the disk: the newest per (session, chapter, viewer), oldest key
    first. Never drops one; `full` says when the store must refuse new ballots."""

    def __init__(self, limit: int = MAX_BUFFERED_BALLOTS) -> None:
        self._rows: dict[tuple[int, int, str], Ballot] = {}
        self.limit = limit
        self.saved_late = 0
        self.refused_on_replay = 0       # rows SQLite refused for good (their round is gone)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def full(self) -> bool:
        return len(self._rows) >= self.limit

    def holds(self, session_id: int, chapter_number: int,
              rows: Sequence[tuple[str, str, int, int]]) -> bool:
        """True when every row only changes a ballot already kept (costs no memory)."""
        return all((session_id, chapter_number, row[0]) in self._rows for row in rows)

    def add(self, session_id: int, chapter_number: int,
            rows: Sequence[tuple[str, str, int, int]], now: float) -> None:
        for viewer_id, name, choice, weight in rows:
            self._keep((session_id, chapter_number, viewer_id), (name, choice, weight, now))

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """(session, chapter, viewer, name, choice, weight, updated_at) rows (a recovery file)."""
        for sid, ch, viewer, name, choice, weight, at in rows:
            self._keep((int(sid), int(ch), str(viewer)),
                       (str(name), int(choice), int(weight), float(at)))

    def _keep(self, key: tuple[int, int, str], ballot: Ballot) -> None:
        """As the upsert does: the newest ballot, but an empty name keeps the known one."""
        old = self._rows.get(key)
        if old is not None and not ballot[0]:
            ballot = (old[0], *ballot[1:])
        self._rows[key] = ballot

    def rows(self) -> list[tuple[int, int, str, str, int, int, float]]:
        return [(*key, *value) for key, value in self._rows.items()]

    def drain(self, conn: sqlite3.Connection) -> str | None:
        """Write the buffered ballots in chunks; the disk problem that stopped it, or None."""
        while self._rows:
            keys = list(itertools.islice(self._rows, DRAIN_CHUNK))
            chunk = [(*k, *self._rows[k]) for k in keys]
            try:
                vq.save_ballot_rows(conn, chunk)
            except Exception as exc:  # noqa: BLE001 — classified below, never lost silently
                why = resource_problem(exc)
                if why is not None:
                    return why
                for row in chunk:     # find the rows SQLite refuses for good, save the rest
                    why = self._one(conn, row)
                    if why is not None:
                        return why
                continue
            for k in keys:
                del self._rows[k]
            self.saved_late += len(keys)
        return None

    def _one(self, conn: sqlite3.Connection,
             row: tuple[int, int, str, str, int, int, float]) -> str | None:
        try:
            vq.save_ballot_rows(conn, [row])
        except Exception as exc:  # noqa: BLE001
            why = resource_problem(exc)
            if why is not None:
                return why      # stays buffered; the next drain tries again
            self.refused_on_replay += 1
            log.error("a delayed ballot of %s (session %d, chapter %d) was refused: %s",
                      row[2], row[0], row[1], exc)
        else:
            self.saved_late += 1
        del self._rows[row[:3]]
        return None
