"""The synchronous SQL for audience cameos (see storyd/core/cameos.py and queries.py).

One row per viewer per session in story_cameos, upserted with its latest state. A session's
ballot counts per viewer (for "this story's top voters first") are read once when a story is
resumed; while it runs the cameo service counts them itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from storyd.store.queries import transaction

_encode = msgspec.json.encode
_decode = msgspec.json.decode
STATUSES = frozenset({"joined", "left", "removed"})


def save_cameos(conn: sqlite3.Connection, session_id: int,
                rows: Sequence[dict[str, Any]]) -> None:
    """Upsert cameo rows ({viewer_id, name, status, joined_at, changed_at, chapters}) in one
    transaction: all or nothing."""
    with transaction(conn):
        conn.executemany(
            "INSERT INTO story_cameos (session_id, viewer_id, name, status, joined_at,"
            " changed_at, chapters) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id, viewer_id) DO UPDATE SET name = excluded.name,"
            " status = excluded.status, joined_at = excluded.joined_at,"
            " changed_at = excluded.changed_at, chapters = excluded.chapters",
            [(session_id, r["viewer_id"], r["name"], r["status"], r["joined_at"],
              r["changed_at"], _encode(list(r["chapters"])).decode()) for r in rows])


def cameos(conn: sqlite3.Connection, session_id: int) -> list[dict[str, Any]]:
    """Every cameo of a session, in the order they first joined."""
    out = []
    for row in conn.execute(
            "SELECT viewer_id, name, status, joined_at, changed_at, chapters FROM story_cameos"
            " WHERE session_id = ? ORDER BY joined_at, viewer_id", (session_id,)):
        item = dict(row)
        item["chapters"] = _decode(item["chapters"])
        out.append(item)
    return out


def cast(conn: sqlite3.Connection, session_id: int) -> list[dict[str, Any]]:
    """The cameos an export may show: name, status (joined or left) and the chapters that
    name them; removed ones and viewer ids never."""
    return [{"name": c["name"], "status": c["status"], "chapters": c["chapters"]}
            for c in cameos(conn, session_id) if c["status"] != "removed"]


def ballot_counts(conn: sqlite3.Connection, session_id: int, limit: int) -> dict[str, int]:
    """Rounds voted in per viewer in this session (the `limit` most active viewers)."""
    return {row[0]: row[1] for row in conn.execute(
        "SELECT viewer_id, COUNT(*) AS n FROM story_ballots WHERE session_id = ?"
        " GROUP BY viewer_id ORDER BY n DESC LIMIT ?", (session_id, limit))}
