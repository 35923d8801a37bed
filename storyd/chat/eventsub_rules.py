"""Pure rules of Twitch EventSub over a websocket, for channel points votes.

Nothing here does I/O or reads a clock; the service shell is storyd/chat/eventsub.py.

What Twitch sends (its EventSub websocket reference): every message is one JSON text frame
`{"metadata": {"message_id", "message_type", "message_timestamp", ...}, "payload": {...}}`.
- `session_welcome` first: `payload.session` {id, status "connected",
  keepalive_timeout_seconds, reconnect_url null, connected_at}; subscribe with that id within
  the keepalive window, or the socket is closed (4003).
- `session_keepalive` when nothing else was sent for keepalive_timeout_seconds.
- `notification`: `metadata.subscription_type`, `payload.subscription`, `payload.event`; for
  `channel.channel_points_custom_reward_redemption.add` the event holds the redemption `id`,
  `user_id`, `user_login`, `user_name`, `user_input`, `status`, `reward` {id, title, cost,
  prompt}, `redeemed_at`.
- `session_reconnect`: `payload.session.reconnect_url`, to be connected to as it is; the
  subscriptions move along, and the old socket closes once the new one is welcomed.
- `revocation`: `payload.subscription.status` says why (authorization_revoked,
  user_removed, version_removed); no more events for it.
Delivery is at least once (a resent message keeps its message_id); a client must send
nothing but Pong frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

SUBSCRIPTION = "channel.channel_points_custom_reward_redemption.add"
SCOPE = "channel:read:redemptions"
MAX_FRAME = 512 * 1024        # bytes of one message; Twitch's are a few KiB
MAX_NAME = 64
MAX_INPUT = 200

Kind = Literal["welcome", "keepalive", "notification", "reconnect", "revocation", "unknown",
               "bad"]


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """One message from EventSub, as far as storyd needs it."""

    kind: Kind
    message_id: str = ""
    message_type: str = ""        # as sent (what an unknown kind was called)
    session_id: str = ""
    keepalive: int | None = None  # welcome: seconds of silence before a keepalive
    reconnect_url: str = ""
    subscription_type: str = ""
    subscription_status: str = ""  # revocation: why
    event: dict[str, Any] = {}
    problem: str = ""             # bad: what was wrong


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    """A viewer redeemed a custom reward."""

    id: str
    viewer_id: str                # twitch:<user-id>, the same viewer as in chat
    name: str
    user_input: str
    reward_title: str
    broadcaster_id: str


_decode = msgspec.json.Decoder()


def _text(value: Any, limit: int = 256) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_frame(raw: str | bytes) -> Frame:
    """The Frame of one websocket message; kind "bad" for anything that is not an EventSub
    message (never raises)."""
    try:
        data = _decode.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return Frame(kind="bad", problem=f"not JSON: {str(exc)[:80]}")
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return Frame(kind="bad", problem="no metadata object")
    meta, payload = _object(data["metadata"]), _object(data.get("payload"))
    mtype, mid = _text(meta.get("message_type"), 64), _text(meta.get("message_id"))
    session, subscription = _object(payload.get("session")), _object(payload.get("subscription"))
    if mtype == "session_welcome":
        keepalive = session.get("keepalive_timeout_seconds")
        sid = _text(session.get("id"))
        if not sid:
            return Frame(kind="bad", message_id=mid, message_type=mtype,
                         problem="a welcome without a session id")
        return Frame(kind="welcome", message_id=mid, message_type=mtype, session_id=sid,
                     keepalive=keepalive if type(keepalive) is int and keepalive > 0 else None)
    if mtype == "session_keepalive":
        return Frame(kind="keepalive", message_id=mid, message_type=mtype)
    if mtype == "session_reconnect":
        url = _text(session.get("reconnect_url"), 2048)
        if not url.startswith(("wss://", "ws://")):
            return Frame(kind="bad", message_id=mid, message_type=mtype,
                         problem="a reconnect without a websocket URL")
        return Frame(kind="reconnect", message_id=mid, message_type=mtype,
                     session_id=_text(session.get("id")), reconnect_url=url)
    if mtype == "notification":
        return Frame(kind="notification", message_id=mid, message_type=mtype,
                     subscription_type=_text(meta.get("subscription_type"), 128)
                     or _text(subscription.get("type"), 128),
                     event=_object(payload.get("event")))
    if mtype == "revocation":
        return Frame(kind="revocation", message_id=mid, message_type=mtype,
                     subscription_type=_text(subscription.get("type"), 128),
                     subscription_status=_text(subscription.get("status"), 64))
    return Frame(kind="unknown", message_id=mid, message_type=mtype)


def redemption_of(event: Mapping[str, Any]) -> Redemption | None:
    """The redemption in a notification's event, or None when it is unusable."""
    uid, rid = _text(event.get("user_id"), 32), _text(event.get("id"), 128)
    reward = _object(event.get("reward"))
    if not (uid.isascii() and uid.isdigit() and rid):
        return None
    name = " ".join(_text(event.get("user_name"), MAX_NAME).split()) or _text(
        event.get("user_login"), MAX_NAME) or uid
    return Redemption(id=rid, viewer_id=f"twitch:{uid}", name=name,
                      user_input=" ".join(_text(event.get("user_input"), MAX_INPUT).split()),
                      reward_title=" ".join(_text(reward.get("title"), 128).split()),
                      broadcaster_id=_text(event.get("broadcaster_user_id"), 32))


def same_title(a: str, b: str) -> bool:
    """Reward titles compare without case and extra spaces."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split()) != ""


def with_keepalive(url: str, seconds: int) -> str:
    """The EventSub URL asking for a keepalive window of `seconds` (10–600), unless the URL
    already asks for one."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "keepalive_timeout_seconds" for k, _ in query):
        return url
    query.append(("keepalive_timeout_seconds", str(min(max(int(seconds), 10), 600))))
    return urlunsplit(parts._replace(query=urlencode(query)))


def subscription_body(broadcaster_id: str, session_id: str) -> dict[str, Any]:
    """The Helix `POST /eventsub/subscriptions` body for channel points redemptions."""
    return {"type": SUBSCRIPTION, "version": "1",
            "condition": {"broadcaster_user_id": broadcaster_id},
            "transport": {"method": "websocket", "session_id": session_id}}


Answer = Literal["ok", "auth", "forbidden", "gone", "rate", "retry", "refused"]


def helix_answer(status: int, message: str) -> Answer:
    """What a Helix answer to the subscription request means for the source: 202 (and 409,
    "already subscribed") ok; 401 a bad or expired token; 403 a token without the scope or
    not the broadcaster's; 400 about the session: the socket is gone; 429 wait; 5xx retry."""
    if status in (200, 202, 409):
        return "ok"
    if status == 401:
        return "auth"
    if status == 403:
        return "forbidden"
    if status == 429:
        return "rate"
    if status >= 500:
        return "retry"
    if status == 400 and "session" in message.casefold():
        return "gone"
    return "refused"


def token_problem(info: Mapping[str, Any], channel: str) -> str | None:
    """What is wrong with a validated token for channel points votes, or None."""
    scopes = info.get("scopes")
    scopes = scopes if isinstance(scopes, list) else []
    if SCOPE not in scopes:
        return f"the token lacks the {SCOPE} scope (make a new one that includes it)"
    login = _text(info.get("login"), 64).casefold()
    if channel and login and login != channel.casefold().lstrip("#"):
        return (f"the token belongs to {login!r}, but channel points need the broadcaster's "
                f"own token ({channel!r})")
    if not _text(info.get("user_id"), 32) or not _text(info.get("client_id"), 64):
        return "Twitch's token validation named no user or Client-Id"
    return None
