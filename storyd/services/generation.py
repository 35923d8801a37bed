"""The generation service: the text, pictures and memory of each chapter; branches in the vote.

Theory of operation: a *branch* is the next chapter written for one choice (or for the forced
choice / chapter 1, when nothing was prefetched). Its ChapterRequest is built from a *copy* of
the story memory with that choice taken, so a branch that loses leaves the story untouched:
memory updates apply only when a branch airs (`air()`).

While a vote runs, `prefetch()` starts the branches by `[llm] prefetch`: "all" writes one per
choice, "leaders" the two leading choices, re-ranked every LEADER_EVERY seconds as votes move
(a new leader gets its branch late; a dropped one is cancelled unless already written), "off"
none; the leader's picture and narration (prenarration.py) are made before the close. Then
`take()` hands back the winner's branch — written (zero dead air), being written (awaited, its
streamed text a preview) or started now — and cancels the rest; written losers are kept.

Every branch runs under `[llm] chapter_deadline`: past it (or when every provider failed) the
offline storyteller writes that chapter from the same request, so the same characters, places
and items carry on. Provider calls and tokens of every branch written for a round are summed
into the aired chapter's cost.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core.model import ChapterDraft, ChapterRecord, ChapterRequest, ImageRequest, Theme
from storyd.core.plan import StoryPlan
from storyd.core.ports import StoryStore
from storyd.core.snapshot import ChapterCost
from storyd.errors import ProviderError, StorydError
from storyd.providers.chain import Chains
from storyd.services.branch import Branch
from storyd.services.clock import TrioClock
from storyd.services.media import MediaCache, media_url
from storyd.services.planning import Planner
from storyd.services.prenarration import NarrationPrep
from storyd.services.story_state import ChapterState, StoryState
from storyd.storyteller.story import OfflineStoryteller

log = logging.getLogger(__name__)

NOTICE_AFTER = 1.0     # seconds of waiting on a chapter before the overlay shows its card
LEADER_EVERY = 0.5     # "leaders": how often the two leading choices are re-ranked
MAX_COSTS = 50         # aired chapters whose cost the snapshot lists


class GenerationService:
    def __init__(self, store: StoryStore, bus: EventBus, clock: TrioClock,
                 settings: Callable[[], Config], chains: Callable[[], Chains],
                 media: MediaCache) -> None:
        self._store, self._bus, self._clock = store, bus, clock
        self._settings, self._chains, self._media = settings, chains, media
        self._offline = OfflineStoryteller()
        self._narration = NarrationPrep(settings, chains, media)
        self.planner = Planner(store, settings, chains, lambda message: self.on_error(message))
        self._nursery: trio.Nursery | None = None
        self._branches: dict[int | None, Branch] = {}
        self._leaders_scope = trio.CancelScope()   # "leaders": following the vote
        self._leaders: Callable[[], Sequence[int]] = lambda: ()
        self._airing: Branch | None = None          # the branch taken last (its preview)
        self._handoff: Branch | None = None        # the winner's chapter, taken at the close
        self._taking: trio.Event | None = None
        self.costs: list[ChapterCost] = []
        self.on_preview: Callable[[str], None] = lambda _text: None
        self.on_error: Callable[[str], None] = lambda _message: None
        # the audience's say (services/cameos.py): cameos offered, names that left redacted
        self.adjust_request: Callable[[ChapterRequest], ChapterRequest] = lambda r: r
        self.before_air: Callable[[Branch, int], None] = lambda _branch, _number: None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    # ---- requests ---------------------------------------------------------------------------
    async def ensure_outline(self, story: StoryState) -> None:
        """The story's plan before its first chapter (services/planning.py); an authored
        story has its own."""
        if story.authored is None:
            await self.planner.ensure_plan(story)

    def branch_for(self, story: StoryState, choice: int | None, closing: bool) -> Branch:
        request, memory = self.planner.chapter_request(story, choice, closing)
        request = self.adjust_request(request)
        return Branch(choice=choice, closing=closing, request=request, memory=memory,
                      authored=story.authored.writer if story.authored else None)

    async def extend(self, story: StoryState | None, chapters: int, state: str,
                     finishing: bool) -> StoryPlan:
        """`storyctl extend`: the plan stretched now, its remaining beats re-planned by the
        model in the background (services/planning.py)."""
        plan = await self.planner.extend(story, chapters, state=state, finishing=finishing)
        if self._nursery is not None and story is not None:
            self._nursery.start_soon(self.planner.replan, story)
        return plan

    # ---- branches ---------------------------------------------------------------------------
    def _start(self, branch: Branch) -> Branch:
        assert self._nursery is not None
        self._branches[branch.choice] = branch
        self._nursery.start_soon(self._write, branch)
        return branch

    def prefetch(self, story: StoryState, *, closing: bool,
                 leaders: Callable[[], Sequence[int]]) -> None:
        """While the vote runs: write the next chapter for the choices ([llm] prefetch)."""
        self.cancel()
        self._leaders = leaders
        ch = story.current
        mode = self._settings().llm.prefetch
        if ch is None or not ch.draft.choices or mode == "off" or self._nursery is None:
            return
        self._narration.follow(self._nursery, lambda: self._branches, leaders)
        if mode == "all":
            for i in range(len(ch.draft.choices)):
                self._start(self.branch_for(story, i, closing))
            return
        scope = self._leaders_scope = trio.CancelScope()
        self._nursery.start_soon(self._follow_leaders, scope, story, closing, leaders)

    async def _follow_leaders(self, scope: trio.CancelScope, story: StoryState, closing: bool,
                              leaders: Callable[[], Sequence[int]]) -> None:
        with scope:
            while True:
                top = list(leaders())[:2]
                for choice, branch in list(self._branches.items()):
                    if choice not in top and branch.draft is None:
                        branch.scope.cancel()       # dropped out of the lead, not written yet
                        del self._branches[choice]
                for choice in top:
                    if choice not in self._branches:
                        self._start(self.branch_for(story, choice, closing))
                await trio.sleep(LEADER_EVERY)

    def cancel(self) -> None:
        """Stop every branch in progress and forget them all."""
        self._leaders_scope.cancel()
        for branch in self._branches.values():
            branch.scope.cancel()
        self._branches = {}
        self._narration.cancel()
        self.drop_handoff()

    def prefetching(self) -> list[int]:
        """The choices whose branches are kept or being written now."""
        return sorted(c for c in self._branches if c is not None)

    def ready(self, choice: int | None) -> bool:
        branch = self._branches.get(choice)
        return branch is not None and branch.draft is not None

    async def take(self, story: StoryState, choice: int | None, *, closing: bool) -> Branch:
        """The written branch for the winner (or forced choice); losers are cancelled, and
        finished ones kept in the database as unchosen branches."""
        await trio.lowlevel.checkpoint()   # a cancelled story stops here, not in _start
        self._leaders_scope.cancel()
        branch = self._branches.pop(choice, None)
        if branch is None or branch.closing != closing:
            if branch is not None:
                branch.scope.cancel()
            branch = self._start(self.branch_for(story, choice, closing))
            del self._branches[choice]
        self._narration.hand_over(choice, branch, self._nursery)   # made in the vote, or now
        losers, self._branches = self._branches, {}
        spent = (0, 0, 0)
        for loser in losers.values():
            loser.scope.cancel()
            spent = (spent[0] + loser.calls, spent[1] + loser.prompt_tokens,
                     spent[2] + loser.completion_tokens)
            if loser.draft is not None and loser.choice is not None and story.current:
                await self._keep_branch(story, loser)
        self._airing = branch
        self.on_preview(branch.preview)
        try:
            await branch.done.wait()
        finally:
            if not branch.done.is_set():   # the story ended meanwhile: stop writing it
                branch.scope.cancel()
        if branch.draft is None:   # nothing usable, not even offline (a bug, logged)
            raise StorydError(f"chapter {branch.request.chapter_number}: {branch.fallback}")
        branch.calls += spent[0]
        branch.prompt_tokens += spent[1]
        branch.completion_tokens += spent[2]
        return branch

    # ---- the handoff: taken at the close, aired after the result card ---------------------
    def take_at_close(self, nursery: trio.Nursery, story: StoryState, choice: int,
                      *, closing: bool) -> None:
        """Generation starts at the close (in the play task's nursery, so it ends with the
        story); the result card covers the work."""
        done = self._taking = trio.Event()

        async def take() -> None:
            try:
                await self.ensure_outline(story)
                branch = await self.take(story, choice, closing=closing)
                if self._taking is done:      # not dropped meanwhile (operator `next`)
                    self._handoff = branch
            finally:
                done.set()
                if self._taking is done:
                    self._taking = None

        nursery.start_soon(take)

    def preview_so_far(self) -> str:
        """The streamed text of the chapter being taken (it may predate the `generating`)."""
        b = self._airing
        return b.preview if b is not None and b.draft is None else ""

    def handoff_ready(self) -> bool:
        return self._taking is None and self._handoff is not None

    def drop_handoff(self) -> None:
        self._handoff, self._taking = None, None

    async def next_chapter(self, story: StoryState, closing: bool, *,
                           on_slow: Callable[[], None]) -> Branch:
        """The chapter to air: the one taken at the close when it still fits (same choice,
        same kind), else one written now. `on_slow` runs after NOTICE_AFTER seconds."""
        found: list[Branch] = []

        async def get() -> None:
            if self._taking is not None:
                await self._taking.wait()
            branch, self._handoff = self._handoff, None
            if (branch is None or branch.closing != closing
                    or branch.choice != story.pending_choice
                    or branch.request.chapter_number != story.next_number):
                await self.ensure_outline(story)
                branch = await self.take(story, story.pending_choice, closing=closing)
            found.append(branch)
            nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(get)
            await trio.sleep(NOTICE_AFTER)
            on_slow()
            await trio.sleep_forever()
        return found[0]

    async def _keep_branch(self, story: StoryState, b: Branch) -> None:
        assert b.draft is not None and b.choice is not None and story.current is not None
        try:
            await self._store.add_branch(
                story.session_id, after_chapter=story.current.number, choice=b.choice,
                title=b.draft.title, text=b.draft.text, choices=list(b.draft.choices),
                provider=b.draft.provider, created_at=self._clock.now())
        except StorydError as exc:   # the road not taken is nice to have, never essential
            log.warning("unchosen branch not saved: %s", exc)

    async def _write(self, b: Branch) -> None:
        try:
            with b.scope:
                if b.authored is not None:   # an authored story: its next passage, at once
                    try:
                        b.draft = await b.authored.write_chapter(b.request)
                    except StorydError as exc:   # the path taken does not fit the story
                        b.fallback = str(exc)    # `take` raises it: the story stops, says why
                        return
                elif not await self._from_providers(b) or b.draft is None:
                    return
                b.done.set()
                self._narration.written(b)   # the winner's narration starts, if not yet made
                if (self._branches.get(b.choice) is b and self._settings().images.enabled
                        and list(self._leaders())[:1] == [b.choice]):
                    b.image = await self._picture(  # the leader's picture, time allowing
                        b.draft, b.request.theme, b.request.seed, b.request.chapter_number)
        finally:
            b.done.set()

    async def _from_providers(self, b: Branch) -> bool:
        """The text chain's chapter within the deadline, else the offline storyteller's."""
        deadline = self._settings().llm.chapter_deadline
        with trio.move_on_after(deadline):
            try:
                outcome = await self._call_chain(b)
                b.draft = msgspec.structs.replace(
                    outcome.draft, provider=outcome.provider,
                    attempt=len(outcome.attempts) or 1)
            except ProviderError as exc:
                b.fallback = str(exc)
        if b.draft is None:
            b.fallback = b.fallback or f"no chapter from the providers within {deadline:g} s"
            number = b.request.chapter_number
            self.on_error(f"chapter {number}: {b.fallback}; the offline storyteller "
                          "continues the story from its memory")
            try:
                draft = await self._offline.write_chapter(b.request)
                b.draft = msgspec.structs.replace(draft, provider="offline")
            except Exception as exc:  # noqa: BLE001 - a storyteller bug ends the story, not storyd
                log.exception("the offline storyteller failed")
                b.fallback = f"the offline storyteller failed too: {exc!r}"
                return False   # `take` raises for the branch with no draft
        return True

    async def _call_chain(self, b: Branch) -> Any:
        chain = self._chains().text

        def on_text(text: str) -> None:
            b.preview = text
            if self._branches.get(b.choice) is not b:   # the winner, awaited on air
                self.on_preview(text)

        write: Callable[..., Awaitable[Any]] = chain.write_chapter
        if "on_text" in inspect.signature(write).parameters:
            outcome = await write(b.request, on_text=on_text)
        else:   # a chain without streaming
            outcome = await write(b.request)
        b.calls += int(getattr(outcome, "calls", 0) or len(getattr(outcome, "attempts", ())))
        b.prompt_tokens += int(getattr(outcome, "prompt_tokens", 0))
        b.completion_tokens += int(getattr(outcome, "completion_tokens", 0))
        return outcome

    # ---- airing -----------------------------------------------------------------------------
    async def air(self, story: StoryState, b: Branch) -> ChapterState:
        """The branch becomes the story's next chapter: its choice and memory apply, and both
        are saved."""
        self.before_air(b, story.next_number)
        assert b.draft is not None
        prev, draft = story.current, b.draft
        if prev is not None and b.choice is not None:
            prev.chosen = b.choice
            await self._store.set_chapter_choice(story.session_id, prev.number, b.choice,
                                                 prev.draft.choices[b.choice])
        number = story.next_number
        story.memory = b.memory
        closing = b.closing or not draft.choices   # an authored ending has no links
        ch = ChapterState(number=number, draft=draft, closing=closing, image=b.image)
        story.chapters.append(ch)
        story.memory.apply(number, draft.memory, draft.summary)
        await self._store.add_chapter(ChapterRecord(
            session_id=story.session_id, number=number, draft=draft, closing=closing,
            created_at=self._clock.now()))
        await self._store.save_memory(story.session_id, story.memory.to_json())
        if b.image:
            await self._store.set_chapter_media(story.session_id, number, image=b.image)
        if closing and self._nursery is not None:   # the recap, while the ending airs
            self._nursery.start_soon(self.planner.recap, story)
        plan_calls, plan_prompt, plan_completion = self.planner.take_cost()   # chapter 1
        self.costs = [*self.costs[-(MAX_COSTS - 1):], ChapterCost(
            chapter=number, provider=draft.provider, calls=b.calls + plan_calls,
            prompt_tokens=b.prompt_tokens + plan_prompt,
            completion_tokens=b.completion_tokens + plan_completion)]
        return ch

    # ---- pictures ---------------------------------------------------------------------------
    def illustrate_soon(self, story: StoryState, ch: ChapterState, seed: int,
                        is_current: Callable[[], bool]) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self.illustrate, story, ch, seed, is_current)

    async def illustrate(self, story: StoryState, ch: ChapterState, seed: int,
                         is_current: Callable[[], bool]) -> bool:
        name = await self._picture(ch.draft, story.theme, seed, ch.number)
        if name is None:
            return False
        ch.image = name
        await self._store.set_chapter_media(story.session_id, ch.number, image=name)
        if is_current():
            self._bus.publish(ev.ImageUpdated(ev.ImageUpdatedData(
                chapter=ch.number, image_url=media_url(name))))
        return True

    async def _picture(self, draft: ChapterDraft, theme: Theme, seed: int,
                       number: int) -> str | None:
        """A picture for a chapter draft, cached; None (and a story:error) when none came."""
        # The overlay's `layout` (not its pixel size) decides the orientation of the stage;
        # providers map these sizes to the nearest one they support; style added there too.
        landscape = self._settings().overlay.layout != "portrait"
        request = ImageRequest(
            prompt=f"{draft.title}. {draft.summary or draft.text[:200]}", title=draft.title,
            theme=theme, width=1024 if landscape else 576,
            height=576 if landscape else 1024, seed=seed)
        try:
            image = (await self._chains().images.illustrate(request)).draft
            return await self._media.put(image.data, image.content_type)
        except Exception as exc:  # noqa: BLE001 — a picture is never worth stopping the show
            if not isinstance(exc, (StorydError, ValueError, OSError)):
                log.exception("illustrating chapter %d failed", number)
            self.on_error(f"no picture for chapter {number}: {exc}")
            return None
