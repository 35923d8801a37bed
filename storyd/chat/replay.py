"""Chat files for `storyctl chat-import`: parsing JSON lines and timing a replay (pure).

Theory of operation
-------------------
A chat file holds one JSON value per line: an object ``{platform, user_id, name, text}``
(optional ``msg_id`` and ``ts``, epoch seconds) or an array of such objects (a batch).
`parse_lines` turns the lines into `Entry`s in file order — one per valid message — and a
`LineError` for every line or array item that cannot be used. A bad line (or a bad item of an
array) is skipped and reported; it never stops the rest, and the good items of an array with
one bad item still count. Blank lines are ignored. ``user_id`` and ``msg_id`` may be JSON
numbers (TikTok's ids are), they become strings.

The limits mirror the daemon's `Chat` request (storyd/control/dispatch.py), so a batch built
from good entries is never refused as a whole because of one message.

`batches` cuts the entries into requests for a plain import (file order kept, so the last vote
of a viewer is the one that counts, exactly as in live chat). `schedule` times a replay:
each message is sent ``(ts - first ts) / speed`` seconds after the start; timestamps are made
non-decreasing (a message stamped earlier than its predecessor goes with it), a message
without ``ts`` goes at once, i.e. with the message before it (at 0 when it is first).
Messages due within `window` seconds of a group's first message share its request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import msgspec

from storyd.control.protocol import ChatLine

MAX_BATCH = 10_000        # the daemon refuses bigger Chat requests
MAX_ID_CHARS = 128        # platform, user_id and name (the daemon refuses longer ones)
DEFAULT_BATCH = 1_000
DEFAULT_WINDOW = 0.05     # replay: messages due within 50 ms travel together


class _Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One message as written in a chat file (looser than ChatLine: numeric ids, ts)."""

    platform: str
    user_id: str | int
    text: str
    name: str = ""
    msg_id: str | int = ""
    ts: float | None = None


class Entry(msgspec.Struct, frozen=True):
    """One valid message, where it came from and when it was said (epoch s, or None)."""

    line: int
    ts: float | None
    message: ChatLine


class LineError(msgspec.Struct, frozen=True):
    """A line (item None) or one item of an array line (0-based) that was skipped, and why."""

    line: int
    item: int | None
    error: str

    def where(self) -> str:
        return f"line {self.line}" + (f", item {self.item + 1}" if self.item is not None else "")


def _entry(obj: object, line: int) -> Entry:
    """The Entry for one decoded JSON object; raises ValueError with a readable reason."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object {{platform, user_id, name, text}}, "
                         f"got {type(obj).__name__}")
    try:
        rec = msgspec.convert(obj, _Record)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    user_id, msg_id = str(rec.user_id).strip(), str(rec.msg_id)
    platform = rec.platform.strip()
    if not platform or not user_id:
        raise ValueError("platform and user_id must not be empty")
    if max(len(platform), len(user_id), len(rec.name)) > MAX_ID_CHARS:
        raise ValueError(f"platform, user_id and name are {MAX_ID_CHARS} characters at most")
    if rec.ts is not None and not math.isfinite(rec.ts):
        raise ValueError("ts must be a finite number of epoch seconds")
    return Entry(line, rec.ts, ChatLine(platform=platform, user_id=user_id, name=rec.name,
                                        text=rec.text, msg_id=msg_id))


def parse_lines(lines: Iterable[str | bytes], first_line: int = 1
                ) -> tuple[list[Entry], list[LineError]]:
    """Parse chat-file lines into entries (file order) and errors (one per skipped unit).

    Never raises for bad input: a line that is not JSON, not an object or array, or an object
    missing a field or carrying an unknown one becomes a LineError naming its line number
    (counted from `first_line`) and, inside an array, the item number.
    """
    entries: list[Entry] = []
    errors: list[LineError] = []
    decode = msgspec.json.Decoder().decode
    for number, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        try:
            value = decode(raw)
        except msgspec.DecodeError as exc:
            errors.append(LineError(number, None, f"not JSON: {exc}"))
            continue
        if isinstance(value, list):
            if not value:
                errors.append(LineError(number, None, "empty array"))
            for i, item in enumerate(value):
                try:
                    entries.append(_entry(item, number))
                except ValueError as exc:
                    errors.append(LineError(number, i, str(exc)))
            continue
        try:
            entries.append(_entry(value, number))
        except ValueError as exc:
            errors.append(LineError(number, None, str(exc)))
    return entries, errors


def batches(entries: Sequence[Entry], size: int = DEFAULT_BATCH) -> list[list[Entry]]:
    """Entries cut into requests of at most `size` (1..MAX_BATCH), file order kept."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"the batch size must be 1..{MAX_BATCH}, got {size}")
    return [list(entries[i:i + size]) for i in range(0, len(entries), size)]


def schedule(entries: Sequence[Entry], speed: float = 1.0, *, size: int = DEFAULT_BATCH,
             window: float = DEFAULT_WINDOW) -> list[tuple[float, list[Entry]]]:
    """The replay plan: (seconds after the start, entries to send then), delays ascending.

    `speed` > 0 divides every delay (4 = four times faster). Groups never exceed `size`
    entries; a group's delay is that of its first entry, so nothing is sent early by more
    than `window` seconds (0 groups only messages due at the same instant).
    """
    if not (speed > 0 and math.isfinite(speed)):
        raise ValueError(f"the speed must be a positive number, got {speed}")
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"the batch size must be 1..{MAX_BATCH}, got {size}")
    if window < 0:
        raise ValueError("the window must not be negative")
    plan: list[tuple[float, list[Entry]]] = []
    origin: float | None = None
    delay = 0.0
    for e in entries:
        if e.ts is not None:
            if origin is None:
                origin = e.ts
            delay = max(delay, (e.ts - origin) / speed)
        if plan and len(plan[-1][1]) < size and delay - plan[-1][0] <= window:
            plan[-1][1].append(e)
        else:
            plan.append((delay, [e]))
    return plan
