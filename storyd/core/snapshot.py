"""The view model: one snapshot of the show for the overlay, the admin page and storyctl.

Pure data. The director builds a Snapshot after every transition and publishes it as
`story:state`; `GET status` and `storyctl --json status` return the same object. Times on
the wire are epoch milliseconds (`ends_at`, `server_time_ms`, every `…_ms`) so browsers count
down from the server's clock, not their own guess; nothing monotonic is ever sent.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from storyd.core.recap_view import RecapView

State = Literal["idle", "generating", "presenting", "voting", "result", "finishing", "ended"]


class ChoiceView(msgspec.Struct, frozen=True, kw_only=True):
    key: str            # "a".."f"
    text: str


class ChapterView(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    title: str
    text: str
    sentences: tuple[str, ...]
    choices: tuple[ChoiceView, ...]
    closing: bool = False
    image_url: str | None = None
    audio_urls: tuple[str | None, ...] = ()   # one per sentence, None when no audio
    choices_audio_url: str | None = None
    provider: str = ""


class NarrationRef(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int
    index: int          # the sentence airing now (reconnecting overlays pick up here)


class GeneratingView(msgspec.Struct, frozen=True, kw_only=True):
    what: Literal["chapter", "closing"]
    chapter: int
    progress: float = 0.0
    provider: str | None = None
    since_ms: int = 0            # epoch ms: when the writing of this chapter started
    prefetched: bool = False     # the chapter was written during the vote
    waiting: bool = False        # past the first second: the overlay shows its calm card
    preview: str = ""            # the winner's text so far, while it streams in (reveal it)


class ChapterCost(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int
    provider: str = ""
    calls: int = 0               # provider calls spent on this aired chapter (prefetch included)
    prompt_tokens: int = 0
    completion_tokens: int = 0


class VotingView(msgspec.Struct, frozen=True, kw_only=True):
    round_id: int
    choices: tuple[ChoiceView, ...]
    counts: tuple[int, ...]
    voters: int
    ends_at: int | None              # epoch ms; None once closed
    duration_ms: int = 0             # the round's full length (with any extension), for bars
    open: bool
    invalid: int = 0
    extended: bool = False
    winner: int | None = None        # index, once closed
    tie_break: str | None = None     # "random", "first", "extend", "forced", None
    early: bool = False              # closed early on a clear lead


class AuthoredRef(msgspec.Struct, frozen=True, kw_only=True):
    """The authored story on air (a Twee file), when it is one."""

    title: str
    id: str             # a shipped story's id ("en/fantasy") or the file's name
    ifid: str = ""


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    state: State
    revision: int
    server_time_ms: int              # epoch ms
    session_id: int | None = None
    theme: str | None = None
    theme_name: str | None = None
    language: str | None = None
    outline: str = ""
    authored: AuthoredRef | None = None   # an authored story plays (no model writes)
    chapter_number: int = 0
    title: str | None = None
    choices: tuple[ChoiceView, ...] = ()
    chapter: ChapterView | None = None
    voting: VotingView | None = None
    notice: str | None = None        # "the story continues in a moment" card, on errors
    # "the offline storyteller writes English and German; Spanish needs a model provider"
    language_notice: str | None = None
    narration: NarrationRef | None = None
    generating: GeneratingView | None = None
    # kind -> provider name -> health (ok, last_error, failures, cooldown_until_ms, ...)
    providers: dict[str, Any] = {}
    # one per chat source: state, detail, retry_at_ms, last_event_at_ms, counters ...
    chat: tuple[dict[str, Any], ...] = ()
    costs: tuple[ChapterCost, ...] = ()   # per aired chapter, newest last
    max_chapters: int = 0
    test_mode: bool = False
    # [overlay] settings plus story.reveal / story.reveal_words_per_second, so pages restyle live
    overlay: dict[str, Any] = {}
    recap: RecapView | None = None   # the story's recap, once it has ended (the recap card)
