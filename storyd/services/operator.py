"""The director side of the Operator port (control/operator.py): the show as the fronts see it.

Each command is one call into the director, the voting service or the session history; the
replies are the typed Structs of core/replies.py. An acknowledged ballot (`vote`, `ingest`) is
committed to SQLite before the call returns (the voting service's group commit), and counted
on its chat source's health. The daemon-level values (config, token, paths, bus, shutdown)
are handed in by the composition root (storyd/app.py), which also owns `apply_config`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config.masking import scrub, secret_values
from storyd.config.structs import Config
from storyd.core import replies as r
from storyd.core.chapter_times import ChapterList, chapter_list
from storyd.core.model import ChatMessage
from storyd.core.ports import Clock, HistoryStore, IngestResult, ProviderChains
from storyd.core.recap_view import RecapView, recap_view
from storyd.core.snapshot import Snapshot
from storyd.core.story_words import story_words
from storyd.errors import RefusedError, StoreUnavailable
from storyd.services.cameos import CameoService
from storyd.services.director import Director
from storyd.services.stories import language_code, load_story, shipped_stories
from storyd.services.voting import VotingService


class SourceHealth(Protocol):
    """A chat source's health record (storyd.chat.base.ChatHealth): ballots are counted."""

    def count(self, result: IngestResult, n_messages: int, now: float | None = None) -> None: ...


class StoryOperator:
    def __init__(self, director: Director, voting: VotingService, history: HistoryStore,
                 bus: EventBus, clock: Clock, *, settings: Callable[[], Config],
                 apply_config: Callable[[Config], None], config_path: Path,
                 chains: Callable[[], ProviderChains],
                 chat_health: Mapping[str, SourceHealth],
                 health_for: Callable[[str, str], SourceHealth],
                 admin_token: str, media_dir: Path, shutdown: trio.Event,
                 render: Callable[[dict[str, Any], str], r.ExportReply],
                 ballot_refusal: Callable[[], str | None] = lambda: None,
                 cameos: CameoService | None = None) -> None:
        self._director, self._voting, self._history = director, voting, history
        self._render = render   # a stored session as an export (storyd.store.export)
        self._clock, self._settings, self._apply = clock, settings, apply_config
        self._chains, self._chat_health, self._health_for = chains, chat_health, health_for
        self.bus, self.config_path, self.admin_token = bus, config_path, admin_token
        self.media_dir, self.shutdown = media_dir, shutdown
        self._ballot_refusal = ballot_refusal   # the store: no room left to keep ballots
        self.web_url = ""   # known once the web front listens
        self._cameos = cameos

    # ---- the daemon ---------------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self._settings()

    def snapshot(self) -> Snapshot:
        return self._director.snapshot()

    def admin_url(self) -> str:
        base = self.config.server.public_url.rstrip("/") or self.web_url
        return f"{base}/admin/?token={self.admin_token}"

    def apply_config(self, new: Config) -> None:
        self._apply(new)

    # ---- the story ----------------------------------------------------------------------
    async def start(self, *, theme: str | None = None, outline: str | None = None,
                    language: str | None = None, force: bool = False,
                    seed: int | None = None, story: str | None = None) -> Snapshot:
        authored = None
        if story is not None:   # read and checked first: a refused file ends nothing
            if outline:
                raise RefusedError("an authored story has its own plot: --outline does not go "
                                   "with --story")
            authored = await load_story(story)
            if (authored.language and language
                    and language_code(language) != language_code(authored.language)):
                raise RefusedError(f"the story '{story}' is written in {authored.language}, "
                                   f"not {language}")
            theme, language = theme or authored.theme, language or authored.language
        return await self._director.start(theme, outline, language, force, seed=seed,
                                          authored=authored)

    async def stories(self) -> list[r.StoryInfo]:
        return await trio.to_thread.run_sync(shipped_stories)

    async def close(self) -> r.CloseReply:
        closed = await self._director.close()
        if closed is None:
            return r.CloseReply(queued=True)
        return msgspec.convert(closed, r.CloseReply, from_attributes=True)

    async def next(self, choice: int | None = None) -> Snapshot:
        await self._director.next(choice)
        return self.snapshot()

    async def finish(self, *, now: bool = False) -> Snapshot:
        await self._director.finish(now=now)
        return self.snapshot()

    async def end(self) -> Snapshot:
        await self._director.end()
        return self.snapshot()

    async def regenerate_image(self) -> None:
        await self._director.regenerate_image()

    def plan(self) -> r.PlanReply:
        story = self._director.story
        if story is None:
            return r.PlanReply(session_id=None, plan=None)
        return r.PlanReply(session_id=story.session_id, plan=story.plan,
                           aired=len(story.chapters),
                           planned_chapters=story.planned_chapters(
                               self.config.story.max_chapters),
                           authored=story.authored.story.title if story.authored else None)

    async def extend(self, chapters: int) -> r.PlanReply:
        d = self._director
        await d.generation.extend(d.story, chapters, d.machine.state, d.machine.finish_requested)
        d.plan_changed()   # the branches written ahead follow the new plan
        d.publish_state()
        return self.plan()

    async def vote(self, viewer: str, name: str, choice: int) -> r.VoteReply:
        voting = self._voting
        if not voting.is_open():
            raise RefusedError(f"no vote is running (state: {self._director.machine.state})")
        self._refuse_when_ballots_cannot_be_kept()
        result = voting.submit([ChatMessage(platform="local", user_id=viewer, name=name,
                                            text=f"!{'abcdef'[choice]}")])
        if result.accepted:
            await voting.commit()   # on disk before the answer: an acknowledged ballot is kept
        health = self._chat_health.get("local")
        if health is not None:
            health.count(result, 1, self._clock.now())
        rnd = voting.round
        return r.VoteReply(accepted=bool(result.accepted),
                           counts=tuple(rnd.counts) if rnd else (),
                           voters=rnd.voters if rnd else 0)

    def _refuse_when_ballots_cannot_be_kept(self) -> None:
        """A ballot is acknowledged only when it is kept: while the disk is full and the
        memory for ballots is full too, new ones are refused (503), not taken and lost."""
        why = self._ballot_refusal()
        if why is not None:
            raise StoreUnavailable(why)

    async def ingest(self, batch: Sequence[ChatMessage]) -> r.IngestReply:
        reply, ready = self.ingest_now(batch)
        if ready is not None:
            await ready()       # on disk before the answer: acknowledged is kept
        return reply

    def ingest_now(self, batch: Sequence[ChatMessage]
                   ) -> tuple[r.IngestReply, Callable[[], Awaitable[None]] | None]:
        if self._voting.is_open():
            self._refuse_when_ballots_cannot_be_kept()
        voting = self._voting
        result = voting.submit(batch)
        self._health_for("ingest", "chat ingest API").count(result, len(batch),
                                                            self._clock.now())
        reply = r.IngestReply(accepted=result.accepted, invalid=result.invalid,
                              ignored=result.ignored)
        if not result.accepted:
            return reply, None
        ticket = voting.commit_ticket()

        async def ready() -> None:
            await voting.committed(ticket)

        return reply, ready

    def memory(self) -> r.MemoryReply:
        story = self._director.story
        if story is None:
            return r.MemoryReply(session_id=None, memory=None, context="", last_prompt=None)
        prompt = self._chains().text.last_prompt
        return r.MemoryReply(
            session_id=story.session_id,
            memory=msgspec.convert(story.memory.to_json(), r.MemoryData),
            context=story.memory.context(self.config.llm.context_tokens,
                                         include_outline=False),
            path=tuple(story.taken_path()),
            last_prompt=msgspec.convert(prompt, tuple[dict[str, str], ...]))

    # ---- the audience -------------------------------------------------------------------
    def cameos(self) -> list[r.CameoEntry]:
        if self._cameos is None:
            return []
        return msgspec.convert(self._cameos.listing(), list[r.CameoEntry])

    async def remove_cameo(self, name: str) -> r.CameoRemoveReply:
        if self._cameos is None:
            raise RefusedError("cameos are not available")
        return r.CameoRemoveReply(removed=tuple(await self._cameos.remove(name)))

    # ---- history and providers ----------------------------------------------------------
    async def sessions(self, *, limit: int, offset: int) -> list[r.SessionSummary]:
        return msgspec.convert(await self._history.list_sessions(limit=limit, offset=offset),
                               list[r.SessionSummary])

    async def session(self, session_id: int) -> r.SessionDetail:
        return msgspec.convert(await self._history.get_session(session_id), r.SessionDetail)

    async def delete_session(self, session_id: int) -> None:
        story = self._director.story
        if story is not None and story.session_id == session_id:
            raise RefusedError(f"session {session_id} is running; end it first (storyctl end)")
        await self._history.delete_session(session_id)

    async def top_voters(self, *, limit: int) -> list[r.TopVoter]:
        return msgspec.convert(await self._history.top_voters(limit=limit), list[r.TopVoter])

    async def export(self, session_id: int, fmt: str) -> r.ExportReply:
        return self._render(await self._history.get_session(session_id), fmt)

    async def chapters(self, session_id: int, since: float | None) -> ChapterList:
        session = await self._history.get_session(session_id)
        aired = [(int(ch["number"]), str(ch["title"]),
                  ch.get("aired_at") if ch.get("aired_at") is not None else ch["created_at"])
                 for ch in session.get("chapters") or ()]
        return chapter_list(session_id, aired, since=since,
                            words=story_words(str(session.get("language") or "")))

    async def recap(self, session_id: int) -> RecapView:
        session = await self._history.get_session(session_id)
        voters = await self._history.session_voters(session_id, limit=5)
        return recap_view(session, voters)

    async def recap_png(self, session_id: int, size: str) -> r.PngReply:
        # Pillow is loaded by the first picture, not by every start of the daemon
        from storyd.services.recap_png import SIZES, render_png

        view = await self.recap(session_id)
        picture = next((self.media_dir / n.image for n in reversed(view.nodes)
                        if n.image and n.image.rsplit(".", 1)[-1] in ("png", "jpg", "jpeg",
                                                                       "webp")), None)
        png = await trio.to_thread.run_sync(render_png, view, size, picture)
        width, height = SIZES[size]
        return r.PngReply(width=width, height=height, png=png)

    async def providers(self) -> list[r.ProviderCheck]:
        """URLs and messages may carry credentials: masked here."""
        rows = msgspec.to_builtins(await self._chains().check())
        return msgspec.convert(scrub(rows, secret_values(self.config)), list[r.ProviderCheck])
