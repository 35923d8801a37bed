"""The synchronous SQL for vote rounds, ballots, results and viewer stats (see queries.py).

Viewer stats count ballots (one per viewer per closed round) and, separately, likes and joins,
which are never ballots.

A round is one row per chapter in story_rounds; its ballots end up in story_ballots (PRIMARY
KEY session, chapter, viewer: a changed vote replaces the row, the last choice counts).
Ballots are batched: the voting service hands over the round's dirty ballots a few times a
second and each batch is appended to the ballot log in one transaction, so a crash loses at
most the batch in flight; store/ballot_log.py folds the log into story_ballots.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from storyd.errors import StorageError
from storyd.store import ballot_log
from storyd.store.queries import (
    ROUND_STATUSES,
    _expect_row,
    _page,
    ballots_table,
    transaction,
)

_encode = msgspec.json.encode


def open_round(conn: sqlite3.Connection, session_id: int, chapter_number: int, round_id: int,
               choices: list[str], opens_at: float, ends_at: float) -> None:
    """Open (or re-open) the chapter's round; a different round_id drops the old ballots."""
    with transaction(conn):
        for table in (ballots_table(conn), "story_ballot_log")[:1 + ballot_log.present(conn)]:
            conn.execute(
                f"DELETE FROM {table} WHERE session_id = ? AND chapter_number = ? AND EXISTS"
                " (SELECT 1 FROM story_rounds WHERE session_id = ? AND chapter_number = ?"
                "  AND round_id != ?)",
                (session_id, chapter_number, session_id, chapter_number, round_id))
        conn.execute(
            "INSERT INTO story_rounds (session_id, chapter_number, round_id, choices, opens_at,"
            " ends_at, extended, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'open')"
            " ON CONFLICT (session_id, chapter_number) DO UPDATE SET round_id = excluded.round_id,"
            " choices = excluded.choices, opens_at = excluded.opens_at, ends_at = excluded.ends_at,"
            " extended = 0, status = 'open'",
            (session_id, chapter_number, round_id, _encode(list(choices)).decode(), opens_at,
             ends_at))


def update_round(conn: sqlite3.Connection, session_id: int, chapter_number: int,
                 ends_at: float | None, extended: bool | None, status: str | None,
                 heartbeat_at: float | None = None) -> None:
    if status is not None and status not in ROUND_STATUSES:
        raise StorageError(f"round status must be one of {sorted(ROUND_STATUSES)}, not {status!r}")
    with transaction(conn):
        cur = conn.execute(
            "UPDATE story_rounds SET ends_at = coalesce(?, ends_at),"
            " extended = coalesce(?, extended), status = coalesce(?, status),"
            " heartbeat_at = coalesce(?, heartbeat_at)"
            " WHERE session_id = ? AND chapter_number = ?",
            (ends_at, None if extended is None else int(extended), status, heartbeat_at,
             session_id, chapter_number))
        _expect_row(cur, f"the vote round of chapter {chapter_number} of session {session_id}")


def save_ballots(conn: sqlite3.Connection, session_id: int, chapter_number: int,
                 rows: Sequence[tuple[str, str, int, int]], now: float) -> None:
    """Append the batch to the ballot log in ONE transaction: all of it lands, or none of it
    (store/ballot_log.py folds it into story_ballots later). A row with choice -1 takes the
    viewer's ballot back (a moderator); an empty name keeps the stored one."""
    if any(len(row) != 4 for row in rows):
        bad = next(row for row in rows if len(row) != 4)
        raise StorageError(f"a ballot is (viewer_id, name, choice, weight), not {bad!r}")
    with transaction(conn):
        ballot_log.append(conn, session_id, chapter_number, now, rows)


def save_ballot_rows(conn: sqlite3.Connection,
                     rows: Sequence[tuple[int, int, str, str, int, int, float]]) -> None:
    """Append (session_id, chapter_number, viewer_id, name, choice, weight, updated_at) rows,
    each with its own time, to the ballot log in ONE transaction (choice -1: taken back; an
    empty name keeps the stored one)."""
    with transaction(conn):
        ballot_log.append_rows(conn, rows)


def record_vote_result(conn: sqlite3.Connection, session_id: int, chapter_number: int,
                       winner: int, counts: list[int], voters: int, tie_break: str | None,
                       early: bool, forced: bool, closed_at: float) -> None:
    """One story_votes row per chapter round (a repeat replaces it) and the round closed.
    A new row waits for its voters' credit (`credit_round`); a repeat is not credited again."""
    if counts and not 0 <= winner < len(counts):
        raise StorageError(f"winner {winner} is not one of the {len(counts)} counted choices")
    with transaction(conn):
        conn.execute(
            "INSERT INTO story_votes (session_id, chapter_number, winner, counts, voters,"
            " tie_break, early, forced, closed_at, credited)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
            " ON CONFLICT (session_id, chapter_number) DO UPDATE SET winner = excluded.winner,"
            " counts = excluded.counts, voters = excluded.voters, tie_break = excluded.tie_break,"
            " early = excluded.early, forced = excluded.forced, closed_at = excluded.closed_at",
            (session_id, chapter_number, winner, _encode(list(counts)).decode(), voters,
             tie_break, int(early), int(forced), closed_at))
        conn.execute("UPDATE story_rounds SET status = 'closed'"
                     " WHERE session_id = ? AND chapter_number = ?", (session_id, chapter_number))


_CREDIT = (
    "INSERT INTO story_viewer_stats (viewer_id, name, ballots, wins, first_seen, last_seen)"
    " SELECT viewer_id, name, 1, choice = ?, ?, ? FROM {table}"
    " WHERE session_id = ? AND chapter_number = ? AND viewer_id > ? {upto}"
    " ON CONFLICT (viewer_id) DO UPDATE SET"
    " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
    " ballots = ballots + 1, wins = wins + excluded.wins, last_seen = excluded.last_seen")
_CREDIT_ALL = _CREDIT.replace("{upto}", "")
_CREDIT_UPTO = _CREDIT.replace("{upto}", "AND viewer_id <= ?")


def credit_round(conn: sqlite3.Connection, session_id: int, chapter_number: int, limit: int,
                 now: float) -> bool:
    """Credit the next `limit` voters (in viewer id order) of a closed round in viewer stats,
    in ONE transaction that also moves the round's credit cursor, so a crash between two
    steps neither loses nor repeats a credit. True once every voter of the round is credited
    (or there is nothing to credit)."""
    with transaction(conn):
        row = conn.execute(
            "SELECT winner, credited, credit_after FROM story_votes"
            " WHERE session_id = ? AND chapter_number = ?", (session_id, chapter_number)
        ).fetchone()
        if row is None or row["credited"]:
            return True
        after = row["credit_after"]
        table = ballots_table(conn)    # a fixed name, not input
        last = conn.execute(
            f"SELECT viewer_id FROM {table} WHERE session_id = ? AND chapter_number = ?"
            " AND viewer_id > ? ORDER BY viewer_id LIMIT 1 OFFSET ?",
            (session_id, chapter_number, after, max(limit, 1))).fetchone()
        head = (row["winner"], now, now, session_id, chapter_number, after)
        if last is None:        # the rest fits this step
            conn.execute(_CREDIT_ALL.format(table=table), head)
            cursor = ""
        else:                   # up to the viewer before `last`
            upto = conn.execute(
                f"SELECT max(viewer_id) FROM {table} WHERE session_id = ?"
                " AND chapter_number = ? AND viewer_id < ?",
                (session_id, chapter_number, last[0])).fetchone()[0]
            conn.execute(_CREDIT_UPTO.format(table=table), (*head, upto))
            cursor = upto
        conn.execute("UPDATE story_votes SET credited = ?, credit_after = ?"
                     " WHERE session_id = ? AND chapter_number = ?",
                     (int(last is None), cursor, session_id, chapter_number))
    return last is None


def credit_voters(conn: sqlite3.Connection, limit: int, now: float) -> bool:
    """One step for the round closed first of those still waiting for their voters' credit:
    a step of folding the ballot log, and once it is empty a `credit_round` step. True when
    none waits."""
    row = conn.execute("SELECT session_id, chapter_number FROM story_votes WHERE credited = 0"
                       " ORDER BY closed_at LIMIT 1").fetchone()
    if row is None:
        return True
    ballot_log.fold(conn, ballot_log.FOLD_STEP)     # the round's ballots are folded first
    if ballot_log.waiting(conn):
        return False
    credit_round(conn, row[0], row[1], limit, now)
    return False


def _activity_rows(rows: Sequence[tuple[str, str, int, int]], now: float
                   ) -> Iterator[tuple[str, str, int, int, float, float]]:
    for row in rows:
        if len(row) != 4:
            raise StorageError(f"viewer activity is (viewer_id, name, likes, joins), not {row!r}")
        viewer_id, name, likes, joins = row
        if not (isinstance(likes, int) and isinstance(joins, int) and likes >= 0 and joins >= 0):
            raise StorageError(f"likes and joins are counts (whole numbers ≥ 0), not {row!r}")
        yield viewer_id, name, likes, joins, now, now


def add_activity(conn: sqlite3.Connection, rows: Sequence[tuple[str, str, int, int]],
                 now: float) -> None:
    """Add likes and joins to viewer stats in ONE transaction; a new viewer gets a row with
    0 ballots. Never touches ballots or wins. An empty name keeps the stored one."""
    with transaction(conn):
        conn.executemany(
            "INSERT INTO story_viewer_stats (viewer_id, name, ballots, wins, likes, joins,"
            " first_seen, last_seen) VALUES (?, ?, 0, 0, ?, ?, ?, ?)"
            " ON CONFLICT (viewer_id) DO UPDATE SET"
            " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
            " likes = likes + excluded.likes, joins = joins + excluded.joins,"
            " last_seen = excluded.last_seen",
            _activity_rows(rows, now))


def top_voters(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """Viewers with at least one ballot (likes and joins alone do not make a voter)."""
    _page(limit, 0)
    rows = conn.execute(
        "SELECT viewer_id, name, ballots, wins, likes, joins, last_seen FROM story_viewer_stats"
        " WHERE ballots > 0"
        " ORDER BY ballots DESC, wins DESC, last_seen DESC, viewer_id LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    out = {}
    for table in ("story_sessions", "story_chapters", "story_votes", "story_viewer_stats",
                  "story_memory", "story_rounds", "story_ballots"):
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # fixed names, not input
        out[table.removeprefix("story_")] = row[0]
    out["active_sessions"] = conn.execute(
        "SELECT COUNT(*) FROM story_sessions WHERE status = 'active'").fetchone()[0]
    return out


def session_voters(conn: sqlite3.Connection, session_id: int, limit: int) -> list[dict[str, Any]]:
    """The top voters of one story: display name, rounds voted, ballots that picked the winner
    (no viewer ids: a recap is shown to everyone)."""
    _page(limit, 0)
    rows = conn.execute(
        "SELECT max(b.name) AS name, COUNT(*) AS ballots,"
        " SUM(CASE WHEN b.choice = v.winner THEN 1 ELSE 0 END) AS wins"
        f" FROM {ballots_table(conn)} b LEFT JOIN story_votes v"
        " ON v.session_id = b.session_id AND v.chapter_number = b.chapter_number"
        " WHERE b.session_id = ? GROUP BY b.viewer_id"
        " ORDER BY ballots DESC, wins DESC, min(b.updated_at), b.viewer_id LIMIT ?",
        (session_id, limit))
    return [{"name": r["name"] or "someone", "ballots": r["ballots"], "wins": r["wins"] or 0}
            for r in rows]
