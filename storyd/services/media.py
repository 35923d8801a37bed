"""The media cache: pictures and narration audio, stored by content hash.

Files are named `<sha256 prefix>.<ext>` so the same bytes are stored once and a name can
never point outside the folder. Writes go to a temp file and are renamed, off the trio
thread. Expiry keeps the folder under `cache_max_mb`, deleting the least recently used
files first — but never a file that a stored session still references (the older plugin
deleted pictures its own history still showed).

The cache also passes narration made ahead from the generation service to the presenter:
`prepared` holds the speech synthesised during a vote for the branch that won (see
services/prenarration.py) until the presenter takes it for that very chapter draft.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

log = logging.getLogger(__name__)

EXTENSIONS = {
    "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg",
    "audio/mpeg": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/ogg": "ogg",
    "audio/opus": "opus",
}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}\.(png|jpg|jpeg|webp|svg|mp3|wav|ogg|opus)$")
AUDIO_EXT = frozenset({"mp3", "wav", "ogg", "opus"})
EXPIRY_INTERVAL = 600.0


def media_url(name: str | None) -> str | None:
    if not name:
        return None
    kind = "audio" if name.rsplit(".", 1)[-1] in AUDIO_EXT else "image"
    return f"/api/interactive-story/{kind}/{name}"


@dataclass(frozen=True)
class Spoken:
    name: str                   # the audio's media cache name
    duration: float | None      # seconds, when known


@dataclass
class SpeechSlot:
    """One sentence's speech made ahead: `ready` is set when it came (`spoken`) or failed."""
    ready: trio.Event = field(default_factory=trio.Event)
    spoken: Spoken | None = None


@dataclass
class PreparedNarration:
    """Speech made ahead for one chapter draft, by (text, voice role); `scope` stops it."""
    number: int
    text: str
    slots: dict[tuple[str, str], SpeechSlot]
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class PreparedShelf:
    """At most one prepared narration handed from the vote to the presenter."""

    def __init__(self) -> None:
        self._held: PreparedNarration | None = None

    def offer(self, prepared: PreparedNarration) -> None:
        if self._held is not None and self._held is not prepared:
            self._held.scope.cancel()
        self._held = prepared

    def take(self, number: int, text: str) -> PreparedNarration | None:
        """The narration prepared for this chapter draft (taken off the shelf), else None."""
        held = self._held
        if held is None or held.number != number or held.text != text:
            return None
        self._held = None
        return held

    def clear(self) -> None:
        if self._held is not None:
            self._held.scope.cancel()
        self._held = None


class MediaCache:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.prepared = PreparedShelf()

    def path_for(self, name: str) -> Path | None:
        """The file for a bare media name, or None when the name is not a cache name or absent."""
        if not NAME_RE.match(name):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    async def put(self, data: bytes, content_type: str) -> str:
        """Store bytes; returns the file name. Same bytes, same name."""
        ext = EXTENSIONS.get(content_type.split(";")[0].strip().lower(), "bin")
        if ext == "bin":
            raise ValueError(f"unsupported media type {content_type!r}")
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{ext}"
        await trio.to_thread.run_sync(self._write, name, data)
        return name

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        if target.exists():
            os.utime(target)  # mark as recently used
            return
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def expire(self, keep: set[str]) -> int:
        """Delete least recently used, unreferenced files until under budget. Returns count."""
        return await trio.to_thread.run_sync(self._expire, keep)

    def _expire(self, keep: set[str]) -> int:
        if not self.directory.is_dir():
            return 0
        entries = []
        total = 0
        for p in self.directory.iterdir():
            if not p.is_file():
                continue
            st = p.stat()
            total += st.st_size
            entries.append((st.st_mtime, st.st_size, p))
        removed = 0
        for _mtime, size, p in sorted(entries):
            if total <= self.max_bytes:
                break
            if p.name in keep:
                continue
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    async def run(self, referenced: Callable[[], Awaitable[set[str]]], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Periodic expiry. `referenced` returns names that must be kept."""
        self.directory.mkdir(parents=True, exist_ok=True)
        task_status.started()
        while True:
            try:
                removed = await self.expire(await referenced())
                if removed:
                    log.info("media cache: removed %d unreferenced files", removed)
            except OSError as exc:
                log.warning("media cache expiry failed: %s", exc)
            await trio.sleep(EXPIRY_INTERVAL)
