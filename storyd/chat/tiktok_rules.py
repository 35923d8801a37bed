"""Pure rules of the TikTok LIVE chat source: comments, gift streaks, duplicates, backoff.

Nothing here does I/O, reads a clock or imports TikTokLive; time comes in as `now` and
randomness as a number in [0, 1). The service shell (storyd/chat/tiktok.py) feeds these.

Invariants:
- a message id is delivered at most once among the last `RecentIds.maxlen` ids;
- a gift streak (one viewer, one gift) turns into exactly one GiftMessage: when its final
  (non-streaking) event arrives, or when it has been idle for `idle_seconds`. A final event
  that turns up after an idle flush only adds the repeats the flush did not count.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import msgspec

from storyd.core.model import ChatMessage, GiftMessage, Moderation, ViewerKey, viewer_key

PLATFORM = "tiktok"
MAX_TEXT = 500        # votes are short; longer comments are cut, not dropped
MAX_NAME = 64
_KEY_LIMIT = 10**20   # viewer_key reads up to 20 digits as an int


class RecentIds:
    """A bounded set of recently seen message ids (oldest forgotten first)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.maxlen = maxlen
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen_before(self, msg_id: str) -> bool:
        """True when `msg_id` was seen recently; otherwise remember it. "" is never a duplicate."""
        if not msg_id:
            return False
        if msg_id in self._ids:
            self._ids.move_to_end(msg_id)
            return True
        self._ids[msg_id] = None
        if len(self._ids) > self.maxlen:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)


def viewer_id(user_id: str) -> str:
    """The storyd viewer id of a TikTok user id: `tiktok:<id>` (ids are `platform:user_id`)."""
    return f"{PLATFORM}:{user_id}"


def comment_message(user_id: object, display_id: object, nickname: object, text: object,
                    msg_id: object = "") -> ChatMessage | None:
    """A ChatMessage from the loose fields of a TikTok comment, or None when unusable.

    A comment needs a user id (0 and "" are not ids) and some text; the viewer is
    `tiktok:<id>`. The name is the @handle, else the nickname, else the id.
    """
    # the chat path of every TikTok comment: plain branches, no generator, no helper calls;
    # an int id (what TikTokLive hands over) is told apart once, without comparing it to str
    if type(user_id) is int:
        if not 0 < user_id < _KEY_LIMIT:
            if not user_id:
                return None
            key: ViewerKey = viewer_key(PLATFORM, str(user_id))
        else:
            key = user_id    # a positive int id is its own viewer key (viewer_key's digits)
    elif user_id is None or user_id == 0 or user_id == "0" or user_id == "":
        return None
    else:
        key = viewer_key(PLATFORM, str(user_id))
    body = text.strip() if isinstance(text, str) else ""
    if not body:
        return None
    if len(body) > MAX_TEXT:
        body = body[:MAX_TEXT]
    uid = str(user_id)
    name = display_id.strip() if isinstance(display_id, str) else ""
    if not name:
        name = nickname.strip() if isinstance(nickname, str) else ""
        if not name:
            name = uid.strip()
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME]
    if type(msg_id) is int:
        mid = str(msg_id) if msg_id else ""
    else:
        mid = "" if msg_id is None or msg_id == 0 or msg_id == "0" else str(msg_id)
    return ChatMessage(platform=PLATFORM, user_id=f"{PLATFORM}:{uid}", name=name, text=body,
                       msg_id=mid, key=key)


def deletions(msg_ids: Iterable[object], user_ids: Iterable[object]) -> list[Moderation]:
    """TikTok's deleted comments (an ImDeleteEvent) as Moderation values: each deleted
    comment id takes back the ballot it set; each user id, all of that viewer's (as a
    Twitch ban does). Ids 0 and "" are no ids."""
    out = [Moderation(platform=PLATFORM, kind="message", msg_id=str(m))
           for m in msg_ids if m not in (None, 0, "", "0")]
    out += [Moderation(platform=PLATFORM, kind="viewer", user_id=viewer_id(str(u)),
                       key=viewer_key(PLATFORM, str(u)))
            for u in user_ids if u not in (None, 0, "", "0")]
    return out


class _Streak(msgspec.Struct):
    name: str
    repeat: int
    diamonds: int      # per single gift
    msg_id: str
    last_seen: float


class GiftStreaks:
    """Turns the stream of gift events into one GiftMessage per finished streak."""

    def __init__(self, idle_seconds: float = 10.0, max_pending: int = 10_000,
                 remember_seconds: float = 120.0) -> None:
        self.idle_seconds = idle_seconds
        self.max_pending = max_pending
        self.remember_seconds = remember_seconds
        self._pending: OrderedDict[tuple[str, str], _Streak] = OrderedDict()
        # streaks flushed on idle: key -> (repeats counted, when); a late final adds the rest
        self._flushed: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def update(self, user_id: str, gift_id: str, repeat_count: int, diamonds: int,
               streaking: bool, now: float, *, name: str = "", msg_id: str = "",
               ) -> GiftMessage | None:
        """Feed one gift event; the finished streak's GiftMessage, or None while it runs.

        `diamonds` is the value of one gift; the result carries `repeat_count * diamonds`.
        """
        key = (user_id, gift_id)
        repeat = max(int(repeat_count), 1)
        value = max(int(diamonds), 0)
        self._forget_flushed(now)
        if streaking:
            old = self._pending.pop(key, None)
            repeat = max(repeat, old.repeat) if old else repeat
            self._pending[key] = _Streak(name=name or (old.name if old else user_id),
                                         repeat=repeat, diamonds=value, msg_id=msg_id,
                                         last_seen=now)
            return None
        old = self._pending.pop(key, None)
        if old is not None:
            repeat = max(repeat, old.repeat)
            name = name or old.name
        already = self._flushed.pop(key, None)
        if already is not None and old is None:
            repeat -= already[0]
            if repeat <= 0:
                return None
        return GiftMessage(platform=PLATFORM, user_id=user_id, name=name or user_id,
                           diamonds=repeat * value, msg_id=msg_id)

    def flush_idle(self, now: float) -> list[GiftMessage]:
        """Finish every streak idle for `idle_seconds` (and the oldest beyond `max_pending`)."""
        out: list[GiftMessage] = []
        for key in list(self._pending):
            streak = self._pending[key]
            over = len(self._pending) > self.max_pending
            if not over and now - streak.last_seen < self.idle_seconds:
                continue
            del self._pending[key]
            self._flushed[key] = (streak.repeat, now)
            out.append(GiftMessage(platform=PLATFORM, user_id=key[0], name=streak.name,
                                   diamonds=streak.repeat * streak.diamonds,
                                   msg_id=streak.msg_id))
        self._forget_flushed(now)
        return out

    def _forget_flushed(self, now: float) -> None:
        while self._flushed:
            key, (_, when) = next(iter(self._flushed.items()))
            if now - when < self.remember_seconds and len(self._flushed) <= self.max_pending:
                break
            del self._flushed[key]

    @property
    def pending(self) -> int:
        return len(self._pending)


class Backoff:
    """Exponential backoff with "equal jitter": delay in [base/2, base], base doubling to max."""

    def __init__(self, initial: float, maximum: float, factor: float = 2.0) -> None:
        self.initial = max(initial, 0.0)
        self.maximum = max(maximum, self.initial)
        self.factor = factor
        self._base = self.initial

    def next(self, u: float) -> float:
        """The next delay; `u` is a random number in [0, 1)."""
        delay = self._base * (0.5 + 0.5 * min(max(u, 0.0), 1.0))
        self._base = min(self._base * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._base = self.initial


def rate_limit_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the sign server asks us to wait, from `Retry-After` or `RateLimit-Reset`.

    `RateLimit-Reset` may be an epoch time or a number of seconds; None when neither
    header gives a usable positive number.
    """
    for name in ("retry-after", "ratelimit-reset", "x-ratelimit-reset"):
        raw = next((v for k, v in headers.items() if k.lower() == name), None)
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        if value is None or value != value:  # NaN
            continue
        if value > 1e9:        # an epoch timestamp
            value -= now
        if value > 0:
            return min(value, 3600.0)
    return None
