"""Pure rules of the Twitch chat source: chat lines to storyd values, announcements, limits.

Nothing here does I/O or reads a clock (time comes in as `now`). The service shell is
storyd/chat/twitch.py; the IRC grammar is storyd/core/irc.py.

- A viewer is `twitch:<user-id>` (the stable numeric id from the `user-id` tag; without tags
  `twitch:login:<nick>`), so a viewer on TikTok and Twitch is two viewers; the vote core's key
  is `viewer_key("twitch", user-id)`.
- PRIVMSG and USERNOTICE (resubs, raids and other announcements) with a message count like
  chat. CLEARMSG (one message deleted), CLEARCHAT with a login (ban or timeout) and CLEARCHAT
  without one (the chat cleared) become Moderation values for the vote core.
- A cheer's leading cheermotes ("Cheer100 !b") are cut from the text so the vote behind them
  counts; the bits travel as a GiftMessage (platform "twitch": weighed by `bits_per_vote`).
- Announcements are one line, control characters removed, at most ANNOUNCE_MAX characters;
  `SendLimiter` keeps to Twitch's 20 messages per 30 s for a normal account.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any

import msgspec

from storyd.core.irc import IrcMessage, privmsg_text
from storyd.core.model import (
    CHOICE_KEYS,
    ChatMessage,
    GiftMessage,
    Moderation,
    ViewerKey,
    viewer_key,
)

PLATFORM = "twitch"
MAX_TEXT = 500
MAX_NAME = 64
MAX_BITS = 1_000_000
ANNOUNCE_MAX = 450                  # Twitch allows 500 characters per chat message
SEND_LIMIT, SEND_WINDOW = 20, 30.0  # messages per seconds (normal accounts)
_CHEERMOTE = re.compile(r"^(?:[A-Za-z]+\d+\s+)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class Chat(msgspec.Struct, frozen=True):
    """A PRIVMSG turned into storyd values: the message and, for a cheer, its bits."""

    message: ChatMessage
    gift: GiftMessage | None


def _clean(text: str, limit: int) -> str:
    return _CONTROL.sub(" ", text).strip()[:limit]


def _viewer(tags: dict[str, str], uid_tag: str, nick: str) -> tuple[str, ViewerKey] | None:
    uid = tags.get(uid_tag, "")
    if uid.isascii() and uid.isdigit() and len(uid) <= 20:
        return f"{PLATFORM}:{uid}", viewer_key(PLATFORM, uid)
    if nick:
        viewer = f"{PLATFORM}:login:{nick.lower()[:MAX_NAME]}"
        return viewer, viewer
    return None


def chat_of(msg: IrcMessage, channel: str) -> Chat | None:
    """The Chat of a PRIVMSG (or a USERNOTICE that carries a viewer's message) to
    `#channel`, or None when it is not one or is unusable."""
    if msg.command not in ("PRIVMSG", "USERNOTICE") or len(msg.params) < 2:
        return None
    if msg.params[0].lower() != "#" + channel:
        return None
    tags = msg.tags
    nick = msg.nick if msg.command == "PRIVMSG" else tags.get("login", "")
    who = _viewer(tags, "user-id", nick)
    if who is None:
        return None
    viewer, key = who
    text = privmsg_text(msg) if msg.command == "PRIVMSG" else msg.params[1]
    bits = tags.get("bits", "")
    amount = min(int(bits), MAX_BITS) if bits.isascii() and bits.isdigit() else 0
    if amount:
        text = _CHEERMOTE.sub("", text)
    text = text.strip()[:MAX_TEXT]
    name = _clean(tags.get("display-name", ""), MAX_NAME) or nick[:MAX_NAME] or viewer
    mid = tags.get("id", "")
    msg_id = f"{PLATFORM}:{mid[:128]}" if mid else ""
    message = ChatMessage(platform=PLATFORM, user_id=viewer, name=name, text=text,
                          msg_id=msg_id, key=key)
    gift = (GiftMessage(platform=PLATFORM, user_id=viewer, name=name, diamonds=amount,
                        msg_id=msg_id) if amount else None)
    return Chat(message, gift)


def moderation_of(msg: IrcMessage, channel: str) -> Moderation | None:
    """The Moderation of a CLEARMSG or CLEARCHAT in `#channel`, else None."""
    if msg.command not in ("CLEARMSG", "CLEARCHAT") or not msg.params:
        return None
    if msg.params[0].lower() != "#" + channel:
        return None
    tags = msg.tags
    if msg.command == "CLEARMSG":
        mid = tags.get("target-msg-id", "")
        if not mid:
            return None
        return Moderation(platform=PLATFORM, kind="message", msg_id=f"{PLATFORM}:{mid[:128]}")
    login = msg.params[1].strip() if len(msg.params) > 1 else ""
    if not login:
        return Moderation(platform=PLATFORM, kind="chat")
    who = _viewer(tags, "target-user-id", login)
    if who is None:     # pragma: no cover - a login always names someone
        return None
    return Moderation(platform=PLATFORM, kind="viewer", user_id=who[0], key=who[1])


def is_auth_failure(msg: IrcMessage) -> bool:
    """Twitch's NOTICE for a bad or expired token (the server closes right after)."""
    if msg.command != "NOTICE":
        return False
    text = msg.param(-1).lower()
    return "authentication failed" in text or "improperly formatted auth" in text


def _event_parts(event: Any) -> tuple[str, Mapping[str, Any]] | None:
    """(name, data) of a bus event: a typed struct of storyd.core.events (tagged by name,
    payload in `data`), or its wire form {"event", "data"}. The one place that knows."""
    if isinstance(event, Mapping):
        name, data = event.get("event"), event.get("data")
    elif isinstance(event, tuple) and len(event) == 2:
        name, data = event
    elif isinstance(event, msgspec.Struct):   # a typed event of storyd.core.events
        tag = type(event).__struct_config__.tag
        name, data = (tag if isinstance(tag, str) else None), getattr(event, "data", None)
    else:
        return None
    if isinstance(data, msgspec.Struct):
        data = msgspec.to_builtins(data)
    if not isinstance(name, str) or not isinstance(data, Mapping):
        return None
    return name, data


def announcement(event: Any) -> str | None:
    """The chat line for a vote opening or closing, or None for every other event."""
    parts = _event_parts(event)
    if parts is None:
        return None
    name, data = parts
    try:
        if name == "story:voting-started":
            if data.get("extended"):
                return None
            choices = [f"!{c['key']} {_clean(str(c['text']), 80)}"
                       for c in data.get("choices", ()) if isinstance(c, Mapping)]
            if not choices:
                return None
            secs = int(data.get("duration_ms", 0)) // 1000
            line = "Vote now: " + " · ".join(choices) + (f" ({secs} s)" if secs > 0 else "")
        elif name == "story:voting-ended":
            winner = int(data["winner"])
            key = str(data.get("winner_key") or CHOICE_KEYS[winner]).upper()
            counts = list(data.get("counts") or [])
            votes = counts[winner] if 0 <= winner < len(counts) else None
            line = f"{key} wins: {_clean(str(data.get('winner_text', '')), 200)}"
            if votes is not None:
                line += f" ({votes} vote{'s' if votes != 1 else ''})"
        else:
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return _clean(line, ANNOUNCE_MAX) or None


class SendLimiter:
    """At most `limit` sends in any `window` seconds (a sliding log of send times)."""

    def __init__(self, limit: int = SEND_LIMIT, window: float = SEND_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more send is allowed (0: now)."""
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            return 0.0
        return self._sent[0] + self.window - now

    def record(self, now: float) -> None:
        self._sent.append(now)
