"""Opening the SQLite file and bringing its schema up to date (storyd.store.db has the theory).

Schema changes are numbered `migrations/NNNN_name.sql` files, applied forward at open, each
in one transaction that also sets `PRAGMA user_version` and adds a `schema_migrations` row. A
database newer than this code is refused with a StorageError, untouched.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import sqlite3
import time
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

import msgspec

from storyd.errors import StorageError
from storyd.store import queries as q

log = logging.getLogger("storyd.store.db")

BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 32 * 1024      # SQLite page cache per connection, at most (grows on demand)
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    sql: str


def load_migrations(folder: Traversable | None = None) -> list[Migration]:
    """The numbered .sql files of `folder` (default: the packaged migrations), oldest first."""
    folder = folder or importlib.resources.files("storyd.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations must be numbered 0001, 0002, … without gaps; found "
                           f"{[m.version for m in found]} (a broken install?)")
    return found


def _statements(sql: str) -> list[str]:
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    rest = "\n".join(ln for ln in buf.splitlines() if not ln.strip().startswith("--")).strip()
    if rest:
        raise StorageError(f"migration ends in an incomplete statement: {rest[:60]!r}")
    return out


def _migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> int:
    known = migrations[-1].version if migrations else 0
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > known:
        raise StorageError(
            f"database {path} has schema version {current}, but this storyd knows only up to "
            f"{known}: upgrade storyd, or point [storage] data_dir at another folder")
    for mig in migrations:
        if mig.version <= current:
            continue
        with q.transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] >= mig.version:
                continue  # another process got there first
            for stmt in _statements(mig.sql):
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at)"
                         " VALUES (?, ?, ?)", (mig.version, mig.name, time.time()))
            conn.execute(f"PRAGMA user_version = {int(mig.version)}")
        log.info("applied schema migration %04d_%s to %s", mig.version, mig.name, path)
        current = mig.version
    return current


def connect(path: Path, migrations: Sequence[Migration]) -> tuple[sqlite3.Connection, int]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    is_new = not path.exists()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        if is_new:
            os.chmod(path, 0o600)  # viewer names live here; WAL/SHM files inherit this mode
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("SQLite at %s runs in %s mode, not WAL (network filesystem?)", path, mode)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # the ballots of a 100k-viewer round span ~2,000 pages; with SQLite's default 2 MiB
        # cache every batch re-read them (issue 23: 2x on the ballot upserts); grows on demand
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        version = _migrate(conn, path, migrations)
    except BaseException:
        conn.close()
        raise
    return conn, version
