"""The answers of the control protocol and the REST API, as frozen msgspec Structs.

Pure data (core imports only core, errors, stdlib and msgspec). `storyd.control.dispatch`
builds its answers through these types (store rows and provider probes go through
`msgspec.convert`), and `storyd.web.openapi.ROUTES` names the type of each route's 200 answer,
so the OpenAPI document, the socket and the web answer are one shape. `GET status` and the
story commands answer the `Snapshot` (storyd/core/snapshot.py); the themes are `Theme`s
(storyd/core/model.py).

Times stored in SQLite (`started_at`, `ended_at`, `closed_at`, `created_at`, `last_seen`)
are epoch seconds, as the database keeps them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from storyd.core.model import DialogueLine
from storyd.core.plan import StoryPlan
from storyd.core.recap import StoryRecap


class _Reply(msgspec.Struct, frozen=True, kw_only=True):
    pass


class StoryInfo(_Reply, frozen=True):
    """One shipped authored story (`storyctl stories`, GET stories)."""

    id: str                      # "en/fantasy": what `storyctl start --story` takes
    title: str
    language: str                # "English", "Deutsch"
    theme: str
    theme_name: str = ""
    passages: int = 0
    endings: int = 0
    shortest: int | None = None  # chapters on the shortest and longest way to an ending
    longest: int | None = None   # (None: the story has loops)
    ifid: str = ""


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every refusal's body: the control socket's `error`, the HTTP `{"error": ...}` and a
    failed `story:command-result`. `code` is the StorydError's (refused, not_found, ...)."""

    code: str
    message: str
    # POST config: a message per offending key (left out everywhere else)
    fields: dict[str, str] | msgspec.UnsetType = msgspec.UNSET


class DeletedReply(_Reply, frozen=True):
    """`delete-session` (`storyctl sessions --delete ID`): the session that is gone."""

    deleted: int


class AdminUrlReply(_Reply, frozen=True):
    """`admin-url`: the admin page's URL with its access token."""

    url: str


class OkReply(_Reply, frozen=True):
    """POST regenerate-image: the new picture is on its way (it arrives as an event)."""

    ok: bool


class VoteReply(_Reply, frozen=True):
    """POST vote: whether the ballot counted, and the round's counts and voters after it."""

    accepted: bool
    counts: tuple[int, ...]
    voters: int


class CloseReply(_Reply, frozen=True):
    """POST close: how the round ended; `queued` (other fields empty) when the round was
    not open yet and closes as soon as it opens."""

    queued: bool = False
    winner: int | None = None
    counts: tuple[int, ...] = ()
    voters: int = 0
    tie_break: str | None = None   # None, "random", "first", "forced", "no_votes_…"
    tied: tuple[int, ...] = ()
    early: bool = False
    forced: bool = False


class IngestReply(_Reply, frozen=True):
    """POST chat answer: messages counted as ballots, vote-shaped but invalid, not votes."""

    accepted: int
    invalid: int
    ignored: int


class Health(_Reply, frozen=True):
    """GET /healthz."""

    ok: bool
    state: str
    subscribers: int
    websockets: int


class MemoryEntry(_Reply, frozen=True):
    """A remembered character, location or item."""

    name: str
    note: str = ""
    role: str = ""
    alive: bool = True
    last: int = 0      # the chapter that last mentioned it
    tick: int = 0


class MemoryData(_Reply, frozen=True):
    """The story memory as stored (storyd.core.memory.StoryMemory.to_json)."""

    version: int
    outline: str = ""
    characters: tuple[MemoryEntry, ...] = ()
    locations: tuple[MemoryEntry, ...] = ()
    items: tuple[MemoryEntry, ...] = ()
    events: tuple[tuple[int, str], ...] = ()      # (chapter, event)
    summaries: tuple[tuple[int, str], ...] = ()   # (chapter, summary)
    earlier: str = ""
    path: tuple[str, ...] = ()
    earlier_path: str = ""
    tick: int = 0


class MemoryReply(_Reply, frozen=True):
    """GET memory: the running story's memory, its prompt context and the last prompt
    (chat messages `{role, content}`); `session_id` and `memory` are null with no story."""

    session_id: int | None
    memory: MemoryData | None
    context: str
    path: tuple[str, ...] = ()
    last_prompt: tuple[dict[str, str], ...] | None = None


SessionStatus = Literal["active", "finished", "ended", "crashed"]


class SessionSummary(_Reply, frozen=True):
    """One row of GET sessions (newest first)."""

    id: int
    theme: str
    language: str
    status: SessionStatus
    started_at: float
    ended_at: float | None
    chapters: int


class StoredVote(_Reply, frozen=True):
    winner: int
    counts: tuple[int, ...]
    voters: int
    tie_break: str | None
    early: bool
    forced: bool
    closed_at: float


class StoredChapter(_Reply, frozen=True):
    number: int
    title: str
    text: str
    choices: tuple[str, ...]
    closing: bool
    summary: str
    provider: str
    lines: tuple[DialogueLine, ...]
    memory_update: dict[str, Any]      # free-form: what this chapter told the memory
    image: str | None                  # file name in the media cache
    audio: tuple[str | None, ...]      # one file name (or null) per line
    chosen: int | None
    chosen_text: str | None
    created_at: float
    vote: StoredVote | None
    aired_at: float | None = None      # when it went on air (epoch seconds)


class StoredBranch(_Reply, frozen=True):
    """A chapter written during a vote for a choice that lost: never aired."""

    after_chapter: int                 # the chapter whose choice it follows
    choice: int                        # 0-based index of that choice
    title: str
    text: str
    choices: tuple[str, ...]
    provider: str
    created_at: float


class StoredCameo(_Reply, frozen=True):
    """A viewer written into a story (never one the operator removed; no viewer id)."""

    name: str
    status: Literal["joined", "left"]
    chapters: tuple[int, ...] = ()      # aired chapters whose text names them


class CameoEntry(_Reply, frozen=True):
    """One viewer's cameo in the story on air (storyctl cameo list, GET cameos)."""

    viewer_id: str
    name: str
    status: Literal["joined", "left", "removed"]
    chapters: tuple[int, ...] = ()
    ballots: int = 0                    # rounds this viewer voted in, this story


class CameoRemoveReply(_Reply, frozen=True):
    removed: tuple[str, ...]            # the names taken out of every later chapter


class SessionDetail(_Reply, frozen=True):
    """GET session/{id} and the JSON export: the session with chapters and vote results."""

    id: int
    theme: str
    language: str
    outline: str
    status: SessionStatus
    started_at: float
    ended_at: float | None
    settings: dict[str, Any]           # free-form: the story settings it was started with
    chapters: tuple[StoredChapter, ...]
    memory: MemoryData | None
    ifid: str = ""                     # the Twine IFID, made once per session
    branches: tuple[StoredBranch, ...] = ()   # written for choices that lost
    plan: StoryPlan | None = None      # the story bible written before chapter 1 (issue 17)
    recap: StoryRecap | None = None    # logline, key moments, kind of ending (issue 17)
    cameos: tuple[StoredCameo, ...] = ()      # viewers written into it (issue 19)


class PlanReply(_Reply, frozen=True):
    """GET plan / POST extend: the running story's plan (issue 17)."""

    session_id: int | None
    plan: StoryPlan | None             # None before it is written, or with no story
    aired: int = 0                     # chapters aired so far
    planned_chapters: int = 0          # where it ends on its own (0: only by `finish`)
    authored: str | None = None        # an authored story's title: its passages are its plan


class PngReply(_Reply, frozen=True):
    """A rendered picture (the recap as a PNG); `png` travels as base64 in JSON."""

    width: int
    height: int
    png: bytes


class TopVoter(_Reply, frozen=True):
    viewer_id: str
    name: str
    ballots: int
    wins: int
    likes: int
    joins: int
    last_seen: float


class ProviderCheck(_Reply, frozen=True):
    """One row of GET providers: a probe of one configured provider (secrets masked)."""

    provider: str
    ok: bool
    diagnosis: str       # ok, bad key, rate-limited, unreachable, model not offered, ...
    latency: float       # seconds
    message: str = ""
    base_url: str | None = None
    missing: tuple[str, ...] = ()   # models the provider does not offer
    voices: tuple[str, ...] = ()    # voices a speech probe tried
    json_mode: str = ""             # the structured-output mode in use (text providers)
    json_mode_note: str = ""        # why it stepped down ("" = it did not)


class ConfigField(_Reply, frozen=True):
    key: str             # dotted, e.g. "voting.duration"; "*" stands for any name
    section: str
    type: str            # text, int, float, bool, enum, multi, list, map, secret
    options: tuple[Any, ...]
    help: str
    default: Any


class ConfigSchema(_Reply, frozen=True):
    """GET config/schema: each key's type, allowed values, default and help text."""

    fields: tuple[ConfigField, ...]


class ExportReply(_Reply, frozen=True):
    """The control socket's `export` answer (the web route sends `content` itself)."""

    format: str
    content_type: str
    filename: str
    content: str


class OpenApiDocument(_Reply, frozen=True):
    """GET openapi.json: an OpenAPI 3.1 document (free-form below its top level)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
