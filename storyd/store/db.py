"""The SQLite store: sessions, chapters, vote rounds and ballots, viewer stats, story memory.

Theory of operation
-------------------
One `sqlite3` connection (autocommit mode, explicit transactions) lives for the life of the
`Store`. Every call runs on a worker thread (system/gil.py: the GIL is handed over to it) with a
`CapacityLimiter(1)`, so calls are serialized and the trio thread never blocks on disk.
Calls are not abandoned on cancellation (`abandon_on_cancel=False`): a cancelled caller
waits for its thread to finish, so each call's transaction either commits whole or rolls
back whole — never half a batch. A call cancelled before its thread started does nothing.

The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a
crash of the process (`kill -9`), though not necessarily a power loss; its page cache may
grow to 32 MiB. Ballots are appended to a log and folded into story_ballots later
(store/ballot_log.py: after a close, at a clean stop, before reads of ballots). Schema changes
are numbered `migrations/NNNN_name.sql` files, applied forward at open, each in one
transaction that also sets `PRAGMA user_version` and adds a `schema_migrations` row. A
database newer than this code is refused with a StorageError, untouched.

sqlite3 and JSON encoding errors are translated into `StorageError`; bad input raises
`StorageError` or `NotFoundError` and changes nothing.

Disk faults (issues 11, 22): when SQLite says the disk is full, the database or its folder is
read-only, or the disk fails (store.backlog.resource_problem), a write the show makes
(chapters, rounds, ballots, results, memory) does not raise: it is kept in memory
(store.pending: ballots in a buffer that is never dropped — full, it refuses new ballots —
other writes in a bounded backlog, in order), and the show goes on from memory. Later writes
queue behind it; `retry_backlog` (a service the daemon runs) replays what waits every
RETRY_S seconds, and so does every new write, so what could not be written lands when space
returns. What still waits at close goes to a recovery file that the next open replays.
`on_health` (set by the daemon) is called on the trio thread with the operator notice when
the storage becomes unavailable, and with None when nothing waits any more. Writes whose
answer the caller needs (`create_session`, `credit_voters`) and reads raise `StoreUnavailable`
instead; `active_session` (the resume after a restart) sees what waits laid over what is
stored. `aclose` waits a bounded time for the disk, then writes a recovery file.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import trio

from storyd.core.model import ChapterRecord
from storyd.errors import StorageError, StoreUnavailable
from storyd.store import cameo_queries as cq
from storyd.store import queries as q
from storyd.store import schema
from storyd.store import vote_queries as vq
from storyd.store.backlog import resource_problem
from storyd.store.pending import PendingWrites, read_folded
from storyd.store.schema import (
    Migration,  # re-exported
    load_migrations,  # re-exported
)
from storyd.system import gil

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_S = 5.0   # how often writes the disk refused are tried again


class ResumeState(msgspec.Struct, frozen=True, kw_only=True):
    """What a restart needs to pick up the newest "active" session where it stopped."""

    session: dict[str, Any]
    chapters: list[dict[str, Any]]          # ordered by number
    memory: dict[str, Any] | None
    # chapter_number, round_id, choices, opens_at, ends_at, extended, status, heartbeat_at
    round: dict[str, Any] | None
    ballots: list[tuple[str, str, int, int]]  # (viewer_id, name, choice, weight) of that round


class Store:
    """The async face of the SQLite store: `await Store.open(path)`, then `await aclose()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, version: int,
                 pending: PendingWrites | None = None) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.schema_version = version
        self._limiter = trio.CapacityLimiter(1)  # one thread at a time on the one connection
        self._pending = pending if pending is not None else PendingWrites(path, (path.parent,))
        self._reported: str | None = None
        # called on the trio thread with the operator notice (None: storage fine again)
        self.on_health: Callable[[str | None], None] | None = None

    @classmethod
    async def open(cls, path: Path, *, migrations: Sequence[Migration] | None = None,
                   recovery_dirs: Sequence[Path] = ()) -> Store:
        """Open or create the database at `path` (parent dir made 0700), migrate it forward
        and replay the recovery files a stopping storyd left (in the database's folder and
        `recovery_dirs`; see storyd.store.pending).

        `migrations` replaces the packaged ones (for tests). Raises StorageError when the file
        is not a database, is newer than this code, or cannot be opened."""
        path = Path(path)
        migs = load_migrations() if migrations is None else list(migrations)
        pending = PendingWrites(path, (path.parent, *recovery_dirs))
        try:
            conn, version = await gil.run_sync(functools.partial(schema.connect, path, migs))
            await gil.run_sync(functools.partial(pending.recover, conn))
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from exc
        log.debug("opened %s at schema version %d", path, version)
        return cls(conn, path, version, pending)

    async def aclose(self, *, wait: float = 0.0) -> int:
        """Checkpoint the WAL and close. Idempotent; waits for a call in flight; not cancellable.

        While writes still wait for the disk, retries for up to `wait` seconds; then what
        still waits goes to a recovery file. Returns how many writes are lost because not
        even that could be written (0 normally)."""
        lost = 0
        with trio.CancelScope(shield=True):
            deadline = trio.current_time() + wait
            while self._pending and self._conn is not None and trio.current_time() < deadline:
                await trio.sleep(min(0.25, max(0.0, deadline - trio.current_time())))
                await gil.run_sync(self._drain_sync, limiter=self._limiter)
            lost = await gil.run_sync(self._close_sync, limiter=self._limiter)
        return lost

    def _close_sync(self) -> int:
        conn, self._conn = self._conn, None
        if conn is None:
            return 0
        lost = self._pending.close(conn)
        try:
            conn.execute("PRAGMA optimize")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("closing %s: checkpoint failed: %s", self.path, exc)
        finally:
            conn.close()
        return lost

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await gil.run_sync(
            functools.partial(self._call, fn, args), limiter=self._limiter)

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._conn
        if conn is None:
            raise StorageError(f"the store {self.path} is closed")
        try:
            return fn(conn, *args)
        except sqlite3.Error as exc:
            why = resource_problem(exc)
            if why is not None:
                raise StoreUnavailable(f"{fn.__name__} failed on {self.path}: {why}") from exc
            raise StorageError(f"{fn.__name__} failed on {self.path}: {exc}") from exc
        except (msgspec.EncodeError, TypeError) as exc:
            raise StorageError(f"{fn.__name__}: a value cannot be stored: {exc}") from exc

    # --- disk faults: the backlog ---------------------------------------------------------
    def notice(self) -> str | None:
        """The operator notice while writes wait for the disk; None when all is saved."""
        return self._pending.notice(RETRY_S)

    def ballot_refusal(self) -> str | None:
        """Why new ballots are refused now (the memory kept for a full disk is full), or
        None: a caller that acknowledges ballots checks this first (HTTP 503)."""
        return self._pending.refusal()

    def backlog_stats(self) -> dict[str, int]:
        return self._pending.stats()

    def _report_health(self) -> None:
        notice = self.notice()
        if notice == self._reported:
            return
        self._reported = notice
        if notice is None:
            stats = self._pending.stats()
            log.warning("storage writable again: %d delayed writes and %d ballots saved "
                        "(%d writes dropped)", stats["late_writes"], stats["late_ballots"],
                        stats["dropped_writes"])
        else:
            log.error("%s [%s]", notice, self.path)
        if self.on_health is not None:
            self.on_health(notice)

    async def _write(self, fn: Callable[..., T], *args: Any,
                     key: Hashable | None = None) -> T | None:
        """A write whose caller can do without an answer: a disk fault keeps it in memory
        (pending). What `fn` returned, or None when the write waits."""
        try:
            return await gil.run_sync(
                functools.partial(self._write_sync, fn, args, key), limiter=self._limiter)
        finally:
            self._report_health()

    def _write_sync(self, fn: Callable[..., T], args: tuple[Any, ...],
                    key: Hashable | None) -> Any:     # what fn returned, or None (waits)
        return self._pending.write(self._open_conn(), self._call, fn, args, key)

    def _open_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the store {self.path} is closed")
        return self._conn

    async def _answered(self, fn: Callable[..., T], *args: Any) -> T:
        """A write whose answer the caller needs: what waits first, else StoreUnavailable."""
        def run() -> T:
            conn = self._conn
            if conn is not None and not self._pending.drain(conn):
                raise StoreUnavailable(self.notice() or "storage unavailable")
            return self._call(fn, args)

        try:
            return await gil.run_sync(run, limiter=self._limiter)
        finally:
            self._report_health()

    async def retry_backlog(self, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
        """Service: every RETRY_S seconds, replay the writes the disk refused."""
        task_status.started()
        while True:
            await trio.sleep(RETRY_S)
            if self._pending and self._conn is not None:
                await gil.run_sync(self._drain_sync, limiter=self._limiter)
                self._report_health()

    def _drain_sync(self) -> None:
        if self._conn is not None:
            self._pending.drain(self._conn)

    # --- sessions -------------------------------------------------------------------------
    async def create_session(self, *, theme: str, language: str, outline: str, started_at: float,
                             settings: dict[str, Any]) -> int:
        return await self._answered(q.create_session, theme, language, outline, started_at,
                                    settings)

    async def set_outline(self, session_id: int, outline: str) -> None:
        await self._write(q.set_outline, session_id, outline)

    async def set_plan(self, session_id: int, plan: dict[str, Any]) -> None:
        """The session's story plan (core/plan.py, as JSON); replaces an earlier one."""
        await self._write(q.set_plan, session_id, plan)

    async def set_recap(self, session_id: int, recap: dict[str, Any]) -> None:
        """The finished story's recap (core/recap.py, as JSON)."""
        await self._write(q.set_recap, session_id, recap)

    async def end_session(self, session_id: int, *, status: str, ended_at: float) -> None:
        """status: "finished" | "ended" | "crashed". NotFoundError for an unknown session."""
        await self._write(q.end_session, session_id, status, ended_at)

    async def active_session(self) -> ResumeState | None:
        """The newest active session as stored, with what still waits for the disk (a start
        on a still-full disk: its round's updates and ballots, store.pending) laid over it."""
        found = await self._run(self._pending.active_session)
        return None if found is None else ResumeState(**found)

    async def mark_stale_sessions(self, *, except_id: int | None, ended_at: float) -> int | None:
        """Every other "active" session becomes "crashed"; returns how many. While the disk
        refuses writes (a start on a still-full disk) it waits with them: None."""
        return await self._write(q.mark_stale_sessions, except_id, ended_at)

    # --- chapters -------------------------------------------------------------------------
    async def add_chapter(self, chapter: ChapterRecord) -> None:
        """The chapter as JSON-ready values: the form a recovery file keeps a write in."""
        await self._write(q.add_chapter, chapter.session_id, q.chapter_values(chapter))

    async def set_chapter_media(self, session_id: int, number: int, *, image: str | None = None,
                                audio: list[str | None] | None = None) -> None:
        """Bare cache file names only; None leaves that column as it is."""
        await self._write(q.set_chapter_media, session_id, number, image, audio)

    async def set_chapter_choice(self, session_id: int, number: int, chosen: int,
                                 chosen_text: str) -> None:
        await self._write(q.set_chapter_choice, session_id, number, chosen, chosen_text)

    async def set_chapter_aired(self, session_id: int, number: int, aired_at: float) -> None:
        """When the chapter went on air (epoch seconds); the first time counts."""
        await self._write(q.set_chapter_aired, session_id, number, aired_at)

    async def add_branch(self, session_id: int, *, after_chapter: int, choice: int, title: str,
                         text: str, choices: list[str], provider: str,
                         created_at: float) -> None:
        """A chapter written during a vote for a choice that lost (never aired)."""
        values = dict(after_chapter=after_chapter, choice=choice, title=title, text=text,
                      choices=choices, provider=provider, created_at=created_at)
        await self._run(q.add_branch, session_id, values)

    async def branches(self, session_id: int) -> list[dict[str, Any]]:
        return await self._run(q.branches, session_id)

    # --- rounds and ballots ---------------------------------------------------------------
    async def open_round(self, session_id: int, chapter_number: int, *, round_id: int,
                         choices: list[str], opens_at: float, ends_at: float) -> None:
        await self._write(vq.open_round, session_id, chapter_number, round_id, choices,
                        opens_at, ends_at)

    async def update_round(self, session_id: int, chapter_number: int, *,
                           ends_at: float | None = None, extended: bool | None = None,
                           status: str | None = None, heartbeat_at: float | None = None) -> None:
        """None leaves that column as it is; `heartbeat_at`: the round was alive at this time.
        While the disk is full, a waiting heartbeat of the round is replaced, not repeated."""
        beat = ends_at is None and extended is None and status is None
        await self._write(vq.update_round, session_id, chapter_number, ends_at, extended, status,
                          heartbeat_at, key=("heartbeat", session_id, chapter_number) if beat
                          else None)

    async def save_ballots(self, session_id: int, chapter_number: int,
                           rows: Sequence[tuple[str, str, int, int]], *, now: float) -> None:
        """(viewer_id, name, choice, weight) rows to the ballot log in one transaction: all
        or nothing (choice -1: taken back; an empty name keeps the stored one).

        While the disk refuses writes the rows are kept in memory (never dropped) and written
        when space returns; StoreUnavailable, with nothing kept, only when that memory is full
        (`ballot_refusal`): the caller must not acknowledge them."""
        try:
            await gil.run_sync(functools.partial(
                self._pending.save_ballots, self._open_conn(), self._call, session_id,
                chapter_number, rows, now), limiter=self._limiter)
        finally:
            self._report_health()

    async def record_vote_result(self, session_id: int, chapter_number: int, *, winner: int,
                                 counts: list[int], voters: int, tie_break: str | None,
                                 early: bool, forced: bool, closed_at: float) -> None:
        await self._write(vq.record_vote_result, session_id, chapter_number, winner, counts,
                        voters, tie_break, early, forced, closed_at)

    async def credit_voters(self, *, limit: int, now: float) -> bool:
        """One step of crediting closed rounds' voters (vote_queries `credit_voters`); True
        when none waits. StoreUnavailable while the disk refuses writes (retried later)."""
        return await self._answered(vq.credit_voters, limit, now)

    async def add_activity(self, rows: Sequence[tuple[str, str, int, int]], *,
                           now: float) -> None:
        """(viewer_id, name, likes, joins) rows added to viewer stats in one transaction (all
        or nothing); never a ballot. A viewer seen for the first time gets 0 ballots."""
        await self._write(vq.add_activity, rows, now)

    # --- audience cameos -------------------------------------------------------------------
    async def save_cameos(self, session_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert cameo rows (storyd/store/cameo_queries.py) in one transaction."""
        await self._write(cq.save_cameos, session_id, rows)

    async def cameos(self, session_id: int) -> list[dict[str, Any]]:
        return await self._run(cq.cameos, session_id)

    async def ballot_counts(self, session_id: int, *, limit: int) -> dict[str, int]:
        """Rounds voted in per viewer in this session (the `limit` most active)."""
        return await self._run(read_folded, cq.ballot_counts, session_id, limit)

    # --- memory and reads -----------------------------------------------------------------
    async def save_memory(self, session_id: int, memory: dict[str, Any], *,
                          now: float | None = None) -> None:
        await self._write(q.save_memory, session_id, memory, now)

    async def list_sessions(self, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        return await self._run(q.list_sessions, limit, offset)

    async def get_session(self, session_id: int) -> dict[str, Any]:
        """NotFoundError when there is no such session. "cameos": the viewers written into
        it, but never one the operator removed (no viewer ids)."""
        session = await self._run(q.get_session, session_id)
        session["cameos"] = await self._run(cq.cast, session_id)
        return session

    async def delete_session(self, session_id: int) -> None:
        """NotFoundError when there is no such session."""
        await self._run(q.delete_session, session_id)

    async def top_voters(self, *, limit: int = 10) -> list[dict[str, Any]]:
        return await self._run(vq.top_voters, limit)

    async def session_voters(self, session_id: int, *, limit: int = 5) -> list[dict[str, Any]]:
        """The story's top voters: name, ballots, wins (no viewer ids)."""
        return await self._run(read_folded, vq.session_voters, session_id, limit)

    async def referenced_media(self) -> set[str]:
        """Every image/audio file name a stored chapter references: never expire these."""
        return await self._run(q.referenced_media)

    async def stats(self) -> dict[str, Any]:
        """Row counts per table, schema version and file sizes (database and WAL) in bytes."""
        counts = await self._run(read_folded, vq.table_counts)
        sizes = await gil.run_sync(self._file_sizes)
        return {**counts, **sizes, "schema_version": self.schema_version}

    def _file_sizes(self) -> dict[str, int]:
        def size(p: Path) -> int:
            try:
                return p.stat().st_size
            except OSError:
                return 0
        return {"file_bytes": size(self.path), "wal_bytes": size(Path(f"{self.path}-wal"))}
