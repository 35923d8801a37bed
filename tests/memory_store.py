"""Fakes at the ports for deterministic service tests (no threads, no sockets, no SQLite).

`MemoryStore` implements storyd.core.ports.StoryStore in plain dicts: every call is whole
(it checks first, then changes), so it behaves like the real store's transactions. It records
every call in `calls` and can be told to fail (`fail_next`) or to take time (`delays`, virtual
time under autojump_clock). `ScriptedStoryteller` stands in for a provider chain: it writes
chapters from the request after `delay` seconds (or never: `hang`), so a test decides what a
slow, hanging or fast provider looks like. `stage()` builds the real services around them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core.model import ChapterDraft, ChapterRecord, ChapterRequest, MemoryUpdate
from storyd.core.plan import StoryPlan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.recap import RecapRequest, StoryRecap
from storyd.errors import NotFoundError, StorageError
from storyd.providers.chain import build_chains
from storyd.providers.outcome import ChainOutcome
from storyd.services.clock import TrioClock
from storyd.services.director import Director
from storyd.services.generation import GenerationService
from storyd.services.media import MediaCache
from storyd.services.narrator import Presenter
from storyd.services.voting import VotingService
from storyd.store.queries import chapter_values
from storyd.storyteller.planner import write_plan
from storyd.storyteller.story import OfflineStoryteller


@dataclass
class Stored:
    session: dict[str, Any]
    chapters: list[dict[str, Any]]
    memory: dict[str, Any] | None
    round: dict[str, Any] | None
    ballots: list[tuple[str, str, int, int]]


class MemoryStore:
    def __init__(self) -> None:
        self.sessions: dict[int, dict[str, Any]] = {}
        self.chapters: dict[int, list[dict[str, Any]]] = {}
        self.memory: dict[int, dict[str, Any]] = {}
        self.rounds: dict[tuple[int, int], dict[str, Any]] = {}
        self.ballots: dict[tuple[int, int], dict[str, tuple[str, str, int, int]]] = {}
        self.branches: list[dict[str, Any]] = []
        self.viewers: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fail_next: set[str] = set()
        self.delays: dict[str, float] = {}

    async def _enter(self, name: str) -> None:
        self.calls.append(name)
        if self.delays.get(name):
            await trio.sleep(self.delays[name])
        if name in self.fail_next:
            self.fail_next.discard(name)
            raise StorageError(f"{name} failed (disk full)")

    def _session(self, sid: int) -> dict[str, Any]:
        if sid not in self.sessions:
            raise NotFoundError(f"no session {sid}")
        return self.sessions[sid]

    async def create_session(self, *, theme: str, language: str, outline: str, started_at: float,
                             settings: dict[str, Any]) -> int:
        await self._enter("create_session")
        sid = len(self.sessions) + 1
        self.sessions[sid] = {"id": sid, "theme": theme, "language": language,
                              "outline": outline, "status": "active", "started_at": started_at,
                              "settings": settings, "plan": None, "recap": None}
        self.chapters[sid] = []
        return sid

    async def set_outline(self, session_id: int, outline: str) -> None:
        await self._enter("set_outline")
        self._session(session_id)["outline"] = outline

    async def set_plan(self, session_id: int, plan: dict[str, Any]) -> None:
        await self._enter("set_plan")
        self._session(session_id)["plan"] = plan

    async def set_recap(self, session_id: int, recap: dict[str, Any]) -> None:
        await self._enter("set_recap")
        self._session(session_id)["recap"] = recap

    async def end_session(self, session_id: int, *, status: str, ended_at: float) -> None:
        await self._enter("end_session")
        self._session(session_id).update(status=status, ended_at=ended_at)

    async def active_session(self) -> Stored | None:
        await self._enter("active_session")
        active = [s for s in self.sessions.values() if s["status"] == "active"]
        if not active:
            return None
        s = active[-1]
        sid = s["id"]
        rounds = sorted((k[1], r) for k, r in self.rounds.items() if k[0] == sid)
        rnd = dict(rounds[-1][1]) if rounds else None
        ballots = (list(self.ballots.get((sid, rnd["chapter_number"]), {}).values())
                   if rnd else [])
        return Stored(session=dict(s), chapters=[dict(c) for c in self.chapters[sid]],
                      memory=self.memory.get(sid), round=rnd, ballots=ballots)

    async def mark_stale_sessions(self, *, except_id: int | None, ended_at: float) -> int:
        await self._enter("mark_stale_sessions")
        stale = [s for s in self.sessions.values()
                 if s["status"] == "active" and s["id"] != except_id]
        for s in stale:
            s["status"] = "crashed"
        return len(stale)

    async def add_chapter(self, chapter: ChapterRecord) -> None:
        await self._enter("add_chapter")
        chapters = self.chapters[self._session(chapter.session_id)["id"]]
        if any(c["number"] == chapter.number for c in chapters):
            raise StorageError(f"chapter {chapter.number} exists")
        chapters.append({**chapter_values(chapter), "image": None, "audio": []})

    async def set_chapter_media(self, session_id: int, number: int, *, image: str | None = None,
                                audio: list[str | None] | None = None) -> None:
        await self._enter("set_chapter_media")
        for c in self.chapters[session_id]:
            if c["number"] == number:
                if image is not None:
                    c["image"] = image
                if audio is not None:
                    c["audio"] = list(audio)

    async def set_chapter_choice(self, session_id: int, number: int, chosen: int,
                                 chosen_text: str) -> None:
        await self._enter("set_chapter_choice")
        for c in self.chapters[session_id]:
            if c["number"] == number:
                c["chosen"], c["chosen_text"] = chosen, chosen_text

    async def add_branch(self, session_id: int, *, after_chapter: int, choice: int, title: str,
                         text: str, choices: list[str], provider: str,
                         created_at: float) -> None:
        await self._enter("add_branch")
        self.branches.append(dict(session_id=session_id, after_chapter=after_chapter,
                                  choice=choice, title=title, text=text, choices=choices,
                                  provider=provider))

    async def open_round(self, session_id: int, chapter_number: int, *, round_id: int,
                         choices: list[str], opens_at: float, ends_at: float) -> None:
        await self._enter("open_round")
        self.rounds[(session_id, chapter_number)] = dict(
            chapter_number=chapter_number, round_id=round_id, choices=choices,
            opens_at=opens_at, ends_at=ends_at, extended=False, status="open",
            heartbeat_at=None)

    async def update_round(self, session_id: int, chapter_number: int, *,
                           ends_at: float | None = None, extended: bool | None = None,
                           status: str | None = None, heartbeat_at: float | None = None) -> None:
        await self._enter("update_round")
        r = self.rounds[(session_id, chapter_number)]
        for key, value in (("ends_at", ends_at), ("extended", extended), ("status", status),
                           ("heartbeat_at", heartbeat_at)):
            if value is not None:
                r[key] = value

    async def save_ballots(self, session_id: int, chapter_number: int,
                           rows: Sequence[tuple[str, str, int, int]], *, now: float) -> None:
        await self._enter("save_ballots")
        saved = self.ballots.setdefault((session_id, chapter_number), {})
        for viewer, name, choice, weight in rows:
            if choice < 0:
                saved.pop(viewer, None)
            else:
                kept = name or (saved[viewer][1] if viewer in saved else "")
                saved[viewer] = (viewer, kept, choice, weight)

    async def record_vote_result(self, session_id: int, chapter_number: int, *, winner: int,
                                 counts: list[int], voters: int, tie_break: str | None,
                                 early: bool, forced: bool, closed_at: float) -> None:
        await self._enter("record_vote_result")
        rnd = self.rounds[(session_id, chapter_number)]
        if rnd.get("status") != "closed":
            rnd["credited"] = False
        rnd.update(status="closed", winner=winner, counts=counts, voters=voters, forced=forced)

    async def credit_voters(self, *, limit: int, now: float) -> bool:
        await self._enter("credit_voters")
        waiting = [k for k, rnd in self.rounds.items() if rnd.get("credited") is False]
        if not waiting:
            return True
        rnd = self.rounds[waiting[0]]
        for viewer, name, choice, _w in self.ballots.get(waiting[0], {}).values():
            v = self.viewers.setdefault(viewer, {"name": name, "ballots": 0, "wins": 0,
                                                 "likes": 0, "joins": 0})
            v["ballots"] += 1
            v["wins"] += int(choice == rnd["winner"])
        rnd["credited"] = True
        return False

    async def add_activity(self, rows: Sequence[tuple[str, str, int, int]], *,
                           now: float) -> None:
        await self._enter("add_activity")
        for viewer, name, likes, joins in rows:
            v = self.viewers.setdefault(viewer, {"name": name, "ballots": 0, "wins": 0,
                                                 "likes": 0, "joins": 0})
            v["likes"] += likes
            v["joins"] += joins

    async def save_memory(self, session_id: int, memory: dict[str, Any], *,
                          now: float | None = None) -> None:
        await self._enter("save_memory")
        self.memory[session_id] = msgspec.json.decode(msgspec.json.encode(memory))


@dataclass
class ScriptedStoryteller:
    """A text chain that writes each chapter after `delay` seconds (virtual), or never."""

    delay: float = 0.0
    hang: bool = False
    requests: list[ChapterRequest] = field(default_factory=list)
    plans: list[PlanRequest] = field(default_factory=list)
    cancelled: int = 0

    async def write_chapter(self, request: ChapterRequest, *,
                            on_text: Callable[[str], None] | None = None
                            ) -> ChainOutcome[ChapterDraft]:
        """Streams like ProviderChain: `on_text` gets the text parsed so far, half-way."""
        self.requests.append(request)
        who = request.winning_choice or "the start"
        try:
            if self.hang:
                await trio.sleep_forever()
            await trio.sleep(self.delay / 2)
            if on_text is not None:
                on_text(f"It went on from {who}. The e")
            await trio.sleep(self.delay / 2)
        except trio.Cancelled:
            self.cancelled += 1
            raise
        n = request.chapter_number
        choices = () if request.closing else tuple(
            f"Path {n}.{i} after {who}" for i in range(request.n_choices))
        draft = ChapterDraft(
            title=f"Chapter {n}: {who}", text=f"It went on from {who}. The end came later.",
            choices=choices, summary=f"after {who}",
            memory=msgspec.convert({"characters": [{"name": f"Hero of {who}"}]}, MemoryUpdate))
        return ChainOutcome(draft, "scripted", [])

    async def write_outline(self, theme: Any, language: str, seed: int) -> ChainOutcome[str]:
        return ChainOutcome("An outline.", "scripted", [])

    async def write_plan(self, request: PlanRequest) -> ChainOutcome[StoryPlan]:
        """The offline storyteller's plan, at once (plans are not what these tests time)."""
        await trio.lowlevel.checkpoint()
        self.plans.append(request)
        return ChainOutcome(write_plan(request), "scripted", [])

    async def write_recap(self, request: RecapRequest) -> ChainOutcome[StoryRecap]:
        await trio.lowlevel.checkpoint()
        return ChainOutcome(request.fallback, "scripted", [])


class Chains:
    def __init__(self, real: Any, text: Any) -> None:
        self.text, self.images, self.speech = text, real.images, real.speech

    def status(self) -> dict[str, Any]:
        return {}


@dataclass
class Stage:
    director: Director
    voting: VotingService
    generation: GenerationService
    store: MemoryStore
    bus: EventBus
    teller: ScriptedStoryteller
    config: Config


def stage(tmp_path: Path, teller: ScriptedStoryteller | None = None, *,
          store: MemoryStore | None = None, on_finished: Any = None, speech: Any = None,
          **sections: dict[str, Any]) -> Stage:
    """The real services around the fakes: images and speech off, votes of 30 s; `speech`
    (a fake speech chain) replaces the real one for the generation service and the presenter."""
    base: dict[str, dict[str, Any]] = {
        "images": {"enabled": False}, "tts": {"enabled": False},
        "story": {"reveal_words_per_second": 0, "result_seconds": 5},
        "voting": {"duration": 30}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    cfg = msgspec.convert(base, Config)
    teller = teller or ScriptedStoryteller()
    chains = Chains(build_chains(cfg, on_error=lambda _m: None), teller)
    if speech is not None:
        chains.speech = speech
    store, bus, clock = store or MemoryStore(), EventBus(), TrioClock()
    media = MediaCache(tmp_path / "media", 1 << 20)
    voting = VotingService(store, bus, clock, lambda: cfg.voting)
    generation = GenerationService(store, bus, clock, lambda: cfg, lambda: chains,  # type: ignore[arg-type,return-value]
                                   media, offline=OfflineStoryteller())
    director = Director(store, generation, voting, bus, clock, lambda: cfg,
                        presenter=Presenter(store, bus, lambda: cfg,
                                            lambda: chains, media),  # type: ignore[arg-type,return-value]
                        vote_seconds=lambda: float(cfg.voting.duration),
                        on_finished=on_finished or (lambda _sid: None))
    return Stage(director, voting, generation, store, bus, teller, cfg)
