"""The view model: one snapshot of the show for the overlay, the admin page and storyctl.

Pure data. The director builds a Snapshot after every transition and publishes it as
`story:state`; `GET status` and `storyctl --json status` return the same object. Times on
the wire are epoch milliseconds (`ends_at`, `server_time_ms`, every `…_ms`) so browsers count
down from the server's clock, not their own guess; nothing monotonic is ever sent.
"""

from __future__ import annotations

from typing import Literal

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
    ends_at: int | None              # epoch ms, the announced end; None once closed
    closes_at: int | None = None     # epoch ms, the real close: ends_at + [voting] stream_delay
    duration_ms: int = 0             # the round's full length (with any extension), for bars
    open: bool
    invalid: int = 0
    moderated: int = 0               # ballots moderators took back (deleted messages, bans)
    extended: bool = False
    winner: int | None = None        # index, once closed
    tie_break: str | None = None     # "random", "first", "extend", "forced", None
    early: bool = False              # closed early on a clear lead


class AudienceView(msgspec.Struct, frozen=True, kw_only=True):
    """Cameos at a glance (storyd/core/cameos.py): the admin page and `storyctl status`."""

    cameos: bool                         # [audience] cameos
    join_command: str = "!join"
    leave_command: str = "!leave"
    joined: int = 0                      # viewers joined now
    offered: tuple[str, ...] = ()        # names offered to the next chapter
    joins: int = 0
    repeats: int = 0
    leaves: int = 0
    removed: int = 0
    refused: int = 0                     # unusable, blocked or taken names
    dropped: int = 0                     # joins beyond [audience] max_joined
    waiting: int = 0                     # joined while no story ran: they join the next one


class ProviderHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One provider's running health in a chain (storyd.providers.chain), credentials masked."""

    ok: bool | None = None          # None: not asked yet
    last_error: str = ""
    failures: int = 0               # failures in a row
    cooling_down: bool = False
    cooldown_until_ms: int | None = None   # epoch ms; None when not cooling down
    cooldown_reason: str = ""
    last_latency_ms: int | None = None
    used_because: str = ""          # the last resort: why it wrote the last time
    stepped_in: int = 0             # the last resort: how often it wrote for the others
    calls: int = 0                  # provider requests spent so far (retries included)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False  # some answers had no `usage`: ~4 characters per token


class ProvidersView(msgspec.Struct, frozen=True, kw_only=True):
    """Each chain's providers by name, in chain order (the offline one last)."""

    text: dict[str, ProviderHealth] = {}
    images: dict[str, ProviderHealth] = {}
    speech: dict[str, ProviderHealth] = {}


SourceState = Literal["idle", "connecting", "connected", "waiting_for_live", "backing_off",
                      "failed", "stopped"]


class ChatSourceView(msgspec.Struct, frozen=True, kw_only=True):
    """One chat source's health (storyd.chat.base.ChatHealth.view); times in epoch ms."""

    source: str                     # tiktok, twitch, demo, local, ingest
    state: SourceState
    detail: str = ""                # why failed/backing_off/waiting, or what is connected
    room: str = ""                  # TikTok room id / Twitch #channel, once known
    retry_at_ms: int | None = None  # when backing off or waiting for the stream
    connected_since_ms: int | None = None
    last_event_at_ms: int | None = None
    messages: int = 0
    votes_accepted: int = 0
    votes_invalid: int = 0
    gifts: int = 0
    reconnects: int = 0             # drops of a working connection
    failures: int = 0               # connection attempts that never worked
    dropped: int = 0                # events lost to a full buffer
    moderation: int = 0             # moderators' deletions, bans and timeouts seen
    rate: float = 0.0               # messages per second over the last 10 s
    counters: dict[str, int] = {}   # what one source counts besides (EventSub: duplicates, …)


class OverlayView(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`[overlay]` as configured plus `[story] reveal` and `reveal_words_per_second`, so the
    pages restyle live. The defaults are the config's (a test holds them equal)."""

    layout: Literal["auto", "landscape", "portrait"] = "auto"
    style: Literal["panels", "storybook", "lowerthird"] = "panels"
    size: str = "1920x1080"
    font: str = "system-ui, sans-serif"
    font_size: int = 34
    text_color: str = "#ffffff"
    accent: str = "#ffb703"
    panel: str = "rgba(12, 14, 28, 0.9)"
    show_voters: bool = True
    recap_seconds: float = 12.0     # the recap card after a story ends; 0 = off
    reveal: Literal["sentences", "full"] = "sentences"
    reveal_words_per_second: float = 2.5


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
    providers: ProvidersView = ProvidersView()
    chat: tuple[ChatSourceView, ...] = ()     # one per chat source
    costs: tuple[ChapterCost, ...] = ()   # per aired chapter, newest last
    max_chapters: int = 0
    test_mode: bool = False
    overlay: OverlayView = OverlayView()
    # the overlay's "in this story" roster: joined viewers the story has written in so far
    cameos: tuple[str, ...] = ()
    audience: AudienceView | None = None
    recap: RecapView | None = None   # the story's recap, once it has ended (the recap card)
