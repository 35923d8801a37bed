"""The generation service: the text, pictures and memory of each chapter.

Theory of operation: a *branch* is the next chapter written for one choice (or for the forced
choice / chapter 1, when nothing was prefetched). Its ChapterRequest is built from a *copy* of
the story memory with that choice taken (`branch_for`), so a branch that loses leaves the
story untouched: memory updates apply only when a branch airs (`air()`). Which branches are
written, and which one airs, is the hand-off's business (services/next_chapter.py): the play
task asks `next_chapter()` for one per chapter to come.

Every branch is written under `[llm] chapter_deadline` (`write`): past it (or when every
provider failed) the offline storyteller writes that chapter from the same request, so the
same characters, places and items carry on. At start the story's plan (services/planning.py)
is asked for inside chapter 1's deadline; past it the offline storyteller plans the story and
writes chapter 1. At the end, while the closing chapter airs, the recap is written. Provider
calls and tokens of every branch written for a chapter (and of the plan, for chapter 1) are
summed into the aired chapter's cost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core.model import ChapterDraft, ChapterRecord, ChapterRequest, ImageRequest, Theme
from storyd.core.plan import StoryPlan
from storyd.core.ports import ChapterWriter, ProviderChains, StoryStore
from storyd.core.snapshot import ChapterCost
from storyd.errors import ProviderError, StorydError
from storyd.services.branch import Branch
from storyd.services.clock import TrioClock
from storyd.services.media import MediaCache, media_url
from storyd.services.next_chapter import NextChapter
from storyd.services.planning import Planner
from storyd.services.prenarration import NarrationPrep
from storyd.services.story_state import ChapterState, StoryState

log = logging.getLogger(__name__)

MAX_COSTS = 50         # aired chapters whose cost the snapshot lists


class GenerationService:
    def __init__(self, store: StoryStore, bus: EventBus, clock: TrioClock,
                 settings: Callable[[], Config], chains: Callable[[], ProviderChains],
                 media: MediaCache, *, offline: ChapterWriter) -> None:
        self._store, self._bus, self._clock = store, bus, clock
        self._settings, self._chains, self._media = settings, chains, media
        self._offline = offline
        self._narration = NarrationPrep(settings, chains, media)
        self.planner = Planner(store, settings, chains, offline,
                               lambda message: self.on_error(message))
        self._nursery: trio.Nursery | None = None
        self.costs: list[ChapterCost] = []
        self.on_preview: Callable[[str], None] = lambda _text: None
        self.on_error: Callable[[str], None] = lambda _message: None
        self.on_picture: Callable[[StoryState], bool] = lambda _story: False   # still on air?
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

    # ---- the next chapter -------------------------------------------------------------------
    def next_chapter(self, story: StoryState, nursery: trio.Nursery, *, closing: bool,
                     vote: bool = False) -> NextChapter:
        """The hand-off for the story's next chapter, its branches run in `nursery` (the play
        task's). `vote`: a vote decides it, so branches are written ahead ([llm] prefetch)."""
        current = story.current
        prefetch = self._settings().llm.prefetch if (
            vote and current is not None and current.draft.choices) else "off"
        nxt = NextChapter(nursery, self, self._narration, story, closing=closing,
                          prefetch=prefetch, pictures=lambda: self._settings().images.enabled)
        nxt.write_ahead()
        return nxt

    def cancel(self) -> None:
        """The story ended or another starts: no narration prepared for it may air."""
        self._narration.cancel()

    def branch_for(self, story: StoryState, choice: int | None, closing: bool) -> Branch:
        request, memory = self.planner.chapter_request(story, choice, closing)
        request = self.adjust_request(request)
        return Branch(choice=choice, closing=closing, request=request, memory=memory,
                      authored=story.authored.writer if story.authored else None)

    async def extend(self, story: StoryState | None, chapters: int, state: str,
                     finishing: bool) -> StoryPlan | None:
        """`storyctl extend`: the plan stretched now, its remaining beats re-planned by the
        model in the background (services/planning.py)."""
        plan = await self.planner.extend(story, chapters, state=state, finishing=finishing)
        if self._nursery is not None and story is not None and plan is not None:
            self._nursery.start_soon(self.planner.replan, story)
        return plan

    # ---- writing one branch -----------------------------------------------------------------
    async def write(self, story: StoryState, b: Branch) -> None:
        """The branch's text from the providers within `[llm] chapter_deadline` (chapter 1:
        the story's opening first, inside the same deadline), else the offline storyteller's
        from the same request. Sets `draft`, or `fallback` when not even that was written."""
        if b.authored is not None:   # an authored story: its next passage, at once
            try:
                b.draft = await b.authored.write_chapter(b.request)
            except StorydError as exc:   # the path taken does not fit the story: it stops
                b.fallback = str(exc)    # and says why (NextChapter.chapter raises it)
            return
        deadline = self._settings().llm.chapter_deadline
        with trio.move_on_after(deadline):
            try:
                if _opening(story):   # at start: the story's plan
                    await self.planner.ensure_plan(story)
                    self._opened(story, b)
                outcome = await self._chains().text.write_chapter(
                    b.request, on_text=functools.partial(self._streamed, b))
                b.draft = msgspec.structs.replace(outcome.draft, provider=outcome.provider,
                                                  attempt=len(outcome.attempts) or 1)
                b.calls += outcome.calls or len(outcome.attempts)
                b.prompt_tokens += outcome.prompt_tokens
                b.completion_tokens += outcome.completion_tokens
            except ProviderError as exc:
                b.fallback = str(exc)
        if b.draft is None:
            b.fallback = b.fallback or f"no chapter from the providers within {deadline:g} s"
            self.on_error(f"chapter {b.request.chapter_number}: {b.fallback}; the offline "
                          "storyteller continues the story from its memory")
            try:
                if _opening(story):   # no plan in time: the offline storyteller plans it
                    await self.planner.plan_offline(story)
                    self._opened(story, b)
                draft = await self._offline.write_chapter(b.request)
                b.draft = msgspec.structs.replace(draft, provider="offline")
            except Exception as exc:  # noqa: BLE001 - a storyteller bug ends the story, not storyd
                log.exception("the offline storyteller failed")
                b.fallback = f"the offline storyteller failed too: {exc!r}"

    def _streamed(self, b: Branch, text: str) -> None:
        b.preview = text
        if b.chosen:   # the chapter the audience waits for: its sentences show as they come
            self.on_preview(text)

    def _opened(self, story: StoryState, b: Branch) -> None:
        """Chapter 1's request again, now with the story's plan pinned."""
        fresh = self.branch_for(story, b.choice, b.closing)
        b.request, b.memory = fresh.request, fresh.memory

    async def _keep_branch(self, story: StoryState, b: Branch) -> None:
        assert b.draft is not None and b.choice is not None and story.current is not None
        try:
            await self._store.add_branch(
                story.session_id, after_chapter=story.current.number, choice=b.choice,
                title=b.draft.title, text=b.draft.text, choices=list(b.draft.choices),
                provider=b.draft.provider, created_at=self._clock.now())
        except StorydError as exc:   # the road not taken is nice to have, never essential
            log.warning("unchosen branch not saved: %s", exc)

    # ---- airing -----------------------------------------------------------------------------
    async def air(self, story: StoryState, nxt: NextChapter) -> ChapterState:
        """The chosen branch becomes the story's next chapter: its choice and memory apply,
        and both are saved, with the written losers as unchosen branches."""
        b = nxt.chosen
        assert b is not None
        if story.current is not None:
            for loser in nxt.unchosen():
                await self._keep_branch(story, loser)
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
        calls, prompt_tokens, completion_tokens = nxt.cost()
        plan_calls, plan_prompt, plan_completion = self.planner.take_cost()   # chapter 1
        self.costs = [*self.costs[-(MAX_COSTS - 1):], ChapterCost(
            chapter=number, provider=draft.provider, calls=calls + plan_calls,
            prompt_tokens=prompt_tokens + plan_prompt,
            completion_tokens=completion_tokens + plan_completion)]
        return ch

    # ---- pictures ---------------------------------------------------------------------------
    def illustrate_soon(self, story: StoryState, ch: ChapterState, seed: int) -> None:
        """A new picture for an aired chapter, in the background; `on_picture(story)` says
        whether its story is still on air (then `story:image-updated` goes out)."""
        if self._nursery is not None:
            self._nursery.start_soon(self._illustrate, story, ch, seed)

    async def _illustrate(self, story: StoryState, ch: ChapterState, seed: int) -> None:
        name = await self._picture(ch.draft, story.theme, seed, ch.number)
        if name is None:
            return
        ch.image = name
        await self._store.set_chapter_media(story.session_id, ch.number, image=name)
        if self.on_picture(story):
            self._bus.publish(ev.ImageUpdated(ev.ImageUpdatedData(
                chapter=ch.number, image_url=media_url(name))))

    async def picture(self, b: Branch) -> str | None:
        """A written branch's picture (the leader's, made before the close)."""
        assert b.draft is not None
        return await self._picture(b.draft, b.request.theme, b.request.seed,
                                   b.request.chapter_number)

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


def _opening(story: StoryState) -> bool:
    """Chapter 1 of a model's story with no plan yet (an authored story has its own)."""
    return story.plan is None and not story.chapters and story.authored is None
