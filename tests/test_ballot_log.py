"""The ballot log (issue 23): appended while a round is open, folded into story_ballots_folded in
append order later, on real SQLite files. Each check compares with a plain model of the
upserts the flusher used to make (the latest ballot of a viewer wins, choice -1 takes it
back, an empty name keeps the stored one), so a fold that lost, repeated or reordered an
entry fails; kill -9 mid-append and mid-fold too."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import trio

from storyd.store import ballot_log
from storyd.store.db import Store
from tests.test_store import REPO, db_path, open_voting, raw, store  # noqa: F401 - fixtures

Row = tuple[str, str, int, int]
Model = dict[str, tuple[str, int, int]]


def apply(model: Model, rows: list[Row]) -> None:
    """The upsert of one flush (one row per viewer, as the drain gives them)."""
    for viewer, name, choice, weight in rows:
        old = model.pop(viewer, None)
        if choice >= 0:
            model[viewer] = (name or (old[0] if old else ""), choice, weight)


def flushes(rng: random.Random, n: int, pool: int) -> list[list[Row]]:
    out = []
    for _ in range(n):
        viewers = rng.sample(range(pool), rng.randint(1, min(pool, 12)))
        out.append([(f"tiktok:{v}", rng.choice(("", f"V{v}", f"W{v}")),
                     rng.choice((-1, 0, 1, 2, 2)), rng.randint(1, 3)) for v in viewers])
        out[-1] = [(v, nm, c, 0 if c < 0 else w) for v, nm, c, w in out[-1]]
    return out


def table(path: Path, name: str = "story_ballots_folded", sid: int = 1) -> Model:
    with raw(path) as conn:
        return {v: (n, c, w) for v, n, c, w in conn.execute(
            f"SELECT viewer_id, name, choice, weight FROM {name} WHERE session_id = ?", (sid,))}


def log_size(path: Path) -> int:
    with raw(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM story_ballot_log").fetchone()[0])


async def test_folding_in_any_steps_between_appends_gives_the_upserted_ballots(
        store: Store, db_path: Path) -> None:  # noqa: F811
    sid = await open_voting(store)
    for seed in range(12):
        rng = random.Random(seed)
        model: Model = dict(table(db_path, "story_ballots", sid))
        for k, rows in enumerate(flushes(rng, 25, pool=15)):
            await store.save_ballots(sid, 1, rows, now=1000.0 * seed + k)
            apply(model, rows)
            assert table(db_path, "story_ballots", sid) == model   # the view reads through
            if rng.random() < 0.3:                                   # a fold step, any size
                await store._run(ballot_log.fold, rng.randint(1, 30))
                assert table(db_path, "story_ballots", sid) == model
        state = await store.active_session()                         # the resume reads through
        assert state is not None
        assert {v: (n, c, w) for v, n, c, w in state.ballots} == model
        while await store._run(ballot_log.fold, rng.randint(1, 40)):
            pass
        assert log_size(db_path) == 0                                # folded entries are gone
        assert table(db_path, "story_ballots_folded", sid) == model


async def test_a_removed_ballot_between_changes_and_a_nameless_change_fold_in_order(
        store: Store, db_path: Path) -> None:  # noqa: F811
    sid = await open_voting(store)
    steps: list[list[Row]] = [
        [("a", "Ann", 0, 1), ("b", "Bob", 1, 1), ("c", "Cy", 2, 1)],
        [("a", "", 2, 2), ("b", "", -1, 0)],        # a: nameless change; b taken back
        [("b", "", 0, 1), ("c", "Cyrus", -1, 0)],   # b votes again without a name
        [("c", "", 1, 1), ("a", "Anna", 1, 1)],     # c again: the old name is gone
    ]
    for k, rows in enumerate(steps):
        await store.save_ballots(sid, 1, rows, now=200.0 + k)
    assert log_size(db_path) == 9 and table(db_path, sid=sid) == {}
    while await store._run(ballot_log.fold, 3):    # steps that cut between the entries
        pass
    assert table(db_path, sid=sid) == {"a": ("Anna", 1, 1), "b": ("", 0, 1), "c": ("", 1, 1)}
    with raw(db_path) as conn:
        assert conn.execute("SELECT updated_at FROM story_ballots_folded WHERE viewer_id = 'a'"
                            ).fetchone()[0] == 203.0


async def test_crediting_folds_first_and_reopening_a_round_drops_its_log(
        store: Store, db_path: Path) -> None:  # noqa: F811
    sid = await open_voting(store)
    rows = [(f"tiktok:{i}", f"V{i}", i % 3, 1) for i in range(50)]
    await store.save_ballots(sid, 1, rows, now=101.0)
    await store.save_ballots(sid, 1, [("tiktok:0", "", -1, 0), ("tiktok:1", "", 0, 1)],
                             now=102.0)
    await store.record_vote_result(sid, 1, winner=0, counts=[17, 16, 16], voters=49,
                                   tie_break=None, early=False, forced=False, closed_at=103.0)
    while not await store.credit_voters(limit=7, now=104.0):
        pass
    assert log_size(db_path) == 0
    with raw(db_path) as conn:
        credited = dict(conn.execute("SELECT viewer_id, wins FROM story_viewer_stats"))
    assert len(credited) == 49 and "tiktok:0" not in credited and credited["tiktok:1"] == 1
    assert [v["ballots"] for v in await store.session_voters(sid, limit=1)] == [1]
    # a round opened again with another id starts empty, its unfolded entries too
    await store.save_ballots(sid, 1, [("tiktok:99", "Z", 1, 1)], now=105.0)
    await store.open_round(sid, 1, round_id=7, choices=["a", "b"], opens_at=106, ends_at=160)
    assert log_size(db_path) == 0 and table(db_path, "story_ballots", sid) == {}


# ---- kill -9: while appending, while folding ----------------------------------------------
_CHILD = """
import random, sys, trio
sys.path.insert(0, {repo!r})
from tests.test_ballot_log import flushes
from storyd.store import ballot_log
from storyd.store.db import Store

async def main(path, mode):
    store = await Store.open(path)
    work = enumerate(flushes(random.Random(5), 400, pool=300))
    while sys.stdin.buffer.read(1):                   # one step per byte the test sends
        if mode == "append":
            k, rows = next(work)
            await store.save_ballots(1, 1, rows, now=float(k))
            print("acked", k, flush=True)             # only after the commit
        elif await store._run(ballot_log.fold, 50):
            print("folded", flush=True)

trio.run(main, sys.argv[1], sys.argv[2])
"""


def _run_until(path: Path, mode: str, steps: int) -> list[str]:
    """Let the child do `steps` steps, start one more and kill it with SIGKILL at once; what
    it printed (a step printed is committed; the last one may be committed unprinted)."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(repo=str(REPO)), str(path),
                              mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
    assert child.stdin is not None and child.stdout is not None
    printed = []
    try:
        for _ in range(steps):
            child.stdin.write(b"g")
            child.stdin.flush()
            printed.append(child.stdout.readline().decode())
        child.stdin.write(b"g")
        child.stdin.flush()
    finally:
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    printed += child.stdout.read().decode().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in printed)
    return [line.strip() for line in printed]


async def test_kill_9_mid_append_and_mid_fold_keeps_exactly_the_acknowledged_ballots(
        db_path: Path) -> None:  # noqa: F811
    first = await Store.open(db_path)
    sid = await open_voting(first)
    await first.aclose()
    assert sid == 1
    printed = await trio.to_thread.run_sync(_run_until, db_path, "append", 150)
    acked = int(printed[-1].split()[1])
    assert printed[:150] == [f"acked {k}" for k in range(150)] and acked in (149, 150)
    everything = flushes(random.Random(5), 400, pool=300)
    model: Model = {}
    for rows in everything[:acked + 1]:
        apply(model, rows)
    in_flight = dict(model)
    apply(in_flight, everything[acked + 1])           # committed, killed before it printed
    now = table(db_path, "story_ballots", sid)
    assert now in (model, in_flight)
    model = now
    entries = log_size(db_path)
    assert entries >= 150 and table(db_path, sid=sid) == {}
    folded = len(await trio.to_thread.run_sync(_run_until, db_path, "fold", 4))
    left = log_size(db_path)                           # killed mid-fold: whole steps only
    assert folded in (4, 5) and left in (entries - 50 * folded, entries - 50 * (folded + 1))
    assert left > 0 and table(db_path, "story_ballots", sid) == model
    again = await Store.open(db_path)                  # the resume reads through the rest
    try:
        state = await again.active_session()
        assert state is not None
        assert {v: (n, c, w) for v, n, c, w in state.ballots} == model
    finally:
        await again.aclose()                           # a clean stop folds the rest
    assert log_size(db_path) == 0 and table(db_path, sid=sid) == model


def test_the_view_and_the_table_agree_on_a_file_storyd_left(db_path: Path) -> None:  # noqa: F811
    async def fill() -> None:
        st = await Store.open(db_path)
        sid = await open_voting(st)
        for k, rows in enumerate(flushes(random.Random(9), 40, pool=20)):
            await st.save_ballots(sid, 1, rows, now=float(k))
        assert log_size(db_path) > 0
        await st.aclose()

    trio.run(fill)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM story_ballot_log").fetchone()[0] == 0
        assert sorted(conn.execute("SELECT * FROM story_ballots_folded")) == sorted(
            conn.execute("SELECT * FROM story_ballots"))
    finally:
        conn.close()
