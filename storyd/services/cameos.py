"""The cameo service: `!join`/`!leave` from chat, the operator's remove, and what the
storyteller is told.

Theory of operation: the roster (core/cameos.py) of the story on air lives here. Chat reaches
`on_command` through the voting service's command hook (synchronously, in the chat path):
the voting service recognises the words of `command_words()` ("join", "leave") and hands
over only those messages; with cameos off the set is empty and votes pay nothing. A new
story gets a fresh roster the first time it is seen, with the viewers who joined while no
story ran (the lobby: the plan can offer them too); a resumed one is read back from SQLite
by `run()` (which the daemon starts after the director resumed).

What a model sees passes through two hooks of the generation service:
- `adjust_request` (every chapter or plan request): up to `[audience] cameo_slots` joined
  names go into its `cameos` (this story's top voters first: ballots are counted per viewer
  from each recorded round), and every forbidden name (left or removed) is redacted from the
  whole request — the memory block, the previous text, the path, the plan;
- `before_air` (a chapter about to air): a draft written before a viewer left or was removed
  has the name redacted too, the branch's memory with it, and the cameos the aired text names
  are recorded (the overlay's "in this story" roster lists them).
The story memory itself is scrubbed lazily, the first time a request is built after a name
became forbidden, so a flood of `!leave` costs nothing per message.

Persistence: changed cameos are saved at most once a second (FLUSH_EVERY), in one
transaction per session; a disk fault keeps them for the next try. The snapshot is
republished at most once a second when the roster changed (a `!join` flood is one update).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import msgspec
import trio

from storyd.config.structs import Config
from storyd.core.cameos import (
    Cameo,
    CameoRoster,
    mentions,
    redact_body,
    redact_json,
    redact_struct,
    stand_in,
)
from storyd.core.memory import StoryMemory, name_key
from storyd.core.model import ChatMessage
from storyd.core.safety import Blocklist
from storyd.core.snapshot import AudienceView
from storyd.core.voting import VoteRound
from storyd.errors import RefusedError, StorydError
from storyd.services.branch import Branch
from storyd.services.story_state import StoryState

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0          # seconds between saves (and snapshot republishes) of a busy roster
MAX_TRACKED_VOTERS = 50_000  # per-story ballot counts kept in memory (joined viewers always)
MAX_LISTED = 200           # cameos `storyctl cameo list` shows
T = TypeVar("T")


class CameoStore(Protocol):
    async def save_cameos(self, session_id: int, rows: Sequence[dict[str, Any]]) -> None: ...
    async def cameos(self, session_id: int) -> list[dict[str, Any]]: ...
    async def ballot_counts(self, session_id: int, *, limit: int) -> dict[str, int]: ...
    async def save_memory(self, session_id: int, memory: dict[str, Any], *,
                          now: float | None = None) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...


class CameoService:
    def __init__(self, store: CameoStore, clock: Clock, settings: Callable[[], Config], *,
                 story: Callable[[], StoryState | None],
                 running: Callable[[], bool] = lambda: True,
                 publish: Callable[[], None] = lambda: None) -> None:
        self._store, self._clock, self._settings = store, clock, settings
        self._story, self._running, self._publish = story, running, publish
        self._sid: int | None = None
        self.roster = CameoRoster()
        self.lobby = CameoRoster()      # joins while no story runs: they join the next one
        self._votes: dict[str, int] = {}           # ballots this story, per viewer
        self._pending: list[tuple[int, list[Cameo]]] = []   # rows of earlier sessions
        self._scrubbed: tuple[str, ...] = ()        # forbidden names the memory is free of
        self._changed = trio.Event()
        self._blocklist: tuple[Any, Blocklist] | None = None

    # ---- service ------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Read back the resumed story's cameos, then save and republish changes."""
        story = self._story()
        if story is not None:
            await self._load(story.session_id)
        task_status.started()
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            await self.flush()
            self._publish()
            await trio.sleep(FLUSH_EVERY)

    async def _load(self, session_id: int) -> None:
        try:
            rows = await self._store.cameos(session_id)
            votes = await self._store.ballot_counts(session_id, limit=MAX_TRACKED_VOTERS)
        except StorydError as exc:   # the show goes on with an empty roster
            log.warning("cameos of session %d not read back: %s", session_id, exc)
            rows, votes = [], {}
        self._switch(session_id)
        self.roster.restore(msgspec.convert(rows, list[Cameo]))
        self._votes = votes

    def _switch(self, session_id: int) -> None:
        """A story the roster does not belong to: keep the old rows to save, start afresh."""
        dirty = self.roster.drain_dirty()
        if dirty and self._sid is not None:
            self._pending.append((self._sid, dirty))
        self._sid, self._votes, self._scrubbed = session_id, {}, ()
        self.roster = CameoRoster(self._settings().audience.max_joined)

    def _current(self) -> StoryState | None:
        story = self._story()
        if story is not None and story.session_id != self._sid:
            self._switch(story.session_id)
            if not story.chapters:     # a new story: who joined while none ran comes along
                self._admit_lobby(story)
        return story

    def _admit_lobby(self, story: StoryState) -> None:
        lobby, self.lobby = self.lobby, CameoRoster(self._settings().audience.max_joined)
        now = self._clock.now()
        for cameo in lobby.joined():
            self.roster.join(cameo.viewer_id, cameo.name, now, self._blocked(),
                             taken=lambda name: self._taken(story, name))
        if lobby.joined():
            self._changed.set()

    async def flush(self) -> None:
        """Changed cameos to SQLite (one transaction per session); kept on failure."""
        batches, self._pending = self._pending, []
        if self._sid is not None:
            rows = self.roster.drain_dirty()
            if rows:
                batches.append((self._sid, rows))
        for sid, rows in batches:
            try:
                with trio.CancelScope(shield=True):
                    await self._store.save_cameos(sid, [msgspec.to_builtins(c) for c in rows])
            except StorydError as exc:
                log.warning("cameos of session %d not saved (retried): %s", sid, exc)
                if sid == self._sid:
                    self.roster.requeue(rows)
                else:
                    self._pending.append((sid, rows))

    # ---- chat (the voting service's command hook) ---------------------------------------
    def command_words(self) -> frozenset[str]:
        """The chat commands to hand over (lower case, without "!"): none while cameos are
        off, so the chat path pays nothing."""
        cfg = self._settings().audience
        if not cfg.cameos:
            return frozenset()
        return frozenset(c[1:].lower() for c in (cfg.join_command, cfg.leave_command))

    def on_command(self, word: str, m: ChatMessage) -> None:
        """`!join`/`!leave` from chat (synchronous, never raises)."""
        cfg = self._settings().audience
        if not cfg.cameos or word not in self.command_words():
            return
        try:
            self._command(m, word == cfg.join_command[1:].lower())
        except Exception:  # noqa: BLE001 - a roster bug costs one command, not the chat
            log.exception("cameo command of %s failed", m.user_id)

    def _command(self, m: ChatMessage, join: bool) -> None:
        story = self._current()
        now = self._clock.now()
        if story is None or not self._running():   # no story on air: the next one's lobby
            if join:
                self.lobby.join(m.user_id, m.name, now, self._blocked())
            else:
                self.lobby.leave(m.user_id, now)
            self._changed.set()
            return
        if join:
            outcome = self.roster.join(m.user_id, m.name, now, self._blocked(),
                                       taken=lambda name: self._taken(story, name))
            if outcome != "joined":
                log.debug("!join of %s refused: %s", m.user_id, outcome)
                if outcome not in ("bad_name", "blocked", "taken"):
                    return
        elif self.roster.leave(m.user_id, now) is None:
            return
        self._changed.set()

    def _blocked(self) -> Blocklist:
        safety = self._settings().safety
        if self._blocklist is None or self._blocklist[0] != safety:
            self._blocklist = (safety, Blocklist(safety.blocklist, safety.use_builtin))
        return self._blocklist[1]

    @staticmethod
    def _taken(story: StoryState, name: str) -> bool:
        """Does the story already have someone (or something) of this name?"""
        key = name_key(name)
        view = story.memory.view()
        known = {name_key(e.name) for e in (*view.characters, *view.locations, *view.items)}
        return key in known or mentions(story.outline, name)

    def credit(self, round_: VoteRound) -> None:
        """A recorded round: one ballot more for each of its voters (bounded). Nothing while
        cameos are off: the close does no per-voter work for a feature not in use (issue 23)."""
        if not self._settings().audience.cameos:
            return
        votes, roster_ids = self._votes, {c.viewer_id for c in self.roster.joined()}
        for viewer, _choice, _weight in round_.ballot_rows():
            n = votes.get(viewer)
            if n is not None:
                votes[viewer] = n + 1
            elif len(votes) < MAX_TRACKED_VOTERS or viewer in roster_ids:
                votes[viewer] = 1

    # ---- the operator -------------------------------------------------------------------
    async def remove(self, who: str) -> list[str]:
        """Take a cameo (by name or viewer id) out of every later chapter; they cannot join
        this story again. RefusedError when no such cameo is in the story on air."""
        story = self._current()
        hits = self.roster.remove(who.strip(), self._clock.now()) if story is not None else []
        if not hits or story is None:
            raise RefusedError(f"no cameo named {who.strip()[:40]!r} in the story on air "
                               "(see `storyctl cameo list`)")
        self._scrub(story)
        await self._store.save_memory(story.session_id, story.memory.to_json())
        await self.flush()
        self._publish()
        log.info("cameo removed by the operator: %s", ", ".join(c.name for c in hits))
        return [c.name for c in hits]

    def listing(self) -> list[dict[str, Any]]:
        """The roster of the story on air for the operator (viewer ids included)."""
        self._current()
        return [{"viewer_id": c.viewer_id, "name": c.name, "status": c.status,
                 "chapters": list(c.chapters), "ballots": self._votes.get(c.viewer_id, 0)}
                for c in self.roster.all()[-MAX_LISTED:]]

    # ---- what the storyteller is told (the generation service's hooks) --------------------
    def adjust_request(self, request: T) -> T:
        """The offered cameos into `request.cameos`; every forbidden name out of it all."""
        story = self._current()
        if story is None:
            return request
        cfg = self._settings().audience
        self._scrub(story)
        # an authored (Twee) story airs its passages as written: nobody is offered
        offered = (self.roster.offer(cfg.cameo_slots, self._votes)
                   if cfg.cameos and story.authored is None else ())
        if hasattr(request, "cameos"):
            request = msgspec.structs.replace(request, cameos=offered)  # type: ignore[type-var]
        return redact_struct(request, self.roster.forbidden(), story.language)

    def redact_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A provider's request body on its way out (providers/openai_base.py): the texts a
        model reads without any forbidden name; the body itself when nobody left."""
        forbidden = self.roster.forbidden()
        if not forbidden:
            return body
        story = self._story()
        return redact_body(body, forbidden, stand_in(story.language if story else ""))

    def before_air(self, branch: Branch, number: int) -> None:
        """A chapter about to air: forbidden names out of its draft and memory; the cameos
        its text names are recorded."""
        story = self._current()
        if story is None or branch.draft is None:
            return
        forbidden = self.roster.forbidden()
        if forbidden and branch.authored is None:   # an author's text came from no model
            draft = redact_struct(branch.draft, forbidden, story.language)
            if draft != branch.draft:
                log.info("chapter %d: a cameo who left was written out before airing", number)
                branch.draft, branch.image = draft, None
            branch.memory = _scrubbed(branch.memory, forbidden, story.language)
        if self.roster.appeared(number, branch.draft.text):
            self._changed.set()

    def _scrub(self, story: StoryState) -> None:
        forbidden = self.roster.forbidden()
        if set(forbidden) <= set(self._scrubbed):
            return
        story.memory = _scrubbed(story.memory, forbidden, story.language)
        self._scrubbed = forbidden

    # ---- views ----------------------------------------------------------------------------
    def cast(self) -> tuple[str, ...]:
        """The overlay's roster: joined viewers the story has written in, first seen first."""
        if self._current() is None:
            return ()
        seen = [c for c in self.roster.joined() if c.chapters]
        return tuple(c.name for c in sorted(seen, key=lambda c: c.chapters[0]))

    def view(self) -> AudienceView:
        cfg, story = self._settings().audience, self._current()
        s = self.roster.stats
        offered = (self.roster.offer(cfg.cameo_slots, self._votes)
                   if cfg.cameos and story is not None and story.authored is None else ())
        return AudienceView(
            cameos=cfg.cameos, join_command=cfg.join_command, leave_command=cfg.leave_command,
            joined=len(self.roster.joined()), offered=offered, joins=s.joins,
            repeats=s.repeats, leaves=s.leaves, removed=s.removed, refused=s.refused,
            dropped=s.dropped, waiting=len(self.lobby.joined()))

    def names_for(self, session_id: int) -> tuple[str, ...]:
        """The cameos of a story written in so far (the recap's cast), if it is this one."""
        return self.cast() if session_id == self._sid else ()


def _scrubbed(memory: StoryMemory, names: Iterable[str], language: str) -> StoryMemory:
    data = memory.to_json()
    clean = redact_json(data, names, stand_in(language))
    return memory if clean is data else StoryMemory.from_json(clean)
