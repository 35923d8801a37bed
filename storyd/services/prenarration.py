"""Narration prepared during the vote: the leading branch's speech, made before the close.

Theory of operation: while a vote runs, the next chapter (services/next_chapter.py) calls
`NarrationPrep.lead()` whenever the leading choice's branch is written and leads — when the
vote's ranking changes, or when the leader's branch is finished. Its sentences (and the
choices announcement, when read out) get their speech through the same speech chain and
voice roles as the presenter's (`narrator.narration_texts`, `narrator.speak`), stored in the
media cache, at most SYNTH_PARALLEL requests at a time per branch. When the leader changes,
the new leader's narration is prepared too; at most MAX_BRANCHES branches keep theirs (in
flight or made), the one that led longest ago is cancelled first.

At the close `hand_over()` offers the winner's prepared narration — finished or still in
flight — to the presenter through the media cache's shelf (`MediaCache.prepared`), keyed by
the chapter number and text of the very draft that airs, and cancels and forgets every other
branch's: a losing branch's audio is never aired. A winner with nothing prepared (prefetch
"off", a late switch, chapter 1) gets its narration started the moment its chapter is written
(`written()`), under the result card. The presenter uses a prepared sentence
instead of asking for it again and asks only for what was not prepared. Nothing here blocks
the vote or the airing: it all runs in the play task's nursery, in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from storyd.config.structs import Config
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, ChapterRequest
from storyd.core.ports import ProviderChains
from storyd.services.media import MediaCache, PreparedNarration, SpeechSlot
from storyd.services.narrator import SYNTH_PARALLEL, narration_texts, speak

MAX_BRANCHES = 2       # branches whose narration is kept (in flight or made) at once


class BranchLike(Protocol):
    """What is read of a generation branch (services/generation.py `Branch`)."""

    @property
    def request(self) -> ChapterRequest: ...
    @property
    def memory(self) -> StoryMemory: ...
    @property
    def draft(self) -> ChapterDraft | None: ...


@dataclass
class _Prep:
    draft: ChapterDraft
    narration: PreparedNarration


class NarrationPrep:
    def __init__(self, settings: Callable[[], Config], chains: Callable[[], ProviderChains],
                 media: MediaCache) -> None:
        self._settings = settings
        self._chains = chains
        self._media = media
        self._preps: dict[int, _Prep] = {}        # by choice, the most recent leader last
        self._winner: BranchLike | None = None    # taken at the close, not written yet
        self._nursery: trio.Nursery | None = None

    def lead(self, nursery: trio.Nursery, choice: int, branch: BranchLike) -> None:
        """`choice` leads the vote and its branch is written: prepare its narration (once
        per draft), keeping at most MAX_BRANCHES leaders' narration."""
        draft = branch.draft
        if draft is None or not self._settings().tts.enabled:
            return
        prep = self._preps.pop(choice, None)
        if prep is not None and prep.draft is not draft:   # rewritten meanwhile
            prep.narration.scope.cancel()
            prep = None
        if prep is None:
            while len(self._preps) >= MAX_BRANCHES:     # bounded: drop the oldest leader's
                oldest = next(iter(self._preps))
                self._preps.pop(oldest).narration.scope.cancel()
            prep = self._start(nursery, branch, draft)
        self._preps[choice] = prep                      # the most recent leader last

    def _start(self, nursery: trio.Nursery, branch: BranchLike,
               draft: ChapterDraft) -> _Prep:
        cfg = self._settings()
        texts = narration_texts(draft, branch.memory.view().characters, cfg.tts.read_choices)
        narration = PreparedNarration(
            number=branch.request.chapter_number, text=draft.text,
            slots={key: SpeechSlot() for key in texts})
        nursery.start_soon(self._prepare, narration, branch.request.language)
        return _Prep(draft, narration)

    async def _prepare(self, narration: PreparedNarration, language: str) -> None:
        chains, limiter = self._chains(), trio.CapacityLimiter(SYNTH_PARALLEL)

        async def one(key: tuple[str, str], slot: SpeechSlot) -> None:
            try:
                async with limiter:
                    slot.spoken = await speak(chains, self._media, key[0], key[1], language)
            finally:
                slot.ready.set()

        try:
            with narration.scope:
                async with trio.open_nursery() as nursery:
                    for key, slot in narration.slots.items():   # in reading order
                        nursery.start_soon(one, key, slot)
        finally:
            for slot in narration.slots.values():   # cancelled: the presenter asks itself
                slot.ready.set()

    def hand_over(self, choice: int | None, branch: BranchLike,
                  nursery: trio.Nursery | None) -> None:
        """At the close: the winner's narration goes to the presenter, the rest stops. When
        none was made in the vote, it starts as soon as the winner is written (`written`),
        so the result card covers it."""
        won = self._preps.pop(choice, None) if choice is not None else None
        self.cancel()      # the losers', and anything offered before
        if won is not None and won.draft is branch.draft:
            self._media.prepared.offer(won.narration)
            return
        if won is not None:
            won.narration.scope.cancel()
        self._winner, self._nursery = branch, nursery
        self.written(branch)

    def written(self, branch: BranchLike) -> None:
        """A branch is written (called before anyone awaiting it runs): the winner's
        narration starts now, offered to the presenter at once."""
        if (branch is not self._winner or branch.draft is None or self._nursery is None
                or not self._settings().tts.enabled):
            return
        self._winner = None
        self._media.prepared.offer(self._start(self._nursery, branch, branch.draft).narration)

    def cancel(self) -> None:
        """Stop all preparing and forget it, a winner's not yet aired too (a new vote, an
        operator's `next`, the story stopped)."""
        for prep in self._preps.values():
            prep.narration.scope.cancel()
        self._preps, self._winner = {}, None
        self._media.prepared.clear()

    def preparing(self) -> list[int]:
        """The choices whose narration is kept or being made now (most recent leader last)."""
        return list(self._preps)
