"""The control protocol: newline-delimited JSON over a Unix socket.

Theory of operation: every line a client sends is one `Envelope` — `{"v": 1, "id": N,
"request": {"cmd": NAME, ...}}` — whose `request` is a tagged union of the request Structs
below (tag field `cmd`). The server answers each line with exactly one reply carrying the
same id: an `Answer` `{"v": 1, "id": N, "ok": true, "result": ...}`, whose result is of the
request's answer type (ANSWERS), or a `Refusal` `{"v": 1, "id": N, "ok": false, "error":
{"code": ..., "message": ...}}`. `watch` is the one streaming request: after its Answer the
server sends `EventLine`s `{"v": 1, "id": N, "event": {...}}` until the client closes.

Lines longer than MAX_LINE bytes, undecodable JSON, unknown commands and wrong types all get
an error reply (id null when it could not be read); the connection stays open.

The web front reuses these same request types, so `GET status` and `storyctl --json status`
return the very same object (both go through storyd.control.dispatch).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from storyd.config.replies import (
    ConfigOrigins,
    ConfigSetReply,
    ConfigUpdateReply,
    ConfigValue,
)
from storyd.config.structs import Config
from storyd.core import replies as r
from storyd.core.chapter_times import ChapterList
from storyd.core.events import StorydEvent
from storyd.core.model import Theme
from storyd.core.recap_view import RecapView
from storyd.core.snapshot import Snapshot

PROTOCOL_VERSION = 1
MAX_LINE = 1024 * 1024  # one request line; storyctl chat-import splits batches to fit
# Numbers that reach SQLite must fit its 64-bit integers; larger ones are bad requests.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# The limits the daemon enforces, in the types, so the OpenAPI document states them too
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ShortStr = Annotated[str, msgspec.Meta(max_length=128)]


class _Req(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
           tag_field="cmd"):
    pass


class Status(_Req, tag="status", frozen=True):
    pass


class Themes(_Req, tag="themes", frozen=True):
    pass


class Start(_Req, tag="start", frozen=True):
    theme: str | None = None
    outline: str | None = None
    language: str | None = None
    force: bool = False
    seed: int | None = None     # reproduce a story exactly (same theme, outline and choices)
    # an authored story: a shipped story's id ("en/fantasy", see `stories`) or the absolute
    # path of a Twee 3 file the daemon can read
    story: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None


class Stories(_Req, tag="stories", frozen=True):
    """The shipped authored stories (language, theme, title, passages, endings)."""


class Vote(_Req, tag="vote", frozen=True):
    viewer: Name
    choice: str            # a–f or 1–6
    name: ShortStr | None = None


class Close(_Req, tag="close", frozen=True):
    pass


class Next(_Req, tag="next", frozen=True):
    choice: str | None = None   # a–f / 1–6 forces this choice; None takes the vote winner


class Finish(_Req, tag="finish", frozen=True):
    now: bool = False           # close a running vote now (else it runs out first)


class End(_Req, tag="end", frozen=True):
    pass


class Plan(_Req, tag="plan", frozen=True):
    """The running story's plan (written before chapter 1 airs)."""


class Extend(_Req, tag="extend", frozen=True):
    """Lengthen the running story to `chapters`; the beats not aired yet are re-planned."""

    chapters: Annotated[int, msgspec.Meta(ge=1, le=60)]


class RegenerateImage(_Req, tag="regenerate-image", frozen=True):
    pass


class Memory(_Req, tag="memory", frozen=True):
    pass


class Sessions(_Req, tag="sessions", frozen=True):
    limit: Int64 = 20
    offset: Int64 = 0


class Session(_Req, tag="session", frozen=True):
    id: Int64


class TopVoters(_Req, tag="top-voters", frozen=True):
    limit: Int64 = 10


class DeleteSession(_Req, tag="delete-session", frozen=True):
    """Delete a stored session with its chapters and votes (not the running one)."""

    id: int


class ConfigShow(_Req, tag="config-show", frozen=True):
    """origins: answer {"config", "origins"}: where each value in effect comes from."""

    origins: bool = False


class ConfigGet(_Req, tag="config-get", frozen=True):
    key: str


class ConfigSet(_Req, tag="config-set", frozen=True):
    key: str
    value: str


class ConfigUpdate(_Req, tag="config-update", frozen=True):
    """Several `config set`s validated together and written at once."""

    changes: dict[str, str]


class Export(_Req, tag="export", frozen=True):
    id: Int64
    format: Literal["md", "html", "twee", "json"] = "md"


class Chapters(_Req, tag="chapters", frozen=True):
    """A YouTube chapter list of a session, from the story's start or from `since` (a stream
    start, epoch seconds)."""

    id: Int64
    since: float | None = None


class Recap(_Req, tag="recap", frozen=True):
    id: Int64


class RecapPng(_Req, tag="recap-png", frozen=True):
    id: Int64
    size: Literal["1080x1920", "1920x1080"] = "1080x1920"


class Watch(_Req, tag="watch", frozen=True):
    pass


class Providers(_Req, tag="providers", frozen=True):
    """Probe every configured provider once (latency and a plain diagnosis)."""


class ChatLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One chat message from another tool or platform (the chat ingest API, chat-import)."""

    platform: Name
    user_id: Name
    name: ShortStr = ""
    text: str
    msg_id: str = ""


class Chat(_Req, tag="chat", frozen=True):
    """A batch of chat messages, counted exactly like TikTok comments."""

    messages: Annotated[list[ChatLine], msgspec.Meta(max_length=10_000)]


class AdminUrl(_Req, tag="admin-url", frozen=True):
    pass


class Cameos(_Req, tag="cameos", frozen=True):
    """The cameos of the story on air: joined, left and removed viewers."""


class CameoRemove(_Req, tag="cameo-remove", frozen=True):
    """Take a cameo (by name or viewer id) out of every later chapter of the story on air."""

    name: Name


Request = (Status | Themes | Stories | Start | Vote | Close | Next | Finish | End | Plan
           | Extend | RegenerateImage | Memory | Sessions | Session | TopVoters | ConfigShow
           | ConfigGet | ConfigSet | ConfigUpdate | Export | Watch | AdminUrl | Providers | Chat
           | DeleteSession | Chapters | Recap | RecapPng | Cameos | CameoRemove)


class Envelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    v: int = PROTOCOL_VERSION
    id: int | None = None
    request: Request


# ---- answers ----------------------------------------------------------------------------

Result = (Snapshot | list[Theme] | list[r.StoryInfo] | r.VoteReply | r.CloseReply
          | r.PlanReply | r.OkReply | r.MemoryReply | list[r.SessionSummary] | r.SessionDetail
          | list[r.TopVoter] | Config | ConfigOrigins | ConfigValue | ConfigSetReply
          | ConfigUpdateReply | r.DeletedReply | r.ExportReply | ChapterList | RecapView
          | r.PngReply | r.AdminUrlReply | list[r.ProviderCheck] | r.IngestReply
          | list[r.CameoEntry] | r.CameoRemoveReply)
"""What a request is answered with (storyd.control.dispatch.handle); see answer_type."""

ANSWERS: dict[type[Request], Any] = {
    Status: Snapshot, Themes: list[Theme], Stories: list[r.StoryInfo], Start: Snapshot,
    Vote: r.VoteReply, Close: r.CloseReply, Next: Snapshot, Finish: Snapshot, End: Snapshot,
    Plan: r.PlanReply, Extend: r.PlanReply, RegenerateImage: r.OkReply,
    Memory: r.MemoryReply, Sessions: list[r.SessionSummary], Session: r.SessionDetail,
    TopVoters: list[r.TopVoter], ConfigShow: Config, ConfigGet: ConfigValue,
    ConfigSet: ConfigSetReply, ConfigUpdate: ConfigUpdateReply, Export: r.ExportReply,
    Watch: None, AdminUrl: r.AdminUrlReply, Providers: list[r.ProviderCheck],
    Chat: r.IngestReply, DeleteSession: r.DeletedReply, Chapters: ChapterList,
    Recap: RecapView, RecapPng: r.PngReply, Cameos: list[r.CameoEntry],
    CameoRemove: r.CameoRemoveReply}


def answer_type(request: Request) -> Any:
    """The type of the `result` that answers `request` (None: `watch`'s first reply)."""
    if isinstance(request, ConfigShow) and request.origins:
        return ConfigOrigins
    return ANSWERS[type(request)]


R = TypeVar("R")


class Answer(msgspec.Struct, Generic[R], frozen=True, kw_only=True):
    """`{"v": 1, "id": N, "ok": true, "result": ...}`: the request was done."""

    v: int = PROTOCOL_VERSION
    id: int | None
    ok: Literal[True] = True
    result: R


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """`{"v": 1, "id": N, "ok": false, "error": {"code", "message"}}`: it was not (id null
    when the line could not be read)."""

    v: int = PROTOCOL_VERSION
    id: int | None
    ok: Literal[False] = False
    error: r.ErrorBody


class EventLine(msgspec.Struct, frozen=True, kw_only=True):
    """`{"v": 1, "id": N, "event": {...}}`: one event streamed to a `watch` request."""

    v: int = PROTOCOL_VERSION
    id: int | None
    event: StorydEvent


NULL = msgspec.Raw(b"null")


class Incoming(msgspec.Struct, frozen=True, kw_only=True):
    """Any line the daemon sends, as a client reads it before it knows which it is: an
    Answer (its `result` still raw: answer_type says what to decode it into), a Refusal or
    an EventLine (its `event` still raw)."""

    v: int = PROTOCOL_VERSION
    id: int | None = None
    ok: bool = True
    result: msgspec.Raw = NULL
    error: r.ErrorBody | None = None
    event: msgspec.Raw = NULL     # NULL: not an event line


_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)
_incoming_decoder = msgspec.json.Decoder(Incoming)


def encode(obj: Envelope | Answer[Any] | Refusal | EventLine) -> bytes:
    """One wire line (with the trailing newline)."""
    return _encoder.encode(obj) + b"\n"


def decode_envelope(line: bytes) -> Envelope:
    """Raises msgspec.DecodeError / ValidationError for bad lines."""
    return _envelope_decoder.decode(line)


def decode_incoming(line: bytes) -> Incoming:
    """Raises msgspec.DecodeError / ValidationError for a line that is no reply."""
    return _incoming_decoder.decode(line)


def parse_choice(raw: str, n_choices: int) -> int:
    """'a'..'f' or '1'..'6' (case-insensitive, an optional '!') → 0-based index.

    Raises ValueError with an operator-facing message when it is not a choice of this round.
    """
    s = raw.strip().lower().lstrip("!")
    if len(s) == 1 and "a" <= s <= "f":
        idx = ord(s) - ord("a")
    elif s.isdigit() and 1 <= int(s) <= 6:
        idx = int(s) - 1
    else:
        raise ValueError(f"'{raw}' is not a choice: use a letter a–f or a number 1–6")
    if idx >= n_choices:
        raise ValueError(f"choice '{raw}' does not exist: this round has {n_choices} choices")
    return idx
