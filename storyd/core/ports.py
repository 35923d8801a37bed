"""The ports: the small interfaces core defines and the shells (chat, store, services) implement.

Dependencies point one way: chat sources, the SQLite store and the trio services depend on
these Protocols; core depends on none of them. A fake that implements a Protocol (the in-memory
store of the tests, a scripted clock) is as good as the real thing for the services above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from storyd.core.model import (
    ChapterDraft,
    ChapterRecord,
    ChapterRequest,
    ChatMessage,
    GiftMessage,
    ImageRequest,
    ImageResult,
    Moderation,
    SpeechRequest,
    SpeechResult,
)
from storyd.core.plan import StoryPlan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.recap import RecapRequest, StoryRecap
from storyd.core.replies import ProviderCheck
from storyd.core.snapshot import ProvidersView

Policy = Literal["random", "first", "extend"]
"""What a round does on a tie or with no ballots ([voting] tie_break, no_votes)."""


class IngestResult(msgspec.Struct, frozen=True):
    accepted: int   # ballots cast or changed
    invalid: int    # vote-shaped messages for choices that do not exist / no vote open
    ignored: int    # not a vote at all (chatter) or duplicates


class ChatSink(Protocol):
    """What chat sources feed. All four are synchronous, never block, never raise for bad
    viewer input."""

    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult: ...

    def submit_gift(self, gift: GiftMessage) -> int:
        """Weight added to the viewer's ballot (0 when gift votes are off or no ballot)."""
        ...

    def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                        joins: int = 0) -> None:
        """Likes and joins of one viewer: counted in viewer stats, never a ballot."""
        ...

    def submit_moderation(self, action: Moderation) -> bool:
        """A moderator deleted a message or removed a viewer; True when a ballot changed."""
        ...


class TallyRules(Protocol):
    """What the vote core's tally reads of a round's rules (core/voting.py RoundRules)."""

    @property
    def allow_change(self) -> bool: ...
    @property
    def gift_votes(self) -> bool: ...
    @property
    def diamonds_per_vote(self) -> int: ...
    @property
    def bits_per_vote(self) -> int: ...
    @property
    def max_gift_weight(self) -> int: ...


class VotingSettings(Protocol):
    """The `[voting]` settings a round's rules are copied from (config.VotingConfig)."""

    @property
    def allow_change(self) -> bool: ...
    @property
    def early_close(self) -> bool: ...
    @property
    def min_votes(self) -> int: ...
    @property
    def swing(self) -> int: ...
    @property
    def tie_break(self) -> Policy: ...
    @property
    def no_votes(self) -> Policy: ...
    @property
    def extend_seconds(self) -> float: ...
    @property
    def gift_votes(self) -> bool: ...
    @property
    def diamonds_per_vote(self) -> int: ...
    @property
    def bits_per_vote(self) -> int: ...
    @property
    def max_gift_weight(self) -> int: ...
    @property
    def stream_delay(self) -> float: ...


class Clock(Protocol):
    """The one clock: epoch seconds now, and sleeping until an epoch time. Services convert to
    the wire's epoch milliseconds with `ms()`."""

    def now(self) -> float: ...

    def ms(self, epoch: float | None = None) -> int: ...


class StoredSession(Protocol):
    """A stored active session, as the store hands it back for resuming."""

    @property
    def session(self) -> dict[str, Any]: ...
    @property
    def chapters(self) -> list[dict[str, Any]]: ...
    @property
    def memory(self) -> dict[str, Any] | None: ...
    @property
    def round(self) -> dict[str, Any] | None: ...
    @property
    def ballots(self) -> list[tuple[str, str, int, int]]: ...


class StoryStore(Protocol):
    """What the services write and read (storyd.store.db.Store; tests: an in-memory fake).
    Each call is one whole transaction: it commits entirely or not at all."""

    async def create_session(self, *, theme: str, language: str, outline: str, started_at: float,
                             settings: dict[str, Any]) -> int: ...
    async def set_outline(self, session_id: int, outline: str) -> None: ...
    async def set_plan(self, session_id: int, plan: dict[str, Any]) -> None: ...
    async def set_recap(self, session_id: int, recap: dict[str, Any]) -> None: ...
    async def end_session(self, session_id: int, *, status: str, ended_at: float) -> None: ...
    async def active_session(self) -> StoredSession | None: ...
    async def mark_stale_sessions(self, *, except_id: int | None,
                                  ended_at: float) -> int | None: ...
    async def add_chapter(self, chapter: ChapterRecord) -> None: ...
    async def set_chapter_media(self, session_id: int, number: int, *, image: str | None = None,
                                audio: list[str | None] | None = None) -> None: ...
    async def set_chapter_choice(self, session_id: int, number: int, chosen: int,
                                 chosen_text: str) -> None: ...
    async def add_branch(self, session_id: int, *, after_chapter: int, choice: int, title: str,
                         text: str, choices: list[str], provider: str,
                         created_at: float) -> None: ...
    async def open_round(self, session_id: int, chapter_number: int, *, round_id: int,
                         choices: list[str], opens_at: float, ends_at: float) -> None: ...
    async def update_round(self, session_id: int, chapter_number: int, *,
                           ends_at: float | None = None, extended: bool | None = None,
                           status: str | None = None,
                           heartbeat_at: float | None = None) -> None: ...
    async def save_ballots(self, session_id: int, chapter_number: int,
                           rows: Sequence[tuple[str, str, int, int]], *, now: float) -> None: ...
    async def record_vote_result(self, session_id: int, chapter_number: int, *, winner: int,
                                 counts: list[int], voters: int, tie_break: str | None,
                                 early: bool, forced: bool, closed_at: float) -> None: ...
    async def credit_voters(self, *, limit: int, now: float) -> bool: ...
    async def add_activity(self, rows: Sequence[tuple[str, str, int, int]], *,
                           now: float) -> None: ...
    async def save_memory(self, session_id: int, memory: dict[str, Any], *,
                          now: float | None = None) -> None: ...


class HistoryStore(Protocol):
    """The stored sessions as the operator reads them (storyd.store.db.Store)."""

    async def list_sessions(self, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]: ...
    async def get_session(self, session_id: int) -> dict[str, Any]: ...
    async def delete_session(self, session_id: int) -> None: ...
    async def top_voters(self, *, limit: int = 10) -> list[dict[str, Any]]: ...
    async def session_voters(self, session_id: int, *, limit: int = 5) -> list[dict[str, Any]]: ...


# ---- the provider ports: what the services ask of the provider chains ----------------------
D_co = TypeVar("D_co", covariant=True)


class Outcome(Protocol[D_co]):
    """One chain call's result (providers/outcome.py ChainOutcome): the value, who made it,
    the attempts and what they cost."""

    @property
    def draft(self) -> D_co: ...
    @property
    def provider(self) -> str: ...
    @property
    def attempts(self) -> Sequence[object]: ...
    @property
    def calls(self) -> int: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...


class TextChain(Protocol):
    @property
    def last_prompt(self) -> Sequence[Mapping[str, str]]:
        """The messages of the last chapter request (storyctl memory shows them)."""
        ...

    async def write_chapter(self, request: ChapterRequest, *,
                            on_text: Callable[[str], None] | None = None
                            ) -> Outcome[ChapterDraft]:
        """The chapter; `on_text` gets the text so far while it streams (a retry may start
        it again from ""). Raises ProviderError when no provider wrote one."""
        ...

    async def write_plan(self, request: PlanRequest) -> Outcome[StoryPlan]:
        """The story plan, completed where a provider's answer falls short (never refused
        for what it lacks); ProviderError when no provider answered at all."""
        ...

    async def write_recap(self, request: RecapRequest) -> Outcome[StoryRecap]: ...


class ImageChain(Protocol):
    async def illustrate(self, request: ImageRequest) -> Outcome[ImageResult]: ...


class SpeechChain(Protocol):
    async def speak(self, request: SpeechRequest) -> Outcome[SpeechResult | None]: ...


class ProviderChains(Protocol):
    """Text, images and speech, each a fallback chain that ends in the offline provider
    (storyd.providers.chain.Chains). Rebuilt whole on a config reload: hold a getter."""

    @property
    def text(self) -> TextChain: ...
    @property
    def images(self) -> ImageChain: ...
    @property
    def speech(self) -> SpeechChain: ...

    def status(self) -> ProvidersView:
        """Per kind, per provider: health, cool-down, latency and usage."""
        ...

    async def check(self) -> list[ProviderCheck]:
        """One tiny request per configured provider (storyctl providers)."""
        ...


class ChapterWriter(Protocol):
    """The offline storyteller: it plans a story and writes a chapter when no provider did in
    time, and offers what a model's plan is completed from."""

    async def write_plan(self, request: PlanRequest) -> StoryPlan: ...
    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft: ...

    def plan_fallback(self, request: PlanRequest) -> StoryPlan:
        """Its own plan for `request`: what a model's partial plan is completed from."""
        ...

    def offer_names(self, theme_id: str, language: str, seed: int) -> tuple[str, ...]:
        """Fresh names for a story of this theme and language (seeded)."""
        ...
