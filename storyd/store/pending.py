"""Everything that waits for the disk, and the promise behind it: nothing acknowledged is lost.

Theory of operation (issue 22): a write the disk refuses (storyd.store.backlog) is kept in
memory — ballots in the BallotBuffer (never dropped; when it is full, new ballots are refused
with StoreUnavailable so the caller sees the refusal and nothing is acknowledged that is not
kept), other writes in the Backlog. Everything waiting is replayed before any new write,
in order: the backlog, then the ballots. After a replay that empties both, the WAL is
checkpointed and truncated, so the space the replay used is given back at once.

At close, whatever still waits goes to a recovery file (storyd.store.recovery): the data
folder first, else the runtime folder. Only when neither takes it are the writes lost —
`close` then returns how many, and the daemon logs the exact count at ERROR and exits 1.
At open, recovery files of this database are queued ahead of everything and replayed; a
file is deleted once everything in it (and everything queued after it) is on disk.

All methods run on the store's worker thread, one at a time; `call` is the store's
`_call` (sqlite3 errors translated: StoreUnavailable for disk faults).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from storyd.errors import StoreUnavailable
from storyd.store import ballot_log, recovery, waiting_view
from storyd.store import queries as q
from storyd.store import vote_queries as vq
from storyd.store.backlog import Backlog, BallotBuffer, resource_problem

log = logging.getLogger(__name__)

Call = Callable[[Callable[..., Any], tuple[Any, ...]], Any]
CLOSE_FOLD_STEPS = 60       # a stop folds at most this many steps of the ballot log (~2 s)


class PendingWrites:
    def __init__(self, database: Path, recovery_dirs: Sequence[Path]) -> None:
        self.database = database
        self.recovery_dirs = tuple(recovery_dirs)
        self.backlog = Backlog()
        self.ballots = BallotBuffer()
        self.problem: str | None = None
        self._files: list[Path] = []          # recovery files replayed from, not yet deleted

    def __len__(self) -> int:
        return len(self.backlog) + len(self.ballots)

    # ---- writes -------------------------------------------------------------------------
    def write(self, conn: sqlite3.Connection, call: Call, fn: Callable[..., Any],
              args: tuple[Any, ...], key: Hashable | None = None) -> Any:
        """A write whose caller can do without an answer: behind what waits, or kept when
        refused. Returns what `fn` returned, or None when the write waits in memory."""
        if self:                          # what waits goes first
            self.drain(conn)
        if self.backlog:                  # keep the order: behind what still waits
            self.backlog.add(fn, args, key)
            return None
        try:
            return call(fn, args)
        except StoreUnavailable as exc:
            self.backlog.add(fn, args, key)
            self.problem = resource_problem(exc.__cause__ or exc) or str(exc)
            return None

    def save_ballots(self, conn: sqlite3.Connection, call: Call, session_id: int,
                     chapter_number: int, rows: Sequence[tuple[str, str, int, int]],
                     now: float) -> None:
        """Ballots to disk, or kept in the buffer; StoreUnavailable when the buffer is full
        (then nothing of `rows` is kept: the caller must not acknowledge them)."""
        if self:
            self.drain(conn)
        if not self:
            try:
                call(vq.save_ballots, (session_id, chapter_number, rows, now))
                return
            except StoreUnavailable as exc:
                self.problem = resource_problem(exc.__cause__ or exc) or str(exc)
        if self.ballots.full and not self.ballots.holds(session_id, chapter_number, rows):
            raise StoreUnavailable(self.refusal() or "storage unavailable")
        self.ballots.add(session_id, chapter_number, rows, now)

    def refusal(self) -> str | None:
        """Why new ballots are refused now (the ballot buffer is full), or None."""
        if not self.ballots.full:
            return None
        return (f"{len(self.ballots)} ballots are waiting in memory for the disk "
                f"({self.problem or 'storage unavailable'}); that is the most storyd keeps "
                f"({self.ballots.limit}), so new votes are refused until space returns")

    def drain(self, conn: sqlite3.Connection) -> bool:
        """Replay what waits (the backlog, then the ballots); True when nothing waits now."""
        if not self:
            return True
        self.backlog.drain(conn)
        if self.backlog:
            self.problem = self.backlog.problem
            return False
        self.problem = self.ballots.drain(conn)
        if self:
            return False
        try:   # the replay grew the WAL: give that space back now
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("checkpoint after the replay failed: %s", exc)
        self._forget_files("everything in it is saved")
        return True

    def active_session(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        """The newest active session (queries.active_session) as it will be once what waits
        is on disk (storyd.store.waiting_view): a start on a still-full disk resumes the
        show it had reached, with every ballot it acknowledged."""
        found = q.active_session(conn)
        ballot_log.read_through(conn, found)    # what the log holds, not folded yet
        return waiting_view.overlay(found, self.backlog.writes(), self.ballots.rows())

    # ---- the notice -------------------------------------------------------------------
    def notice(self, retry_s: float) -> str | None:
        if not self:
            return None
        full = " New votes are refused: the memory for them is full." if (
            self.ballots.full) else ""
        return (f"Storage problem: {self.problem or 'writes are failing'} (the data folder; "
                "see the log). The show goes on from memory; unsaved writes and ballots are "
                f"kept and retried every {retry_s:g} s.{full}")

    def stats(self) -> dict[str, int]:
        b = self.backlog
        return {"pending_writes": len(b), "dropped_writes": b.dropped,
                "late_writes": b.saved_late, "buffered_ballots": len(self.ballots),
                "late_ballots": self.ballots.saved_late}

    # ---- open and close ---------------------------------------------------------------
    def recover(self, conn: sqlite3.Connection) -> None:
        """Queue the recovery files of this database and replay them."""
        for path in recovery.files(self.database, self.recovery_dirs):
            try:
                writes, ballots = recovery.load(path)
            except ValueError as exc:
                log.error("%s (left in place)", exc)
                continue
            for fn, args in writes:
                self.backlog.add(fn, args)
            self.ballots.add_rows(ballots)
            self._files.append(path)
            log.warning("replaying %d writes and %d ballots that a stopping storyd could not "
                        "save, from %s", len(writes), len(ballots), path)
        if self._files and not self.drain(conn):
            log.error("the disk still refuses writes (%s): %d writes and %d ballots from the "
                      "recovery file wait in memory", self.problem, len(self.backlog),
                      len(self.ballots))

    def close(self, conn: sqlite3.Connection) -> int:
        """A last replay; what still waits goes to a recovery file. Returns how many writes
        (ballots included) are lost because no folder took the file (0: none). With nothing
        waiting, the ballot log is folded into story_ballots (a bounded time: what is left
        is read through by the next start and folded after its first close)."""
        if self.drain(conn):
            fold_log(conn, max_steps=CLOSE_FOLD_STEPS)
            return 0
        n_writes, n_ballots = len(self.backlog), len(self.ballots)
        try:
            path = recovery.save(self.database, self.recovery_dirs, self.backlog.writes(),
                                 self.ballots.rows())
        except OSError as exc:
            log.error("%d acknowledged or chat ballots and %d other writes could not be "
                      "saved to %s (%s) and no recovery file could be written (%s): they are "
                      "LOST", n_ballots, n_writes, self.database, self.problem, exc)
            return n_writes + n_ballots
        log.error("%d ballots and %d other writes could not be saved to %s (%s): kept in %s; "
                  "the next start replays them", n_ballots, n_writes, self.database,
                  self.problem, path)
        self._forget_files(f"what is unsaved of it is in {path.name} now")
        return 0

    def _forget_files(self, why: str) -> None:
        for path in self._files:
            try:
                path.unlink()
                log.warning("removed the recovery file %s: %s", path, why)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.error("cannot remove the replayed recovery file %s: %s (remove it by hand:"
                          " replaying it again would repeat its writes)", path, exc)
        self._files.clear()


def read_folded(conn: sqlite3.Connection, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(conn, *args)` after folding the ballot log into story_ballots (a read of ballots
    sees every saved one)."""
    fold_log(conn)
    return fn(conn, *args)


def fold_log(conn: sqlite3.Connection, max_steps: int | None = None) -> None:
    """Fold the ballot log (all of it, or `max_steps` steps). While the disk refuses writes
    the fold waits (a read goes on without: ballots not folded yet are not seen, like
    ballots waiting in memory)."""
    try:
        steps = 0
        while (max_steps is None or steps < max_steps) and ballot_log.fold(conn):
            steps += 1
    except sqlite3.Error as exc:
        if resource_problem(exc) is None:
            raise
        log.warning("the ballot log is not folded yet (the disk refuses writes): %s", exc)
