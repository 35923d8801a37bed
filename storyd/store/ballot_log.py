"""The ballot log: ballots appended while a round is open, folded into the ballots later.

Theory of operation (issue 23): at 100,000 viewers nearly every flushed ballot is a new
viewer, and an upsert into story_ballots (keyed by session, chapter, viewer id) touches a
B-tree page per ballot — every flush rewrote most of the table's pages into the WAL. So a
flush only *appends* its rows to story_ballot_log (an INTEGER PRIMARY KEY table: the rows
go to its last pages, in one transaction: all or nothing, committed before anyone is told
that the ballots are kept).

`fold` applies the oldest entries to story_ballots in append order, exactly as the upserts
did (the latest entry of a viewer wins; choice -1 deletes the ballot; an empty name keeps
the stored one), and deletes them from the log, in ONE transaction per step: a crash
between steps neither loses nor repeats an entry (re-applying is impossible: a folded entry
is gone). Who folds: the credit service before it credits a closed round's voters (in steps,
off the show's path), a clean stop, and every read of story_ballots (store.pending
`read_folded`). The resume after a crash reads through the log instead (`read_through`),
so it works on a full disk too, where a fold cannot write. The log is empty again after each
fold: it holds at most the ballots of the round in progress.

Names (schema 0008): the folded ballots are the table `story_ballots_folded` (`FOLDED`,
store/queries.py `ballots_table`);
`story_ballots` is a view of every ballot as it is now — the table with the log applied in
order — so a tool or an operator reading the file of a running or killed storyd by the name
it always had sees every acknowledged ballot. storyd itself never reads the view: it folds
first and reads the table, or reads the table and the log (`read_through`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from storyd.store.queries import transaction

_encode = msgspec.json.encode

FOLD_STEP = 10_000      # log entries folded per transaction (~30 ms at 100k voters)

_APPEND = (
    "INSERT INTO story_ballot_log (session_id, chapter_number, viewer_id, name, choice,"
    " weight, updated_at) SELECT ?, ?, value->>0, value->>1, value->>2, value->>3, ?"
    " FROM json_each(?)")
_APPEND_ROWS = (
    "INSERT INTO story_ballot_log (session_id, chapter_number, viewer_id, name, choice,"
    " weight, updated_at) SELECT value->>0, value->>1, value->>2, value->>3, value->>4,"
    " value->>5, value->>6 FROM json_each(?)")
_UPSERT_RANGE = (
    "INSERT INTO story_ballots_folded (session_id, chapter_number, viewer_id, name, choice, weight,"
    " updated_at) SELECT session_id, chapter_number, viewer_id, name, choice, weight,"
    " updated_at FROM story_ballot_log WHERE id > ? AND id < ? ORDER BY id"
    " ON CONFLICT (session_id, chapter_number, viewer_id) DO UPDATE SET"
    " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE story_ballots_folded.name END,"
    " choice = excluded.choice, weight = excluded.weight, updated_at = excluded.updated_at")
_DELETE_ENTRY = (
    "DELETE FROM story_ballots_folded WHERE (session_id, chapter_number, viewer_id) ="
    " (SELECT session_id, chapter_number, viewer_id FROM story_ballot_log WHERE id = ?)")


_UPSERT_JSON = (      # before schema 0008: story_ballots is the table
    "INSERT INTO story_ballots (session_id, chapter_number, viewer_id, name, choice, weight,"
    " updated_at) SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5,"
    " value->>6 FROM json_each(?) WHERE value->>4 >= 0"
    " ON CONFLICT (session_id, chapter_number, viewer_id) DO UPDATE SET"
    " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE story_ballots.name END,"
    " choice = excluded.choice, weight = excluded.weight, updated_at = excluded.updated_at")


def present(conn: sqlite3.Connection) -> bool:
    """False for a database still at a schema before 0008 (tests open one as an older storyd
    would have; a real open always migrates to the newest)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                        " AND name = 'story_ballot_log'").fetchone() is not None


def append(conn: sqlite3.Connection, session_id: int, chapter_number: int, now: float,
           rows: Sequence[tuple[str, str, int, int]]) -> None:
    """Append (viewer_id, name, choice, weight) rows of one round to the log, inside the
    caller's transaction."""
    if present(conn):
        conn.execute(_APPEND, (session_id, chapter_number, now, _encode(rows)))
    else:
        append_rows(conn, [(session_id, chapter_number, *row, now) for row in rows])


def append_rows(conn: sqlite3.Connection,
                rows: Sequence[tuple[int, int, str, str, int, int, float]]) -> None:
    """Append (session_id, chapter_number, viewer_id, name, choice, weight, updated_at) rows
    to the log, inside the caller's transaction. Before schema 0008: upserted into
    story_ballots directly (choice -1 deleted), as that storyd did."""
    data = _encode(rows)
    if present(conn):
        conn.execute(_APPEND_ROWS, (data,))
        return
    conn.execute(_UPSERT_JSON, (data,))
    conn.execute("DELETE FROM story_ballots WHERE (session_id, chapter_number, viewer_id) IN"
                 " (SELECT value->>0, value->>1, value->>2 FROM json_each(?)"
                 "  WHERE value->>4 < 0)", (data,))


def waiting(conn: sqlite3.Connection) -> bool:
    """True while the log holds entries not folded yet."""
    return present(conn) and conn.execute(
        "SELECT EXISTS (SELECT 1 FROM story_ballot_log)").fetchone()[0] == 1


def fold(conn: sqlite3.Connection, limit: int = FOLD_STEP) -> bool:
    """Fold the oldest `limit` log entries into story_ballots_folded in ONE transaction. False
    when the log was empty (nothing to do)."""
    if not present(conn):
        return False
    with transaction(conn):
        hi = conn.execute("SELECT max(id) FROM (SELECT id FROM story_ballot_log ORDER BY id"
                          " LIMIT ?)", (max(limit, 1),)).fetchone()[0]
        if hi is None:
            return False
        removed = [r[0] for r in conn.execute(
            "SELECT id FROM story_ballot_log WHERE id <= ? AND choice < 0 ORDER BY id", (hi,))]
        after = 0
        for rid in removed:         # rare (moderation): the upserts before it, then it
            if rid > after + 1:
                conn.execute(_UPSERT_RANGE, (after, rid))
            conn.execute(_DELETE_ENTRY, (rid,))
            after = rid
        conn.execute(_UPSERT_RANGE, (after, hi + 1))
        conn.execute("DELETE FROM story_ballot_log WHERE id <= ?", (hi,))
    return True


def read_through(conn: sqlite3.Connection, found: dict[str, Any] | None) -> None:
    """The resume's ballots of its round (queries.active_session) with the round's log
    entries applied in order, as `fold` would apply them."""
    rnd = None if found is None else found["round"]
    if found is None or rnd is None or not present(conn):
        return
    entries = conn.execute(
        "SELECT viewer_id, name, choice, weight FROM story_ballot_log"
        " WHERE session_id = ? AND chapter_number = ? ORDER BY id",
        (found["session"]["id"], rnd["chapter_number"])).fetchall()
    if not entries:
        return
    kept = {b[0]: tuple(b) for b in found["ballots"]}
    for viewer, name, choice, weight in entries:
        old = kept.pop(viewer, None)
        if choice >= 0:
            kept[viewer] = (viewer, name or (old[1] if old else ""), choice, weight)
    found["ballots"] = list(kept.values())
