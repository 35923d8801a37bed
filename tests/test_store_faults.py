"""Issue 11: a full disk or read-only database mid-show is an operator notice, the show goes
on from memory, and what could not be written is saved when space returns.

Real SQLite files: `PRAGMA max_page_count` on the store's own connection makes the real
SQLITE_FULL ("database or disk is full") happen at a chosen size, `PRAGMA query_only` the
real SQLITE_READONLY; lifting them is "space returns"."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from storyd.core.model import ChapterDraft, ChapterRecord
from storyd.errors import StorageError, StoreUnavailable
from storyd.store.backlog import Backlog, resource_problem
from storyd.store.db import RETRY_S, Store
from tests.conftest import wait_for_event
from tests.real_time import real_time_limit
from tests.test_director import msg


def pragma(sql: str) -> Any:
    def run(conn: sqlite3.Connection) -> Any:
        return conn.execute(sql).fetchone()
    run.__name__ = "pragma"
    return run


async def fill_disk(store: Store) -> None:
    """The database may not grow by one more page: the next growing write hits SQLITE_FULL."""
    await store._run(pragma("PRAGMA wal_checkpoint(TRUNCATE)"))
    pages = (await store._run(pragma("PRAGMA page_count")))[0]
    await store._run(pragma(f"PRAGMA max_page_count = {pages}"))


async def free_disk(store: Store) -> None:
    await store._run(pragma("PRAGMA max_page_count = 1073741823"))


def db_rows(path: Path, sql: str, *args: Any) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


async def new_store(tmp_path: Path) -> tuple[Store, list[str | None], int]:
    store = await Store.open(tmp_path / "data" / "storyd.sqlite3")
    health: list[str | None] = []
    store.on_health = health.append
    sid = await store.create_session(theme="fantasy", language="English", outline="o",
                                     started_at=1.0, settings={})
    await store.add_chapter(ChapterRecord(
        session_id=sid, number=1, closing=False, created_at=1.0,
        draft=ChapterDraft(title="T", text="x", choices=("a", "b", "c"), provider="offline")))
    await store.open_round(sid, 1, round_id=1, choices=["a", "b", "c"], opens_at=1.0,
                           ends_at=61.0)
    return store, health, sid


def ballots(n: int, start: int = 0) -> list[tuple[str, str, int, int]]:
    return [(f"viewer-{i:05d}", f"Viewer {i} " + "x" * 200, i % 3, 1)
            for i in range(start, start + n)]


async def test_disk_full_keeps_writes_in_order_and_saves_them_when_space_returns(
        tmp_path: Path) -> None:
    store, health, sid = await new_store(tmp_path)
    try:
        await fill_disk(store)
        for k in range(20):                          # 20 flushes of 100 ballots each
            await store.save_ballots(sid, 1, ballots(100, k * 100), now=2.0 + k)
        assert store.notice() is not None and "disk is full" in store.notice()  # type: ignore[operator]
        assert health == [store.notice()]            # reported once, not per write
        assert store.backlog_stats()["buffered_ballots"] == 2000   # never dropped
        with pytest.raises(StoreUnavailable, match="disk is full"):
            await store.create_session(theme="fantasy", language="English", outline="",
                                       started_at=3.0, settings={})
        await store.update_round(sid, 1, status="closed")
        assert (await store.get_session(sid))["id"] == sid   # reads still work
        await free_disk(store)
        await store.save_ballots(sid, 1, ballots(1, 5000), now=30.0)   # any write retries
        assert store.notice() is None and health[-1] is None
        stats = store.backlog_stats()
        assert (stats["pending_writes"], stats["dropped_writes"], stats["buffered_ballots"],
                stats["late_ballots"]) == (0, 0, 0, 2000)
    finally:
        await store.aclose()
    path = tmp_path / "data" / "storyd.sqlite3"
    assert db_rows(path, "SELECT COUNT(*) FROM story_ballots")[0][0] == 2001
    assert db_rows(path, "SELECT status FROM story_rounds")[0][0] == "closed"


async def test_read_only_database_is_a_notice_and_recovers(tmp_path: Path) -> None:
    store, health, sid = await new_store(tmp_path)
    try:
        await store._run(pragma("PRAGMA query_only = 1"))
        await store.save_ballots(sid, 1, ballots(10), now=2.0)
        assert health and "read-only" in str(health[-1])
        await store._run(pragma("PRAGMA query_only = 0"))
        await store.update_round(sid, 1, heartbeat_at=3.0)
        assert health[-1] is None
    finally:
        await store.aclose()
    assert db_rows(tmp_path / "data" / "storyd.sqlite3",
                   "SELECT COUNT(*) FROM story_ballots")[0][0] == 10


async def test_the_retry_service_saves_the_backlog_without_new_writes(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    # The retry service's sleeps pass in virtual time; the drains run in the store's worker
    # thread in real time. The only virtual deadline while the disk is free again is the
    # service's next retry, so "saved by the next retry" is a measurement of virtual time,
    # and the wait is bounded in real time (tests/real_time.py says why not fail_after).
    store, health, sid = await new_store(tmp_path)
    recovered = trio.Event()
    store.on_health = lambda notice: (health.append(notice), notice is None and recovered.set())
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(store.retry_backlog)
            await fill_disk(store)
            await store.save_ballots(sid, 1, ballots(300), now=2.0)
            assert store.notice() is not None
            await trio.sleep(RETRY_S * 3)            # still full: still waiting, still one notice
            assert store.backlog_stats()["buffered_ballots"] == 300 and len(health) == 1
            await free_disk(store)
            freed = trio.current_time()
            async with real_time_limit(60):
                await recovered.wait()
            assert trio.current_time() - freed <= RETRY_S    # the next retry saved them
            assert health == [health[0], None]
            assert store.backlog_stats()["buffered_ballots"] == 0
            nursery.cancel_scope.cancel()
    finally:
        await store.aclose()
    assert db_rows(tmp_path / "data" / "storyd.sqlite3",
                   "SELECT COUNT(*) FROM story_ballots")[0][0] == 300


async def test_bad_input_still_raises_and_is_not_queued(tmp_path: Path) -> None:
    store, health, sid = await new_store(tmp_path)
    try:
        with pytest.raises(StorageError):
            await store.save_ballots(sid, 1, [("v", "n", 0, object())], now=1.0)  # type: ignore[list-item]
        assert store.notice() is None and health == []
    finally:
        await store.aclose()


def test_backlog_is_bounded_and_counts_what_it_drops() -> None:
    backlog = Backlog(max_pending=3)
    calls: list[int] = []

    def write(conn: Any, i: int) -> None:
        calls.append(i)

    for i in range(5):
        backlog.add(write, (i,))
    assert len(backlog) == 3 and backlog.dropped == 2
    backlog.drain(None)  # type: ignore[arg-type]
    assert calls == [2, 3, 4] and backlog.problem is None and backlog.saved_late == 3


def test_only_disk_level_errors_are_resource_problems() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as info:
        db.execute("INSERT INTO t VALUES (1)")
    assert resource_problem(info.value) is None
    db.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError) as info2:
        db.execute("INSERT INTO t VALUES (2)")
    assert resource_problem(info2.value) == "the database or data folder is read-only"
    assert resource_problem(ValueError("database or disk is full")) is None


async def test_the_show_goes_on_when_the_disk_fills_mid_show(
        daemon_factory: Any, autojump_clock: trio.testing.MockClock) -> None:
    d = await daemon_factory()
    with d.bus.subscribe(4096) as sub:
        await d.director.start("horror", language="English")
        await wait_for_event(sub, "story:voting-started")
        await fill_disk(d.store)
        d.voting.submit([msg(f"v{i}", "!b") for i in range(50)])
        await d.director.close()
        error = await wait_for_event(sub, "story:error", lambda e: "disk is full" in e["message"])
        assert "Storage problem" in error["message"]
        full_at = d.director.snapshot().chapter_number
        stats = d.store.backlog_stats()
        assert stats["pending_writes"] + stats["buffered_ballots"] > 0
        # the show goes on from memory: a new chapter, a new vote, the notice on status
        await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == full_at + 1)
        await wait_for_event(sub, "story:voting-started")
        d.voting.submit([msg(f"w{i}", "!a") for i in range(30)])
        snap = d.director.snapshot()
        assert snap.state == "voting" and snap.chapter_number == full_at + 1
        assert snap.notice is not None and "disk is full" in snap.notice
        await free_disk(d.store)
        await wait_for_event(sub, "story:state", lambda s: s["notice"] is None,
                             timeout=RETRY_S * 2)
        stats = d.store.backlog_stats()
        assert stats["pending_writes"] == stats["buffered_ballots"] == 0
        await d.director.end()
    sid = d.director.story.session_id
    path = d.data_dir / "storyd.sqlite3"
    numbers = [r[0] for r in db_rows(path, "SELECT number FROM story_chapters WHERE "
                                     "session_id=? ORDER BY number", sid)]
    assert numbers == list(range(1, d.director.snapshot().chapter_number + 1))
    voters = {r[0] for r in db_rows(path, "SELECT viewer_id FROM story_ballots")}
    assert {f"v{i}" for i in range(50)} | {f"w{i}" for i in range(30)} <= voters


async def test_a_start_refused_for_a_full_disk_leaves_the_story_on_air(
        daemon_factory: Any, autojump_clock: trio.testing.MockClock) -> None:
    """Issue 22, item 4: `start --force` on a full disk is refused (503 storage_unavailable)
    before anything is ended: the same story, chapter and vote stay on air and go on."""
    from storyd.control import dispatch
    from storyd.control import protocol as p

    d = await daemon_factory()
    with d.bus.subscribe(4096) as sub:
        await d.operator.start(theme="horror", language="English")
        opened = await wait_for_event(sub, "story:voting-started")
        d.voting.submit([msg(f"v{i}", "!b") for i in range(5)])
        await d.voting.commit()
        await fill_disk(d.store)
        d.voting.submit([msg(f"w{i}-" + "x" * 100, "!b") for i in range(2000)])
        await d.voting.commit()   # the disk is full now: the ballots wait in memory
        assert d.operator.snapshot().notice is not None
        before = d.operator.snapshot()
        for _ in range(2):   # the storyctl/HTTP path and the operator's own
            with pytest.raises(StoreUnavailable) as refused:
                await dispatch.handle(d.operator, p.Start(theme="fantasy", force=True))
            assert refused.value.code == "storage_unavailable"
        after = d.operator.snapshot()
        assert (after.state, after.session_id, after.chapter_number, after.title) == (
            before.state, before.session_id, before.chapter_number, before.title)
        assert after.voting is not None and after.voting.open
        assert after.voting.counts == before.voting.counts   # type: ignore[union-attr]
        assert after.voting.ends_at == opened["ends_at"]
        # the story plays on: its vote closes, the next chapter airs, the same session
        d.voting.submit([msg("late", "!a")])
        await d.operator.close()
        ended = await wait_for_event(sub, "story:voting-ended")
        assert ended["winner"] == 1 and ended["voters"] == 2006
        ready = await wait_for_event(sub, "story:chapter-ready")
        assert ready["number"] == 2 and d.operator.snapshot().session_id == before.session_id
        await free_disk(d.store)
        started = await dispatch.handle(d.operator, p.Start(theme="fantasy", force=True))
        assert started.session_id != before.session_id   # with space again, it starts
    path = d.data_dir / "storyd.sqlite3"
    statuses = dict(db_rows(path, "SELECT id, status FROM story_sessions"))
    assert statuses[before.session_id] == "ended" and len(statuses) == 2
