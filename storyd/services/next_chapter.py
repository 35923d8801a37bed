"""The hand-off: the next chapter, from the vote that decides it until it airs.

Theory of operation: the play task (services/director.py) makes one NextChapter for each
chapter to come, in the play task's own nursery, so everything started here ends with the
story. It holds
  * the branches — the chapter written for one choice each. `[llm] prefetch` decides which
    are written while the vote runs: "all" one per choice from the start, "leaders" the two
    leading choices (a new leader gets its branch late; a dropped one is stopped unless it is
    written already), "off" none. A branch task writes the text (the writer keeps
    `[llm] chapter_deadline` and the offline fallback), then, while it leads, its picture;
  * the leaders — the vote's ranking, pushed by the voting service on a memory channel
    (`send_leaders_to`) that `follow()` reads. The leading branch's narration is prepared
    (prenarration.py) as soon as it both leads and is written;
  * the choice — `choose(i)` at the close, or the operator's `next i` during the result card:
    that branch (written, being written, or started now) is the one that airs; the other
    branches stop, and the written ones are kept for the store (unchosen branches);
  * the kind — `become_closing()` (`finish`) writes every branch again as a closing chapter,
    so the closing chapter is written while the vote runs out; `rewrite()` (`extend`) writes
    them again from the changed plan, closing only where the new plan ends.
`chapter()` waits for the chosen branch; while the audience waits, `view()` is what the
snapshot shows (prefetched or not, the calm card after NOTICE_AFTER, the streamed sentences).
Invariants: at most one live branch per choice; a
chosen branch always fits (number and kind); nothing here changes the story — the
generation service's `air()` does, when the chapter airs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import msgspec
import trio

from storyd.core.narration import complete_sentences
from storyd.core.snapshot import GeneratingView
from storyd.errors import StorydError
from storyd.services.branch import Branch
from storyd.services.prenarration import NarrationPrep
from storyd.services.story_state import StoryState

Prefetch = Literal["all", "leaders", "off"]
NOTICE_AFTER = 1.0    # seconds of waiting on a chapter before the overlay shows its card


class BranchWriter(Protocol):
    """What a NextChapter asks of the generation service."""

    def branch_for(self, story: StoryState, choice: int | None, closing: bool) -> Branch: ...

    async def write(self, story: StoryState, branch: Branch) -> None:
        """The branch's text within the chapter deadline (the offline storyteller's past
        it): sets `draft`, or `fallback` when none could be written."""
        ...

    async def picture(self, branch: Branch) -> str | None: ...


class NextChapter:
    def __init__(self, nursery: trio.Nursery, writer: BranchWriter, narration: NarrationPrep,
                 story: StoryState, *, closing: bool, prefetch: Prefetch,
                 pictures: Callable[[], bool]) -> None:
        self.story, self.number, self.closing = story, story.next_number, closing
        self.leaders: tuple[int, ...] = ()      # the vote's ranking, most votes first
        self.chosen: Branch | None = None
        self.branches: dict[int | None, Branch] = {}   # the live branch of each choice
        self._started: list[Branch] = []        # every branch begun (they all cost)
        self._nursery, self._writer, self._narration = nursery, writer, narration
        self._prefetch, self._pictures = prefetch, pictures
        self._following = trio.CancelScope()
        self._view = GeneratingView(what="chapter", chapter=self.number)

    # ---- while the vote runs ----------------------------------------------------------------
    def write_ahead(self) -> None:
        """The vote opened: with prefetch "all", a branch for every choice starts now
        ("leaders" start with the first ranking)."""
        current = self.story.current
        if self._prefetch == "all" and current is not None:
            for choice in range(len(current.draft.choices)):
                self._start(choice)

    async def follow(self, rankings: trio.MemoryReceiveChannel[tuple[int, ...]]) -> None:
        """Take the vote's ranking from `rankings` until one is chosen."""
        with self._following:
            async with rankings:
                async for ranking in rankings:
                    self.lead(ranking)

    def lead(self, ranking: tuple[int, ...]) -> None:
        self.leaders = ranking
        if self.chosen is not None:
            return
        if self._prefetch == "leaders":
            top = ranking[:2]
            for choice, b in list(self.branches.items()):
                if choice not in top and b.draft is None:   # out of the lead, not written
                    b.scope.cancel()
                    del self.branches[choice]
            for choice in top:
                if choice not in self.branches:
                    self._start(choice)
        leader = self.branches.get(ranking[0]) if ranking else None
        if leader is not None and leader.draft is not None:
            self._narration.lead(self._nursery, ranking[0], leader)

    def prefetching(self) -> list[int]:
        """The choices whose branches are kept or being written now."""
        return sorted(c for c in self.branches if c is not None)

    # ---- the decision -----------------------------------------------------------------------
    def choose(self, choice: int | None) -> Branch:
        """`choice` (the winner, the operator's; None: a chapter that follows no choice) airs
        next. Its branch is used when it fits — written or being written — else started now;
        every other branch stops (the written ones stay, for the store)."""
        self._following.cancel()
        if self.chosen is not None:
            self.chosen.chosen = False
        for other, b in self.branches.items():
            if other != choice:
                b.scope.cancel()   # unwritten: stopped; written: no picture needed now
        found = self.branches.get(choice)
        b = found if found is not None and self._fits(found) else self._start(choice)
        b.chosen, self.chosen = True, b
        self._narration.hand_over(choice, b, self._nursery)   # made in the vote, or when written
        return b

    def become_closing(self) -> None:
        """The next chapter is the last (`finish`): every branch is written again as a
        closing chapter — the chosen one only, once the vote is decided."""
        if not self.closing:
            self.rewrite(closing=True)

    def rewrite(self, *, closing: bool) -> None:
        """The story's plan changed (`finish`, `extend`): every branch is written again
        from it, as a closing chapter or not — the chosen one only, once the vote is
        decided. Branches written before would air the old plan ("chapter 2 of 8" in a
        story extended to 12, or a closing chapter where the story goes on)."""
        self.closing = closing
        old, self.branches = self.branches, {}
        for b in old.values():
            b.scope.cancel()
        if self.chosen is not None:
            self.choose(self.chosen.choice)
            return
        self._narration.cancel()   # what was prepared was for chapters that will not air
        for choice in old:
            self._start(choice)

    async def chapter(self, now_ms: int, changed: Callable[[], None]) -> Branch:
        """The chosen branch, written, as the audience waits for it from `now_ms` (epoch ms);
        `changed()` runs when `view()` changes (the calm card, a completed sentence).
        StorydError when not even the offline storyteller wrote it (a bug)."""
        b = self.chosen if self.chosen is not None else self.choose(None)
        self._view = GeneratingView(what="closing" if self.closing else "chapter",
                                    chapter=self.number, since_ms=now_ms,
                                    prefetched=self.ready)
        self.streamed(b.preview)   # what streamed during the result card
        with trio.move_on_after(NOTICE_AFTER):
            await b.done.wait()
        if not b.done.is_set():
            self._view = msgspec.structs.replace(self._view, waiting=True)
            changed()
            await b.done.wait()
        if b.draft is None:
            raise StorydError(f"chapter {self.number}: {b.fallback}")
        return b

    def streamed(self, text: str) -> bool:
        """The chosen chapter's text so far: True when a sentence more is complete (the
        streaming reveal shows whole sentences only)."""
        preview = complete_sentences(text)
        if len(preview) <= len(self._view.preview):
            return False
        self._view = msgspec.structs.replace(self._view, preview=preview)
        return True

    def view(self) -> GeneratingView:
        return self._view

    @property
    def ready(self) -> bool:
        """The chosen chapter is written (it airs the moment it is asked for)."""
        return self.chosen is not None and self.chosen.draft is not None

    def unchosen(self) -> list[Branch]:
        """The written branches of the other choices (the latest of each), for the store."""
        won = self.chosen.choice if self.chosen is not None else None
        kept: dict[int, Branch] = {}
        for b in self._started:
            if b.draft is not None and b.choice is not None and b.choice != won:
                kept[b.choice] = b
        return list(kept.values())

    def cost(self) -> tuple[int, int, int]:
        """Provider calls, prompt and completion tokens of every branch begun."""
        return (sum(b.calls for b in self._started),
                sum(b.prompt_tokens for b in self._started),
                sum(b.completion_tokens for b in self._started))

    # ---- one branch -------------------------------------------------------------------------
    def _fits(self, b: Branch) -> bool:
        """Written or being written, and of the right kind."""
        return b.closing == self.closing and not (b.done.is_set() and b.draft is None)

    def _start(self, choice: int | None) -> Branch:
        b = self._writer.branch_for(self.story, choice, self.closing)
        self.branches[choice] = b
        self._started.append(b)
        self._nursery.start_soon(self._run, b)
        return b

    async def _run(self, b: Branch) -> None:
        try:
            with b.scope:
                await trio.lowlevel.checkpoint_if_cancelled()   # stopped before it began
                await self._writer.write(self.story, b)
                if b.draft is None:
                    return
                b.done.set()
                self._narration.written(b)   # the winner's narration starts, if not made yet
                if (b.chosen or b.choice is None or self.branches.get(b.choice) is not b
                        or self.leaders[:1] != (b.choice,)):
                    return
                self._narration.lead(self._nursery, b.choice, b)   # it leads: prepare it
                if self._pictures():
                    b.image = await self._writer.picture(b)   # the leader's, time allowing
        finally:
            b.done.set()
