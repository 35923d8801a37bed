"""The one schema of every event storyd sends: msgspec Structs tagged by event name.

Theory of operation: an event is `{"event": NAME, "data": {...}}` on every wire (both
websockets, `storyctl watch`). Each event is a frozen Struct whose tag is its name (tag field
`event`) and whose only field `data` holds a typed payload, so `msgspec.json.encode(event)`
gives exactly the wire form and `decode(raw, type=AnyEvent)` checks it. Publishers build
these Structs (`bus.publish(VotingStarted(...))`), never dicts; the test fakes build them too,
so a fake cannot drift from the daemon. `schema()` is the JSON Schema served inside the
OpenAPI document (`components.schemas`, root `StorydEvent`) and written down in
docs/events.md.

Units: every point in time on the wire is epoch milliseconds in a field named `…_ms` (the one
exception kept from the first protocol: `ends_at`, also epoch ms); durations are `…_ms` too.
Nothing monotonic leaves the process.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from storyd.core.replies import CloseReply, ErrorBody
from storyd.core.snapshot import ChapterView, ChoiceView, Snapshot


class _Event(msgspec.Struct, frozen=True, tag_field="event"):
    pass


# ---- payloads ---------------------------------------------------------------------------


class GenerationStartedData(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int
    closing: bool = False
    prefetched: bool = False      # the winner's chapter was written during the vote


class NarrationData(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int
    index: int                    # sentence index; the choices announcement comes last
    kind: Literal["sentence", "choices"]
    text: str
    audio_url: str | None = None
    duration_ms: int = 0          # how long this sentence stays the airing one


class VotingStartedData(msgspec.Struct, frozen=True, kw_only=True):
    round_id: int
    choices: tuple[ChoiceView, ...]
    ends_at: int                  # epoch ms: the announced end (the overlay's countdown)
    duration_ms: int              # the round's full length (with any extension)
    extended: str | None = None   # "tie" / "no_votes" when a deadline extended the round
    closes_at: int | None = None  # epoch ms: the real close, ends_at + [voting] stream_delay


class VoteUpdateData(msgspec.Struct, frozen=True, kw_only=True):
    round_id: int
    counts: tuple[int, ...]
    voters: int
    invalid: int = 0


class VotingEndedData(msgspec.Struct, frozen=True, kw_only=True):
    round_id: int
    winner: int
    winner_key: str
    winner_text: str
    tie_break: str | None = None
    tied: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    voters: int = 0
    early: bool = False
    forced: bool = False


class ImageUpdatedData(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int
    image_url: str | None


class EndedData(msgspec.Struct, frozen=True, kw_only=True):
    session_id: int | None
    reason: Literal["ended", "finished"] = "ended"


class ErrorData(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    at_ms: int                    # epoch ms


class CommandResultData(msgspec.Struct, frozen=True, kw_only=True):
    """The admin socket's answer to one command it was sent: `story:force-vote-end` answers
    how the round closed (POST close's answer); `story:regenerate-image` has no result (the
    new picture arrives as `story:image-updated`); an unknown command names what was sent."""

    command: str | None
    ok: bool
    result: CloseReply | None = None
    error: ErrorBody | None = None


class Empty(msgspec.Struct, frozen=True):
    pass


# ---- events -----------------------------------------------------------------------------


class State(_Event, frozen=True, tag="story:state"):
    data: Snapshot


class GenerationStarted(_Event, frozen=True, tag="story:generation-started"):
    data: GenerationStartedData


class ChapterReady(_Event, frozen=True, tag="story:chapter-ready"):
    data: ChapterView


class Narration(_Event, frozen=True, tag="story:narration"):
    data: NarrationData


class VotingStarted(_Event, frozen=True, tag="story:voting-started"):
    data: VotingStartedData


class VoteUpdate(_Event, frozen=True, tag="story:vote-update"):
    data: VoteUpdateData


class VotingEnded(_Event, frozen=True, tag="story:voting-ended"):
    data: VotingEndedData


class ImageUpdated(_Event, frozen=True, tag="story:image-updated"):
    data: ImageUpdatedData


class Ended(_Event, frozen=True, tag="story:ended"):
    data: EndedData


class Error(_Event, frozen=True, tag="story:error"):
    data: ErrorData


class CommandResult(_Event, frozen=True, tag="story:command-result"):
    data: CommandResultData


class Ping(_Event, frozen=True, tag="ping"):
    data: Empty = Empty()


class Pong(_Event, frozen=True, tag="pong"):
    data: Empty = Empty()


StorydEvent = (State | GenerationStarted | ChapterReady | Narration | VotingStarted
               | VoteUpdate | VotingEnded | ImageUpdated | Ended | Error | CommandResult
               | Ping | Pong)
"""Every event on the wire (server → client, plus the ping/pong heartbeat)."""

BusEvent = (State | GenerationStarted | ChapterReady | Narration | VotingStarted
            | VoteUpdate | VotingEnded | ImageUpdated | Ended | Error)
"""What the bus carries (command results and pongs go to one client only)."""

EVENT_TYPES: tuple[type[_Event], ...] = (
    State, GenerationStarted, ChapterReady, Narration, VotingStarted, VoteUpdate,
    VotingEnded, ImageUpdated, Ended, Error, CommandResult, Ping, Pong)
NAMES: tuple[str, ...] = tuple(str(t.__struct_config__.tag) for t in EVENT_TYPES)

# Client → server on the admin socket (the overlay socket accepts only ping).
ADMIN_COMMAND_NAMES: tuple[str, ...] = ("story:force-vote-end", "story:regenerate-image")


def name_of(event: _Event) -> str:
    return str(type(event).__struct_config__.tag)


def error(message: str, at_ms: int) -> Error:
    return Error(ErrorData(message=message, at_ms=at_ms))


def schema() -> dict[str, Any]:
    """JSON Schema of StorydEvent: `$defs` holds every event and payload."""
    return msgspec.json.schema(StorydEvent)


def schema_components(ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(root schema, components) for embedding in an OpenAPI document."""
    (root,), comps = msgspec.json.schema_components(
        [StorydEvent], ref_template=ref_template)
    return root, comps


_decoder = msgspec.json.Decoder(StorydEvent)


def decode(raw: bytes | str) -> StorydEvent:
    """Decode and validate one wire event (raises msgspec.ValidationError/DecodeError)."""
    return _decoder.decode(raw)
