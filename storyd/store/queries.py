"""The synchronous SQL behind `storyd.store.db.Store`.

Every function takes the one `sqlite3.Connection` (opened in autocommit mode, so transactions
are explicit) and runs on the store's worker thread, never on the trio thread. Writers wrap
their statements in `transaction()`: BEGIN IMMEDIATE … COMMIT, rolled back on any exception,
so a failed or bad call leaves the database as it was. Functions raise `StorageError` or
`NotFoundError` for bad input; raw `sqlite3.Error`s are translated by the caller in db.py.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from storyd.core.model import ChapterRecord
from storyd.errors import NotFoundError, StorageError

END_STATUSES = frozenset({"finished", "ended", "crashed"})
ROUND_STATUSES = frozenset({"open", "closed"})
MAX_PAGE = 1000

_encode = msgspec.json.encode
_decode = msgspec.json.decode


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE; COMMIT on success, ROLLBACK on any exception (also a failed COMMIT)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _expect_row(cur: sqlite3.Cursor, what: str) -> None:
    if cur.rowcount == 0:
        raise NotFoundError(f"{what} does not exist")


def _media_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise StorageError(f"media name {name!r} must be a bare file name in the media cache")
    return name


def _page(limit: int, offset: int) -> None:
    if not 0 <= limit <= MAX_PAGE or offset < 0:
        raise StorageError(f"limit must be 0–{MAX_PAGE} and offset >= 0 (got {limit}, {offset})")


# --- sessions -----------------------------------------------------------------------------

def _session_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["settings"] = _decode(out["settings"])
    for key in ("plan", "recap"):   # JSON objects, None until written (migration 0004)
        out[key] = _decode(out[key]) if out.get(key) else None
    return out


def new_ifid() -> str:
    """A Twine IFID: a random (v4) UUID in upper case, made once per session (on its first
    read; migration 0004 gave every older session its own)."""
    return str(uuid.uuid4()).upper()


def create_session(conn: sqlite3.Connection, theme: str, language: str, outline: str,
                   started_at: float, settings: dict[str, Any]) -> int:
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO story_sessions (theme, language, outline, status, started_at, settings)"
            " VALUES (?, ?, ?, 'active', ?, ?)",
            (theme, language, outline, started_at, _encode(settings).decode()))
    assert cur.lastrowid is not None
    return cur.lastrowid


def set_outline(conn: sqlite3.Connection, session_id: int, outline: str) -> None:
    with transaction(conn):
        cur = conn.execute("UPDATE story_sessions SET outline = ? WHERE id = ?",
                           (outline, session_id))
        _expect_row(cur, f"session {session_id}")


def set_plan(conn: sqlite3.Connection, session_id: int, plan: dict[str, Any]) -> None:
    with transaction(conn):
        cur = conn.execute("UPDATE story_sessions SET plan = ? WHERE id = ?",
                           (_encode(plan).decode(), session_id))
        _expect_row(cur, f"session {session_id}")


def set_recap(conn: sqlite3.Connection, session_id: int, recap: dict[str, Any]) -> None:
    with transaction(conn):
        cur = conn.execute("UPDATE story_sessions SET recap = ? WHERE id = ?",
                           (_encode(recap).decode(), session_id))
        _expect_row(cur, f"session {session_id}")


def end_session(conn: sqlite3.Connection, session_id: int, status: str, ended_at: float) -> None:
    if status not in END_STATUSES:
        raise StorageError(f"end status must be one of {sorted(END_STATUSES)}, not {status!r}")
    with transaction(conn):
        cur = conn.execute("UPDATE story_sessions SET status = ?, ended_at = ? WHERE id = ?",
                           (status, ended_at, session_id))
        _expect_row(cur, f"session {session_id}")


def mark_stale_sessions(conn: sqlite3.Connection, except_id: int | None, ended_at: float) -> int:
    with transaction(conn):
        cur = conn.execute(
            "UPDATE story_sessions SET status = 'crashed', ended_at = ?"
            " WHERE status = 'active' AND (? IS NULL OR id != ?)", (ended_at, except_id, except_id))
    return cur.rowcount


def _session_row(conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM story_sessions WHERE id = ?",
                                           (session_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"session {session_id} does not exist")
    return row


def _chapters(conn: sqlite3.Connection, session_id: int) -> list[dict[str, Any]]:
    chapters = []
    for row in conn.execute("SELECT * FROM story_chapters WHERE session_id = ? ORDER BY number",
                            (session_id,)):
        ch = dict(row)
        del ch["session_id"]
        for key in ("choices", "lines", "memory_update", "audio"):
            ch[key] = _decode(ch[key])
        ch["closing"] = bool(ch["closing"])
        chapters.append(ch)
    return chapters


def _memory(conn: sqlite3.Connection, session_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT memory FROM story_memory WHERE session_id = ?",
                       (session_id,)).fetchone()
    return None if row is None else _decode(row[0])


FOLDED = "story_ballots_folded"   # the folded ballots' table (schema 0008 on)


def ballots_table(conn: sqlite3.Connection) -> str:
    """The table storyd writes ballots to and reads them from after a fold
    (store/ballot_log.py): from schema 0008 on story_ballots_folded (story_ballots is then the
    view of every ballot as it is now, for readers outside storyd); before it, story_ballots
    itself (tests open databases as an older storyd left them)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (FOLDED,)).fetchone()
    return FOLDED if found is not None else "story_ballots"


def active_session(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The newest "active" session: its chapters, memory, latest round and that round's ballots."""
    conn.execute("BEGIN")  # one consistent read snapshot
    try:
        row = conn.execute("SELECT * FROM story_sessions WHERE status = 'active'"
                           " ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        sid = row["id"]
        rnd = conn.execute("SELECT * FROM story_rounds WHERE session_id = ?"
                           " ORDER BY chapter_number DESC LIMIT 1", (sid,)).fetchone()
        round_: dict[str, Any] | None = None
        ballots: list[tuple[str, str, int, int]] = []
        if rnd is not None:
            round_ = dict(rnd)
            del round_["session_id"]
            round_["choices"] = _decode(round_["choices"])
            round_["extended"] = bool(round_["extended"])
            ballots = [tuple(b) for b in conn.execute(
                f"SELECT viewer_id, name, choice, weight FROM {ballots_table(conn)}"
                " WHERE session_id = ? AND chapter_number = ? ORDER BY updated_at, viewer_id",
                (sid, rnd["chapter_number"]))]
        return {"session": _session_dict(row), "chapters": _chapters(conn, sid),
                "memory": _memory(conn, sid), "round": round_, "ballots": ballots}
    finally:
        conn.execute("COMMIT")


# --- chapters -----------------------------------------------------------------------------

def chapter_values(chapter: ChapterRecord) -> dict[str, Any]:
    """What add_chapter writes, as JSON data (the form a recovery file keeps it in)."""
    d = chapter.draft
    return dict(number=chapter.number, title=d.title, text=d.text, choices=list(d.choices),
                closing=chapter.closing, summary=d.summary, provider=d.provider,
                lines=msgspec.to_builtins(d.lines), memory_update=msgspec.to_builtins(d.memory),
                created_at=chapter.created_at, chosen=chapter.chosen)


def add_chapter(conn: sqlite3.Connection, session_id: int, values: dict[str, Any]) -> None:
    chosen = values["chosen"]
    with transaction(conn):
        conn.execute(
            "INSERT INTO story_chapters (session_id, number, title, text, choices, closing,"
            " summary, provider, lines, memory_update, chosen, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, values["number"], values["title"], values["text"],
             _encode(list(values["choices"])).decode(), int(values["closing"]), values["summary"],
             values["provider"], _encode(list(values["lines"])).decode(),
             _encode(values["memory_update"]).decode(), chosen, values["created_at"]))
        if chosen is not None:
            choices = values["choices"]
            if not 0 <= chosen < len(choices):
                raise StorageError(
                    f"chosen {chosen} is not one of the chapter's {len(choices)} choices")
            conn.execute("UPDATE story_chapters SET chosen_text = ?"
                         " WHERE session_id = ? AND number = ?",
                         (choices[chosen], session_id, values["number"]))


def set_chapter_media(conn: sqlite3.Connection, session_id: int, number: int,
                      image: str | None, audio: list[str | None] | None) -> None:
    with transaction(conn):
        if image is not None:
            cur = conn.execute("UPDATE story_chapters SET image = ?"
                               " WHERE session_id = ? AND number = ?",
                               (_media_name(image), session_id, number))
            _expect_row(cur, f"chapter {number} of session {session_id}")
        if audio is not None:
            names = [None if a is None else _media_name(a) for a in audio]
            cur = conn.execute("UPDATE story_chapters SET audio = ?"
                               " WHERE session_id = ? AND number = ?",
                               (_encode(names).decode(), session_id, number))
            _expect_row(cur, f"chapter {number} of session {session_id}")


def set_chapter_choice(conn: sqlite3.Connection, session_id: int, number: int,
                       chosen: int, chosen_text: str) -> None:
    with transaction(conn):
        cur = conn.execute("UPDATE story_chapters SET chosen = ?, chosen_text = ?"
                           " WHERE session_id = ? AND number = ?",
                           (chosen, chosen_text, session_id, number))
        _expect_row(cur, f"chapter {number} of session {session_id}")


def set_chapter_aired(conn: sqlite3.Connection, session_id: int, number: int,
                      aired_at: float) -> None:
    """When the chapter went on air; the first time counts (a resumed chapter keeps it)."""
    with transaction(conn):
        cur = conn.execute("UPDATE story_chapters SET aired_at = coalesce(aired_at, ?)"
                           " WHERE session_id = ? AND number = ?", (aired_at, session_id, number))
        _expect_row(cur, f"chapter {number} of session {session_id}")


def referenced_media(conn: sqlite3.Connection) -> set[str]:
    names: set[str] = set()
    for image, audio in conn.execute("SELECT image, audio FROM story_chapters"):
        if image:
            names.add(image)
        names.update(a for a in _decode(audio) if a)
    return names


# --- memory and reads ---------------------------------------------------------------------

def save_memory(conn: sqlite3.Connection, session_id: int, memory: dict[str, Any],
                now: float | None) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO story_memory (session_id, memory, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET memory = excluded.memory,"
            " updated_at = excluded.updated_at",
            (session_id, _encode(memory).decode(), now))


def list_sessions(conn: sqlite3.Connection, limit: int, offset: int) -> list[dict[str, Any]]:
    _page(limit, offset)
    rows = conn.execute(
        "SELECT s.id, s.theme, s.language, s.status, s.started_at, s.ended_at,"
        " (SELECT COUNT(*) FROM story_chapters c WHERE c.session_id = s.id) AS chapters"
        " FROM story_sessions s ORDER BY s.id DESC LIMIT ? OFFSET ?", (limit, offset))
    return [dict(r) for r in rows]


def delete_session(conn: sqlite3.Connection, session_id: int) -> None:
    """Delete a session; its chapters, votes, rounds, ballots and memory go with it (CASCADE)."""
    _session_row(conn, session_id)
    conn.execute("DELETE FROM story_sessions WHERE id = ?", (session_id,))


def get_session(conn: sqlite3.Connection, session_id: int) -> dict[str, Any]:
    """The session, its memory, its chapters each with its vote result ("vote", or None), and
    the branches written for choices that lost ("branches")."""
    conn.execute("BEGIN")  # one consistent read snapshot
    try:
        out = _session_dict(_session_row(conn, session_id))
        if not out.get("ifid"):   # made on the first read, then kept (a disk fault: next time)
            out["ifid"] = new_ifid()
            try:
                conn.execute("UPDATE story_sessions SET ifid = ? WHERE id = ? AND ifid IS NULL",
                             (out["ifid"], session_id))
            except sqlite3.OperationalError:
                pass
        votes = {}
        for row in conn.execute("SELECT * FROM story_votes WHERE session_id = ?", (session_id,)):
            vote = dict(row)
            for internal in ("session_id", "credited", "credit_after"):  # credit progress
                vote.pop(internal, None)
            vote["counts"] = _decode(vote["counts"])
            vote["early"], vote["forced"] = bool(vote["early"]), bool(vote["forced"])
            votes[vote.pop("chapter_number")] = vote
        chapters = _chapters(conn, session_id)
        for ch in chapters:
            ch["vote"] = votes.get(ch["number"])
        out["chapters"] = chapters
        out["memory"] = _memory(conn, session_id)
        out["branches"] = branches(conn, session_id)
        return out
    finally:
        conn.execute("COMMIT")


def add_branch(conn: sqlite3.Connection, session_id: int, values: dict[str, Any]) -> None:
    """An unchosen branch (replaces one stored for the same choice)."""
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO story_branches (session_id, after_chapter, choice, title,"
            " text, choices, provider, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, values["after_chapter"], values["choice"], values["title"],
             values["text"], _encode(list(values["choices"])).decode(), values["provider"],
             values["created_at"]))


def branches(conn: sqlite3.Connection, session_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT after_chapter, choice, title, text, choices, provider, created_at"
        " FROM story_branches WHERE session_id = ? ORDER BY after_chapter, choice", (session_id,))
    return [{**dict(r), "choices": msgspec.json.decode(r["choices"])} for r in rows]
