"""Ballots moderators took back, and voters credited after the close in steps (issue 23),
on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from storyd.store.db import Store
from tests.test_store import db_path, new_session, raw, store  # noqa: F401 - fixtures


async def closed_round(store: Store, voters: int, winner: int = 1) -> int:  # noqa: F811
    sid = await new_session(store)
    await store.open_round(sid, 1, round_id=1, choices=["a", "b", "c"], opens_at=1.0,
                           ends_at=61.0)
    rows = [(f"tiktok:{i:06d}", f"V{i}", i % 3, 1) for i in range(voters)]
    await store.save_ballots(sid, 1, rows, now=30.0)
    await store.record_vote_result(sid, 1, winner=winner, counts=[1, 1, 1], voters=voters,
                                   tie_break=None, early=False, forced=False, closed_at=61.0)
    return sid


def stats(path: Path) -> dict[str, tuple[int, int]]:
    with raw(path) as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT viewer_id, ballots, wins FROM story_viewer_stats")}


async def test_a_closed_round_is_credited_in_steps_exactly_once(
        store: Store, db_path: Path) -> None:  # noqa: F811
    sid = await closed_round(store, 25)
    steps = 0
    while not await store.credit_voters(limit=10, now=70.0):
        steps += 1
        assert len(stats(db_path)) == min(10 * steps, 25)   # each step credits its share
    assert steps == 3
    got = stats(db_path)
    assert len(got) == 25 and all(b == 1 for b, _ in got.values())
    assert sum(w for _, w in got.values()) == len([i for i in range(25) if i % 3 == 1])
    assert await store.credit_voters(limit=10, now=80.0) is True   # nothing twice
    await store.record_vote_result(sid, 1, winner=1, counts=[1, 1, 1], voters=25,
                                   tie_break=None, early=False, forced=False, closed_at=62.0)
    assert await store.credit_voters(limit=10, now=81.0) is True   # a repeat: not again
    assert stats(db_path) == got


async def test_a_restart_between_steps_finishes_without_repeating(db_path: Path) -> None:  # noqa: F811
    first = await Store.open(db_path)
    try:
        await closed_round(first, 12)
        assert await first.credit_voters(limit=5, now=70.0) is False
    finally:
        await first.aclose()                             # "crash" after one step
    again = await Store.open(db_path)
    try:
        while not await again.credit_voters(limit=5, now=71.0):
            pass
    finally:
        await again.aclose()
    got = stats(db_path)
    assert len(got) == 12 and all(b == 1 for b, _ in got.values())


async def test_a_taken_back_ballot_is_deleted_and_a_nameless_row_keeps_the_name(
        store: Store, db_path: Path) -> None:  # noqa: F811
    sid = await new_session(store)
    await store.open_round(sid, 1, round_id=1, choices=["a", "b", "c"], opens_at=1.0,
                           ends_at=61.0)
    await store.save_ballots(sid, 1, [("twitch:1", "Ann", 0, 1), ("twitch:2", "Bob", 1, 1)],
                             now=10.0)
    await store.save_ballots(sid, 1, [("twitch:1", "", 2, 3), ("twitch:2", "", -1, 0)],
                             now=11.0)
    with raw(db_path) as conn:
        rows = conn.execute("SELECT viewer_id, name, choice, weight FROM story_ballots"
                            ).fetchall()
    assert rows == [("twitch:1", "Ann", 2, 3)]
