"""The Operator port: everything the control socket and the web front may do with the show.

Both fronts turn a request into calls on this Protocol (control/dispatch.py) and nothing else:
they never see the director, the voting service, the store or the clock behind it. The
director side implements it (services/operator.py `StoryOperator`); test fakes implement the
parts a test uses. Commands raise the StorydError subclasses the fronts map to their error
codes (RefusedError → 409 `refused`, NotFoundError → 404, StoreUnavailable → 503); a refused
command changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol

import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.control import protocol as p
from storyd.core import replies as r
from storyd.core.chapter_times import ChapterList
from storyd.core.model import ChatMessage
from storyd.core.recap_view import RecapView
from storyd.core.snapshot import Snapshot

ExportFormat = Literal["md", "html", "twee", "json"]


class Operator(Protocol):
    # ---- the daemon the fronts live in --------------------------------------------------
    @property
    def config(self) -> Config:
        """The config in effect (read it on every use: a reload swaps it whole)."""
        ...

    @property
    def config_path(self) -> Path: ...
    @property
    def admin_token(self) -> str: ...
    @property
    def media_dir(self) -> Path: ...

    @property
    def shutdown(self) -> trio.Event:
        """Set when storyd stops: servers stop accepting, sockets close with 1001."""
        ...

    @property
    def bus(self) -> EventBus:
        """The live events (`watch`, the websockets)."""
        ...

    def snapshot(self) -> Snapshot: ...
    def admin_url(self) -> str: ...

    def apply_config(self, new: Config) -> None:
        """Swap in a validated config; ConfigError (and nothing changed) when it cannot be."""
        ...

    # ---- the story ----------------------------------------------------------------------
    async def start(self, *, theme: str | None = None, outline: str | None = None,
                    language: str | None = None, force: bool = False,
                    seed: int | None = None, story: str | None = None) -> Snapshot:
        """A new story: written from a theme, or `story` (a shipped story's id or a Twee
        file's absolute path) played as authored — a file storyd cannot play is refused
        (StoryFileError, 422) before anything running ends."""
        ...

    async def stories(self) -> list[r.StoryInfo]:
        """The shipped authored stories."""
        ...

    async def close(self) -> r.CloseReply:
        """Close the running vote now (queued when the round is about to open)."""
        ...

    async def next(self, choice: int | None = None) -> Snapshot:
        """Advance now: the vote's winner, or the operator's choice (0-based)."""
        ...

    async def finish(self, *, now: bool = False) -> Snapshot:
        """The next chapter closes the story: a running vote runs out first and decides it
        (`now`: the vote closes at once)."""
        ...

    async def end(self) -> Snapshot: ...

    def plan(self) -> r.PlanReply:
        """The running story's plan (None before it is written, or with no story)."""
        ...

    async def extend(self, chapters: int) -> r.PlanReply:
        """Lengthen the running story to `chapters` (RefusedError: no story, finishing, or
        not more than have aired)."""
        ...
    async def regenerate_image(self) -> None: ...

    async def vote(self, viewer: str, name: str, choice: int) -> r.VoteReply:
        """One ballot of a local viewer, on disk before it returns."""
        ...

    async def ingest(self, batch: Sequence[ChatMessage]) -> r.IngestReply:
        """Chat lines through the chat sink; accepted ballots on disk before it returns."""
        ...

    def ingest_now(self, batch: Sequence[ChatMessage]) -> tuple[r.IngestReply, Ready | None]:
        """`ingest` in two steps, for pipelined requests: counted now; the reply may be sent
        once the returned wait returns (None: nothing to wait for). The wait raises the
        StorydError of a commit that failed: then the reply must not be sent."""
        ...

    def memory(self) -> r.MemoryReply: ...

    # ---- the audience -------------------------------------------------------------------
    def cameos(self) -> list[r.CameoEntry]:
        """The cameos of the story on air (viewer ids included: admin only)."""
        ...

    async def remove_cameo(self, name: str) -> r.CameoRemoveReply:
        """Out of every later chapter, never sent to a model again; RefusedError when the
        story on air has no such cameo."""
        ...

    # ---- history and providers ----------------------------------------------------------
    async def sessions(self, *, limit: int, offset: int) -> list[r.SessionSummary]: ...
    async def session(self, session_id: int) -> r.SessionDetail: ...
    async def delete_session(self, session_id: int) -> None: ...
    async def top_voters(self, *, limit: int) -> list[r.TopVoter]: ...

    async def export(self, session_id: int, fmt: ExportFormat) -> r.ExportReply:
        """The session as Markdown, HTML, Twee or JSON."""
        ...

    async def chapters(self, session_id: int, since: float | None) -> ChapterList:
        """A YouTube chapter list from the chapters' on-air times."""
        ...

    async def recap(self, session_id: int) -> RecapView:
        """The story's recap: branch map, logline, cast, top voters."""
        ...

    async def recap_png(self, session_id: int, size: str) -> r.PngReply:
        """The recap as a 1080x1920 or 1920x1080 PNG."""
        ...

    async def providers(self) -> list[r.ProviderCheck]:
        """One tiny request per configured provider; credentials masked."""
        ...


# Waits until an answer may be sent (an acknowledged ballot is on disk).
Ready = Callable[[], Awaitable[None]]

# What turns a request into its answer (storyd.control.dispatch.handle; tests pass fakes).
Handler = Callable[[Operator, p.Request], Awaitable[p.Result | None]]
