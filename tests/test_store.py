"""The SQLite store against real database files in tmp_path."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from storyd.core.model import ChapterDraft, ChapterRecord, DialogueLine, MemoryUpdate
from storyd.errors import NotFoundError, StorageError
from storyd.store.db import Store
from storyd.store.schema import Migration, load_migrations

REPO = Path(__file__).resolve().parents[1]
LATEST = 8  # the newest packaged migration
CHOICES = ["Open the door", "Climb the tower", "Run"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "storyd.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    try:
        yield s
    finally:
        await s.aclose()


async def new_session(store: Store, *, started_at: float = 100.0, chapters: int = 1) -> int:
    sid = await store.create_session(theme="fantasy", language="English", outline="A quest.",
                                     started_at=started_at, settings={"choices": 3})
    for n in range(1, chapters + 1):
        await store.add_chapter(ChapterRecord(
            session_id=sid, number=n, closing=False, created_at=started_at + n,
            draft=ChapterDraft(title=f"Chapter {n}", text="Once upon a time.",
                               choices=tuple(CHOICES), summary=f"s{n}", provider="offline",
                               lines=(DialogueLine(text="Once upon a time."),),
                               memory=MemoryUpdate(event=f"e{n}"))))
    return sid


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def ballot_count(path: Path) -> int:
    with raw(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM story_ballots").fetchone()[0])


# --- opening and migrations ---------------------------------------------------------------

async def test_migrates_an_empty_file_and_reopening_changes_nothing(db_path: Path) -> None:
    store = await Store.open(db_path)
    sid = await new_session(store)
    await store.aclose()
    await store.aclose()  # idempotent
    store = await Store.open(db_path)
    assert store.schema_version == len(load_migrations()) == LATEST
    assert (await store.get_session(sid))["theme"] == "fantasy"
    await store.aclose()
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("SELECT version, name FROM schema_migrations").fetchall() == [
            (1, "initial"), (2, "activity_and_heartbeat"), (3, "branches"),
            (4, "plan_and_recap"), (5, "after_show"), (6, "cameos"),
            (7, "vote_credits"), (8, "ballot_log")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master"
                                             " WHERE type IN ('table', 'view')")}
    assert {"story_sessions", "story_chapters", "story_votes", "story_viewer_stats",
            "story_memory", "story_rounds", "story_ballots", "story_cameos"} <= tables


async def test_a_newer_database_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir()
    with raw(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError, match=rf"schema version 99.*only up to {LATEST}.*upgrade"):
        await Store.open(db_path)
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0


async def test_forward_migration_applies_only_the_new_file(db_path: Path) -> None:
    await (await Store.open(db_path)).aclose()
    extra = Migration(LATEST + 1, "add_mood",
                      "-- a comment\nALTER TABLE story_sessions ADD COLUMN mood TEXT;")
    store = await Store.open(db_path, migrations=[*load_migrations(), extra])
    await store.aclose()
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST + 1
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [
            *range(1, LATEST + 2)]
        assert "mood" in [r[1] for r in conn.execute("PRAGMA table_info(story_sessions)")]


async def test_a_failing_migration_rolls_back_whole(db_path: Path) -> None:
    await (await Store.open(db_path)).aclose()
    bad = Migration(LATEST + 1, "broken",
                    "CREATE TABLE half (x);\nINSERT INTO no_such_table VALUES (1);")
    with pytest.raises(StorageError, match="no_such_table"):
        await Store.open(db_path, migrations=[*load_migrations(), bad])
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='half'"
                            ).fetchone()[0] == 0


async def test_upgrading_a_version_1_database_keeps_its_data(db_path: Path) -> None:
    old = await Store.open(db_path, migrations=load_migrations()[:1])
    assert old.schema_version == 1
    sid = await new_session(old)
    await old.open_round(sid, 1, round_id=1, choices=CHOICES, opens_at=100, ends_at=160)
    await old.save_ballots(sid, 1, [("u1", "Ann", 2, 1)], now=101)
    with pytest.raises(StorageError, match="heartbeat_at"):   # not there before 0002
        await old.update_round(sid, 1, heartbeat_at=130)
    await old.aclose()
    with raw(db_path) as conn:      # the stats a storyd of version 1 credited at the close
        conn.execute("INSERT INTO story_viewer_stats (viewer_id, name, ballots, wins,"
                     " first_seen, last_seen) VALUES ('u1', 'Ann', 1, 1, 102, 102)")

    store = await Store.open(db_path)
    try:
        assert store.schema_version == LATEST
        state = await store.active_session()
        assert state is not None and state.round is not None
        assert state.ballots == [("u1", "Ann", 2, 1)]
        assert (state.round["ends_at"], state.round["heartbeat_at"]) == (160, None)
        assert await store.top_voters() == [{"viewer_id": "u1", "name": "Ann", "ballots": 1,
                                             "wins": 1, "likes": 0, "joins": 0,
                                             "last_seen": 102}]
        await store.update_round(sid, 1, heartbeat_at=130)
        await store.add_activity([("u1", "Ann", 3, 1)], now=131)
        state = await store.active_session()
        assert state is not None and state.round is not None
        assert (state.round["ends_at"], state.round["heartbeat_at"]) == (160, 130)
        top = await store.top_voters()
        assert (top[0]["ballots"], top[0]["likes"], top[0]["joins"]) == (1, 3, 1)
    finally:
        await store.aclose()


async def test_wal_mode_and_private_permissions(store: Store, db_path: Path) -> None:
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db_path.parent).st_mode) == 0o700


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open the database"):
        await Store.open(path)


async def test_a_closed_store_says_so(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.aclose()
    with pytest.raises(StorageError, match="closed"):
        await store.list_sessions()


# --- sessions, chapters, votes ------------------------------------------------------------

async def test_full_session_lifecycle(store: Store) -> None:
    sid = await new_session(store, chapters=1)
    await store.set_outline(sid, "A better quest.")
    await store.set_chapter_media(sid, 1, image="c1.png", audio=["c1-0.mp3", None])
    await store.open_round(sid, 1, round_id=1, choices=CHOICES, opens_at=110, ends_at=170)
    await store.update_round(sid, 1, ends_at=200, extended=True)
    await store.save_ballots(sid, 1, [("u1", "Ann", 1, 1), ("u2", "Bob", 1, 1), ("u3", "Cy", 0, 1)],
                             now=120)
    await store.record_vote_result(sid, 1, winner=1, counts=[1, 2, 0], voters=3, tie_break=None,
                                   early=False, forced=False, closed_at=200)
    await store.set_chapter_choice(sid, 1, 1, CHOICES[1])
    while not await store.credit_voters(limit=2, now=200):
        pass
    assert [(v["viewer_id"], v["wins"]) for v in await store.top_voters()] == [
        ("u1", 1), ("u2", 1), ("u3", 0)]
    await store.add_chapter(ChapterRecord(
        session_id=sid, number=2, closing=True, created_at=210,
        draft=ChapterDraft(title="The end", text="They lived.", choices=(), summary="end",
                           provider="offline")))
    await store.save_memory(sid, {"events": ["e1", "e2"]}, now=210)
    await store.end_session(sid, status="finished", ended_at=220)

    got = await store.get_session(sid)
    assert (got["status"], got["ended_at"], got["outline"]) == ("finished", 220, "A better quest.")
    assert got["settings"] == {"choices": 3} and got["memory"] == {"events": ["e1", "e2"]}
    one, two = got["chapters"]
    assert (one["chosen"], one["chosen_text"], one["image"], one["audio"]) == (
        1, "Climb the tower", "c1.png", ["c1-0.mp3", None])
    assert one["vote"] == {"winner": 1, "counts": [1, 2, 0], "voters": 3, "tie_break": None,
                           "early": False, "forced": False, "closed_at": 200}
    assert two["closing"] is True and two["vote"] is None and two["choices"] == []
    assert await store.active_session() is None
    assert await store.list_sessions() == [{"id": sid, "theme": "fantasy", "language": "English",
                                            "status": "finished", "started_at": 100,
                                            "ended_at": 220, "chapters": 2}]
    stats = await store.stats()
    assert (stats["sessions"], stats["chapters"], stats["votes"], stats["ballots"]) == (1, 2, 1, 3)
    assert stats["file_bytes"] > 0 and stats["schema_version"] == LATEST


async def test_plan_and_recap_are_stored_with_the_session(store: Store) -> None:
    sid = await new_session(store)
    assert (await store.get_session(sid))["plan"] is None
    assert (await store.get_session(sid))["recap"] is None
    plan = {"title": "Salt", "protagonist": {"name": "Ines"}, "beats": [{"chapter": 1}]}
    await store.set_plan(sid, plan)
    await store.set_recap(sid, {"logline": "Ines found Tom.", "moments": ["a", "b", "c"]})
    got = await store.get_session(sid)
    assert got["plan"] == plan and got["recap"]["logline"] == "Ines found Tom."
    resumed = await store.active_session()
    assert resumed is not None and resumed.session["plan"] == plan
    with pytest.raises(NotFoundError):
        await store.set_plan(999, plan)


async def test_list_sessions_newest_first_with_paging(store: Store) -> None:
    ids = [await new_session(store, started_at=t, chapters=0) for t in (1.0, 2.0, 3.0)]
    assert [s["id"] for s in await store.list_sessions(limit=2)] == [ids[2], ids[1]]
    assert [s["id"] for s in await store.list_sessions(limit=2, offset=2)] == [ids[0]]
    with pytest.raises(StorageError, match="limit"):
        await store.list_sessions(limit=-1)


async def test_missing_things_raise_not_found_and_bad_input_changes_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError, match="session 42"):
        await store.get_session(42)
    with pytest.raises(NotFoundError):
        await store.end_session(42, status="ended", ended_at=1)
    sid = await new_session(store)
    with pytest.raises(StorageError, match="end status"):
        await store.end_session(sid, status="paused", ended_at=1)
    with pytest.raises(NotFoundError, match="chapter 9"):
        await store.set_chapter_choice(sid, 9, 0, "x")
    with pytest.raises(StorageError, match="UNIQUE"):
        await new_session_chapter_again(store, sid)
    with pytest.raises(StorageError):  # a round needs its chapter
        await store.open_round(sid, 5, round_id=1, choices=CHOICES, opens_at=1, ends_at=2)
    got = await store.get_session(sid)
    assert got["status"] == "active" and len(got["chapters"]) == 1
    assert got["chapters"][0]["title"] == "Chapter 1"


async def new_session_chapter_again(store: Store, sid: int) -> None:
    await store.add_chapter(ChapterRecord(
        session_id=sid, number=1, closing=False, created_at=0,
        draft=ChapterDraft(title="dup", text="", choices=tuple(CHOICES))))


async def test_mark_stale_sessions_crashes_every_other_active_one(store: Store) -> None:
    old = [await new_session(store, chapters=0) for _ in range(2)]
    done = await new_session(store, chapters=0)
    await store.end_session(done, status="ended", ended_at=5)
    current = await new_session(store, chapters=0)
    assert await store.mark_stale_sessions(except_id=current, ended_at=9) == 2
    statuses = {s["id"]: s["status"] for s in await store.list_sessions()}
    assert statuses == {old[0]: "crashed", old[1]: "crashed", done: "ended", current: "active"}
    assert (await store.get_session(old[0]))["ended_at"] == 9
    assert await store.mark_stale_sessions(except_id=None, ended_at=10) == 1
    assert await store.active_session() is None


async def test_referenced_media_and_bare_names_only(store: Store) -> None:
    sid = await new_session(store, chapters=2)
    await store.set_chapter_media(sid, 1, image="a.png", audio=["a0.mp3", None, "a2.mp3"])
    await store.set_chapter_media(sid, 2, audio=["b0.mp3"])
    assert await store.referenced_media() == {"a.png", "a0.mp3", "a2.mp3", "b0.mp3"}
    for bad in ("../etc/passwd", "/abs.png", ".hidden", ""):
        with pytest.raises(StorageError, match="bare file name"):
            await store.set_chapter_media(sid, 2, image=bad)
    assert await store.referenced_media() == {"a.png", "a0.mp3", "a2.mp3", "b0.mp3"}


# --- rounds, ballots, viewer stats --------------------------------------------------------

async def open_voting(store: Store, *, chapters: int = 1) -> int:
    sid = await new_session(store, chapters=chapters)
    await store.open_round(sid, chapters, round_id=chapters, choices=CHOICES, opens_at=100,
                           ends_at=160)
    return sid


async def test_a_changed_vote_is_one_row_with_the_last_choice(store: Store) -> None:
    sid = await open_voting(store)
    await store.save_ballots(sid, 1, [("u1", "Ann", 0, 1), ("u2", "Bob", 2, 1)], now=101)
    await store.save_ballots(sid, 1, [("u1", "Ann B.", 2, 3)], now=102)
    state = await store.active_session()
    assert state is not None
    assert sorted(state.ballots) == [("u1", "Ann B.", 2, 3), ("u2", "Bob", 2, 1)]


async def test_a_bad_row_rejects_the_whole_batch(store: Store, db_path: Path) -> None:
    sid = await open_voting(store)
    await store.save_ballots(sid, 1, [("u1", "Ann", 0, 1)], now=101)
    with pytest.raises(StorageError, match="CHECK"):
        await store.save_ballots(sid, 1, [("u1", "Ann", 1, 1), ("u2", "Bob", 9, 1)], now=102)
    with pytest.raises(StorageError, match="a ballot is"):
        await store.save_ballots(sid, 1, [("u3", "Cy", 1, 1), ("u4", "short")], now=102)  # type: ignore[list-item]
    state = await store.active_session()
    assert state is not None and state.ballots == [("u1", "Ann", 0, 1)]


async def test_reopening_a_round_with_a_new_id_drops_old_ballots(store: Store) -> None:
    sid = await open_voting(store)
    await store.save_ballots(sid, 1, [("u1", "Ann", 0, 1)], now=101)
    await store.open_round(sid, 1, round_id=1, choices=CHOICES, opens_at=100, ends_at=190)
    assert (await store.active_session()).ballots == [("u1", "Ann", 0, 1)]  # type: ignore[union-attr]
    await store.open_round(sid, 1, round_id=2, choices=CHOICES, opens_at=200, ends_at=260)
    state = await store.active_session()
    assert state is not None and state.ballots == [] and state.round is not None
    assert (state.round["round_id"], state.round["ends_at"]) == (2, 260)


async def credit(store: Store, rows: list[tuple[str, str, bool]], now: float) -> None:
    """A closed round whose voters are `rows` (viewer, name, picked the winner), credited."""
    sid = await new_session(store)
    await store.open_round(sid, 1, round_id=1, choices=CHOICES, opens_at=now - 60, ends_at=now)
    await store.save_ballots(sid, 1, [(v, name, int(won), 1) for v, name, won in rows],
                             now=now)
    await store.record_vote_result(sid, 1, winner=1, counts=[0, 1, 0], voters=len(rows),
                                   tie_break=None, early=False, forced=False, closed_at=now)
    while not await store.credit_voters(limit=1000, now=now):
        pass


async def test_credits_count_ballots_not_messages(store: Store) -> None:
    # u1 spammed five messages in round 1: one ballot per viewer is stored, so one credit.
    await credit(store, [("u1", "Ann", False)] * 5 + [("u2", "Bob", True)], now=10)
    await credit(store, [("u1", "Ann", True)], now=20)
    top = await store.top_voters()
    assert [(v["viewer_id"], v["ballots"], v["wins"]) for v in top] == [("u1", 2, 1), ("u2", 1, 1)]
    assert top[0]["last_seen"] == 20


async def test_top_voters_order_and_limit(store: Store) -> None:
    for round_no, voters in enumerate([["a", "b", "c"], ["b", "c"], ["c"], ["d"]]):
        await credit(store, [(v, v.upper(), v == "d") for v in voters], now=round_no)
    top = await store.top_voters(limit=3)
    assert [(v["viewer_id"], v["name"], v["ballots"]) for v in top] == [
        ("c", "C", 3), ("b", "B", 2), ("d", "D", 1)]  # d ties a on ballots, wins the tie on wins


async def test_likes_and_joins_are_viewer_stats_never_ballots(store: Store,
                                                              db_path: Path) -> None:
    await credit(store, [("u1", "Ann", True)], now=10)
    await store.add_activity([("u1", "", 5, 0), ("u2", "Bob", 2, 1), ("u2", "Bob", 1, 0)], now=20)
    await store.add_activity([("u3", "Cy", 0, 1), ("u1", "Ann A.", 1, 2)], now=30)
    with raw(db_path) as conn:
        got = conn.execute("SELECT viewer_id, name, ballots, wins, likes, joins, first_seen,"
                           " last_seen FROM story_viewer_stats ORDER BY viewer_id").fetchall()
    assert got == [("u1", "Ann A.", 1, 1, 6, 2, 10, 30),   # an empty name kept "Ann" at 20
                   ("u2", "Bob", 0, 0, 3, 1, 20, 20),
                   ("u3", "Cy", 0, 0, 0, 1, 30, 30)]
    # top voters are viewers with ballots; their likes and joins come along
    assert [(v["viewer_id"], v["likes"], v["joins"]) for v in await store.top_voters()] == [
        ("u1", 6, 2)]
    await credit(store, [("u2", "Bob", False)], now=40)
    top = await store.top_voters()
    assert [(v["viewer_id"], v["ballots"], v["likes"]) for v in top] == [("u1", 1, 6),
                                                                         ("u2", 1, 3)]


async def test_bad_activity_rejects_the_whole_batch(store: Store, db_path: Path) -> None:
    for bad in ([("u1", "Ann", 1, 0), ("u2", "Bob", -1, 0)],
                [("u1", "Ann", 1, 0), ("u2", "Bob", "many", 0)],
                [("u1", "Ann", 1, 0), ("u2", "short")]):
        with pytest.raises(StorageError, match="viewer activity is|likes and joins are counts"):
            await store.add_activity(bad, now=1)  # type: ignore[arg-type]
    with raw(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM story_viewer_stats").fetchone()[0] == 0


async def test_vote_result_closes_the_round(store: Store) -> None:
    sid = await open_voting(store)
    with pytest.raises(StorageError, match="winner 5"):
        await store.record_vote_result(sid, 1, winner=5, counts=[0, 0, 0], voters=0,
                                       tie_break=None, early=False, forced=False, closed_at=1)
    await store.record_vote_result(sid, 1, winner=0, counts=[0, 0, 0], voters=0, tie_break="random",
                                   early=False, forced=False, closed_at=160)
    state = await store.active_session()
    assert state is not None and state.round is not None and state.round["status"] == "closed"
    assert (await store.get_session(sid))["chapters"][0]["vote"]["tie_break"] == "random"


# --- crash, resume, cancellation, volume --------------------------------------------------

CRASHER = """
import os, signal, sys, trio
from pathlib import Path
from storyd.core.model import ChapterDraft, ChapterRecord
from storyd.store.db import Store

async def main() -> None:
    s = await Store.open(Path(sys.argv[1]))
    sid = await s.create_session(theme="horror", language="German", outline="o",
                                 started_at=1.0, settings={})
    for n in (1, 2):
        await s.add_chapter(ChapterRecord(
            session_id=sid, number=n, closing=False, created_at=float(n),
            draft=ChapterDraft(title=f"T{n}", text="x", choices=("a", "b", "c"),
                               provider="offline")))
    await s.set_chapter_choice(sid, 1, 2, "c")
    await s.save_memory(sid, {"events": ["one"]})
    await s.open_round(sid, 2, round_id=7, choices=["a", "b", "c"], opens_at=5.0, ends_at=65.0)
    await s.save_ballots(sid, 2, [("u1", "Ann", 0, 1), ("u2", "Bob", 1, 1)], now=6.0)
    await s.save_ballots(sid, 2, [("u1", "Ann", 2, 1)], now=7.0)
    await s.update_round(sid, 2, heartbeat_at=8.0)
    os.kill(os.getpid(), signal.SIGKILL)

trio.run(main)
"""


async def test_resume_after_kill_9_mid_vote(db_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with trio.fail_after(30):
        proc = await trio.run_process([sys.executable, "-c", CRASHER, str(db_path)], env=env,
                                      check=False, capture_stderr=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = await Store.open(db_path)
    try:
        state = await store.active_session()
        assert state is not None
        assert (state.session["theme"], state.session["status"]) == ("horror", "active")
        assert [c["number"] for c in state.chapters] == [1, 2]
        assert state.chapters[0]["chosen_text"] == "c" and state.memory == {"events": ["one"]}
        assert state.round == {"chapter_number": 2, "round_id": 7, "choices": ["a", "b", "c"],
                               "opens_at": 5.0, "ends_at": 65.0, "extended": False,
                               "status": "open", "heartbeat_at": 8.0}
        assert sorted(state.ballots) == [("u1", "Ann", 2, 1), ("u2", "Bob", 1, 1)]
    finally:
        await store.aclose()


async def test_a_call_cancelled_before_it_starts_writes_nothing(store: Store,
                                                                db_path: Path) -> None:
    sid = await open_voting(store)
    with trio.CancelScope() as scope:
        scope.cancel()
        await store.save_ballots(sid, 1, [("u1", "Ann", 0, 1)], now=1)
    assert scope.cancelled_caught and ballot_count(db_path) == 0
    await store.save_ballots(sid, 1, [("u1", "Ann", 0, 1)], now=2)  # still usable
    assert ballot_count(db_path) == 1


async def test_a_call_cancelled_mid_transaction_lands_whole(store: Store, db_path: Path) -> None:
    sid = await open_voting(store)
    rows = [(f"u{i}", f"viewer {i}", i % 3, 1) for i in range(20_000)]
    blocker = raw(db_path)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the store's thread must wait
    scope = trio.CancelScope()

    async def saver() -> None:
        with scope:
            await store.save_ballots(sid, 1, rows, now=5)
            await trio.lowlevel.checkpoint()

    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(saver)
                await trio.testing.wait_all_tasks_blocked()  # saver is parked on its thread
                scope.cancel()
                await trio.testing.wait_all_tasks_blocked()
                assert ballot_count(db_path) == 0  # nothing yet, and the caller still waits
                blocker.execute("ROLLBACK")
            assert ballot_count(db_path) == len(rows)  # the whole batch, right when the call ends
    finally:
        blocker.close()
    assert scope.cancelled_caught


async def test_save_ballots_takes_100k_rows_in_one_call(store: Store, db_path: Path) -> None:
    sid = await open_voting(store)
    rows = [(f"viewer-{i}", f"name {i}", i % 3, 1 + i % 2) for i in range(100_000)]
    with trio.fail_after(30):
        await store.save_ballots(sid, 1, rows, now=1)
        await store.save_ballots(sid, 1, [(v, n, (c + 1) % 3, w) for v, n, c, w in rows], now=2)
    assert ballot_count(db_path) == 100_000
    with raw(db_path) as conn:
        assert conn.execute("SELECT choice FROM story_ballots WHERE viewer_id='viewer-4'"
                            ).fetchone()[0] == 2


async def test_concurrent_calls_are_serialized(store: Store, db_path: Path) -> None:
    sid = await open_voting(store)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for batch in range(20):
                rows = [(f"b{batch}-{i}", "x", i % 3, 1) for i in range(50)]
                nursery.start_soon(functools.partial(store.save_ballots, sid, 1, rows, now=1))
    assert ballot_count(db_path) == 1000


async def test_version_5_gives_old_sessions_air_times_and_their_own_ifids(db_path: Path) -> None:
    old = await Store.open(db_path, migrations=load_migrations()[:4])
    first, second = await new_session(old, chapters=2), await new_session(old, chapters=1)
    await old.aclose()
    store = await Store.open(db_path)
    try:
        a, b = await store.get_session(first), await store.get_session(second)
        assert [ch["aired_at"] for ch in a["chapters"]] == [ch["created_at"]
                                                            for ch in a["chapters"]]
        assert a["ifid"] != b["ifid"] and a["ifid"] == a["ifid"].upper()
        assert a["ifid"][14] == "4" and a["ifid"][19] in "89AB" and len(a["ifid"]) == 36
        assert (await store.get_session(first))["ifid"] == a["ifid"]      # stored, kept
        third = await new_session(store, chapters=1)
        await store.set_chapter_aired(third, 1, 555.0)
        await store.set_chapter_aired(third, 1, 999.0)                  # the first time counts
        c = await store.get_session(third)
        assert c["chapters"][0]["aired_at"] == 555.0 and c["ifid"] not in (a["ifid"], b["ifid"])
        assert (await store.get_session(third))["ifid"] == c["ifid"]
    finally:
        await store.aclose()
