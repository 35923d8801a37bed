"""The recovery file: what a stopping storyd could not write to SQLite, kept for the next start.

Theory of operation: when the store closes with writes still waiting for the disk (the
backlog and the ballot buffer, storyd.store.backlog), `save` writes them to
`storyd-unsaved-<id>-<time>.json` — in the data folder when it has room, else in the
runtime folder (the control socket's, usually on a RAM file system) — through a temporary
file, fsync and rename, so a file is there whole or not at all. `<id>` is derived from the
database path, so a file is replayed only into the database it belongs to. At the next
start `load` finds the files of this database in both folders; the store queues their
writes and ballots ahead of anything new and deletes the files once everything is on disk.

The file is JSON: {"storyd_unsaved": 1, "database", "written_at", "ballots": [[session,
chapter, viewer, name, choice, weight, updated_at], …], "writes": [{"fn":
"storyd.store.queries:add_chapter", "args": […]}, …]}. A write names a function of
storyd.store.queries or storyd.store.vote_queries; anything else in a file is refused.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger(__name__)

QUERY_MODULES = ("storyd.store.queries", "storyd.store.vote_queries")
Write = tuple[Callable[..., Any], tuple[Any, ...]]
BallotRow = tuple[int, int, str, str, int, int, float]


class Unsaved(msgspec.Struct, kw_only=True):
    storyd_unsaved: int = 1
    database: str
    written_at: float
    ballots: list[list[Any]] = []
    writes: list[dict[str, Any]] = []


def _prefix(database: Path) -> str:
    digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:12]
    return f"storyd-unsaved-{digest}-"


def files(database: Path, folders: Sequence[Path]) -> list[Path]:
    """The recovery files of `database` in `folders`, oldest first."""
    found: list[Path] = []
    for folder in dict.fromkeys(folders):
        try:
            found.extend(p for p in folder.glob(_prefix(database) + "*.json") if p.is_file())
        except OSError:
            continue
    return sorted(found, key=lambda p: p.name)


def save(database: Path, folders: Sequence[Path], writes: Sequence[Write],
         ballots: Sequence[BallotRow]) -> Path:
    """Write one recovery file into the first folder that takes it; OSError when none does.
    Writes that cannot be encoded are left out and logged."""
    encoded: list[dict[str, Any]] = []
    for fn, args in writes:
        try:
            msgspec.json.encode(args)
        except (TypeError, msgspec.EncodeError) as exc:
            log.error("an unsaved %s write cannot be kept in the recovery file: %s",
                      fn.__name__, exc)
            continue
        encoded.append({"fn": f"{fn.__module__}:{fn.__name__}", "args": list(args)})
    data = msgspec.json.encode(Unsaved(database=str(database.resolve()), written_at=time.time(),
                                       ballots=[list(b) for b in ballots], writes=encoded))
    name = f"{_prefix(database)}{time.time_ns():020d}.json"
    problems: list[str] = []
    for folder in dict.fromkeys(folders):
        try:
            _write_whole(folder / name, data)
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
            continue
        return folder / name
    raise OSError("; ".join(problems) or "no folder to write the recovery file to")


def _write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".storyd-unsaved.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load(path: Path) -> tuple[list[Write], list[list[Any]]]:
    """The writes and ballot rows of one recovery file; ValueError when it is not one."""
    try:
        unsaved = msgspec.json.decode(path.read_bytes(), type=Unsaved)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"{path}: not a storyd recovery file: {exc}") from None
    writes = [(_query(w.get("fn", "")), tuple(w.get("args", ()))) for w in unsaved.writes]
    for row in unsaved.ballots:
        if len(row) != 7:
            raise ValueError(f"{path}: a ballot row is 7 values, not {row!r}")
    return writes, unsaved.ballots


def _query(name: str) -> Callable[..., Any]:
    module, _, attr = str(name).partition(":")
    if module not in QUERY_MODULES:
        raise ValueError(f"not a storyd store write: {name!r}")
    fn = getattr(importlib.import_module(module), attr, None)
    if not callable(fn) or getattr(fn, "__module__", "") != module or attr.startswith("_"):
        raise ValueError(f"not a storyd store write: {name!r}")
    return fn  # type: ignore[no-any-return]
