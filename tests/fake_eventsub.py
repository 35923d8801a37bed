"""A loopback fake of Twitch EventSub's websocket transport and the Helix calls it needs.

Written from Twitch's documentation — "Handling WebSocket Events", the "WebSocket Messages"
reference, "Create EventSub Subscription", "Validating tokens", the channel points reference
(dev.twitch.tv/docs/…) — and the behaviour of Twitch's own mock server (twitch-cli), not from
storyd's client:

WebSocket (`ws://…/ws`):
- the first message is `session_welcome`; `keepalive_timeout_seconds` is the query's value
  clamped to 10–600 (10 when absent); a client that has not subscribed within that window
  after the welcome is closed with 4003 "connection unused";
- `session_keepalive` after every `keepalive` seconds without another message;
- pings every few seconds (the client must answer with pongs); any text or binary message
  from the client is closed with 4001 "sent inbound traffic" and recorded in `inbound`;
- `reconnect()` sends `session_reconnect` with a `reconnect_url` (`/ws?reconnect_id=…`); the
  connection made there is welcomed with the subscriptions of the old one, which is then
  closed with 4004 (`close_old_after` seconds later);
- notifications go to every connection whose session has a subscription of that type;
  `duplicate=True` sends one twice with the same message_id (Twitch delivers at least once).
Test controls: `welcome=False` (never welcomed), `send_unknown()`, `send_raw()`, `drop()`
(the TCP connection cut without a close frame), `close(code)`, `revoke()`.

Helix (HTTP, `http://…`):
- `GET /oauth2/validate` with `Authorization: OAuth <token>`: 200 {client_id, login, scopes,
  user_id, expires_in} or 401 {"status": 401, "message": "invalid access token"};
- `POST /helix/eventsub/subscriptions` with `Authorization: Bearer` and `Client-Id`: 202
  {"data": [{id, status "enabled", type, version, condition, created_at, transport
  {method, session_id, connected_at}, cost 0}], "total", "total_cost", "max_total_cost"};
  400 (bad body, unknown or disconnected session: "websocket transport session does not
  exist or has already disconnected"), 401 (token or Client-Id), 403 (missing scope / not the
  broadcaster: "subscription missing proper authorization"), 409 (the same subscription
  exists), 429 when `bucket` is empty. Errors are {"error", "status", "message"}.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from hypercorn.config import Config as HyperConfig
from hypercorn.trio import serve

from tests.asgi_fake import read_request

CLIENT_ID = "wbmytr93xzw8zbg0p1izqyzzc5mbiz"
REDEMPTION = "channel.channel_points_custom_reward_redemption.add"
_sessions = itertools.count(1)


def now_rfc3339() -> str:
    t = datetime.datetime.now(datetime.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}123Z"   # nanoseconds


def message(mtype: str, payload: dict[str, Any], *, message_id: str | None = None,
            subscription: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"message_id": message_id or str(uuid.uuid4()),
                            "message_type": mtype, "message_timestamp": now_rfc3339()}
    if subscription is not None:
        meta["subscription_type"] = subscription["type"]
        meta["subscription_version"] = subscription["version"]
    return {"metadata": meta, "payload": payload}


def redemption_event(broadcaster_id: str, user_id: str, user_name: str, user_input: str,
                     title: str, *, redemption_id: str | None = None) -> dict[str, Any]:
    """A `channel.channel_points_custom_reward_redemption.add` event as Twitch documents it."""
    return {"id": redemption_id or str(uuid.uuid4()), "broadcaster_user_id": broadcaster_id,
            "broadcaster_user_login": "storychannel", "broadcaster_user_name": "StoryChannel",
            "user_id": user_id, "user_login": user_name.lower(), "user_name": user_name,
            "user_input": user_input, "status": "unfulfilled",
            "reward": {"id": "92af127c-7326-4483-a52b-b0da0be61c01", "title": title,
                       "cost": 500, "prompt": "Type a, b or c"},
            "redeemed_at": now_rfc3339()}


@dataclass
class Session:
    id: str
    ws: trio_websocket.WebSocketConnection
    keepalive: int
    connected_at: str
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    closed: trio.Event = field(default_factory=trio.Event)
    close_code: int | None = None
    sent: int = 0
    last_sent: float = 0.0


class FakeEventSub:
    def __init__(self) -> None:
        # token -> (login, user_id, scopes)
        self.tokens: dict[str, tuple[str, str, tuple[str, ...]]] = {
            "goodtoken": ("storychannel", "141981764", ("channel:read:redemptions",
                                                        "chat:read")),
            "chatonly": ("storychannel", "141981764", ("chat:read",)),
            "fantoken": ("somefan", "777", ("channel:read:redemptions",)),
        }
        self.welcome = True
        self.duplicate = False
        self.close_old_after = 0.0
        self.bucket = 100
        # set: the subscription answer waits for it (Twitch may deliver an event on the
        # session before its Helix answer reaches the client)
        self.hold_subscribe_answer: trio.Event | None = None
        self.sessions: dict[str, Session] = {}
        self.connections: list[Session] = []          # every welcomed connection, in order
        self.attempts = 0                              # websocket connections accepted
        self.inbound: list[str | bytes] = []           # what clients sent (they must not)
        self.requests: list[tuple[str, str]] = []      # Helix (method, path)
        self.subscribe_bodies: list[dict[str, Any]] = []
        self.ws_url = self.http_url = ""
        self._changed = trio.Event()
        self._reconnects: dict[str, Session] = {}      # reconnect_id -> the old session
        self._shutdown = trio.Event()

    # -- start ----------------------------------------------------------------------------
    async def start(self, nursery: trio.Nursery) -> tuple[str, str]:
        server = await nursery.start(trio_websocket.serve_websocket, self._handler,
                                     "127.0.0.1", 0, None)
        self.ws_url = f"ws://127.0.0.1:{server.port}/ws"
        cfg = HyperConfig()
        cfg.bind = ["127.0.0.1:0"]
        cfg.accesslog = None
        binds = await nursery.start(lambda task_status: serve(
            self._http, cfg, shutdown_trigger=self._shutdown.wait, task_status=task_status))
        self.http_url = binds[0]
        return self.ws_url, self.http_url

    def _note(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Any) -> None:
        """Until `predicate()` holds (checked after every change the fake sees)."""
        while not predicate():
            await self._changed.wait()

    # -- websocket ------------------------------------------------------------------------
    async def _handler(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        self.attempts += 1
        self._note()
        query = parse_qs(urlsplit(request.path).query)
        try:
            keepalive = int(query.get("keepalive_timeout_seconds", ["10"])[0])
        except ValueError:
            keepalive = 10
        keepalive = min(max(keepalive, 10), 600)
        old = self._reconnects.pop(query.get("reconnect_id", [""])[0], None)
        session = Session(id=f"AQoQ{next(_sessions):04d}exAWVYKSTIu4ec_2VAxyuhAB", ws=ws,
                          keepalive=keepalive, connected_at=now_rfc3339(),
                          subscriptions=list(old.subscriptions) if old else [])
        if not self.welcome:
            with trio.move_on_after(3600):
                await self._read(session)
            return
        self.sessions[session.id] = session
        self.connections.append(session)
        await self._send(session, message("session_welcome", {"session": {
            "id": session.id, "status": "connected", "connected_at": session.connected_at,
            "keepalive_timeout_seconds": keepalive, "reconnect_url": None}}))
        self._note()
        if old is not None:
            async def retire() -> None:
                await trio.sleep(self.close_old_after)
                await self.close(old, 4004, "client reconnect grace time expired")
            async with trio.open_nursery() as n:
                n.start_soon(retire)
                await self._serve(session)
        else:
            await self._serve(session)

    async def _serve(self, s: Session) -> None:
        async with trio.open_nursery() as n:
            n.start_soon(self._keepalives, s)
            n.start_soon(self._pings, s)
            n.start_soon(self._unused, s)
            await self._read(s)
            n.cancel_scope.cancel()

    async def _read(self, s: Session) -> None:
        try:
            while True:
                got = await s.ws.get_message()
                self.inbound.append(got)
                self._note()
                await self.close(s, 4001, "sent inbound traffic")
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            s.closed.set()
            self.sessions.pop(s.id, None)
            self._note()

    async def _keepalives(self, s: Session) -> None:
        """A keepalive whenever nothing went out for a whole window since the last message."""
        while True:
            await trio.sleep_until(s.last_sent + s.keepalive)
            if trio.current_time() >= s.last_sent + s.keepalive:
                await self._send(s, message("session_keepalive", {}))

    async def _pings(self, s: Session) -> None:
        while True:
            await trio.sleep(5)
            try:
                with trio.fail_after(5):
                    await s.ws.ping()
            except trio.TooSlowError:
                await self.close(s, 4002, "failed ping pong")
                return
            except trio_websocket.ConnectionClosed:
                return

    async def _unused(self, s: Session) -> None:
        await trio.sleep(s.keepalive)
        if not s.subscriptions:
            await self.close(s, 4003, "connection unused")

    async def _send(self, s: Session, msg: dict[str, Any]) -> None:
        try:
            await s.ws.send_message(json.dumps(msg))
            s.sent, s.last_sent = s.sent + 1, trio.current_time()
        except trio_websocket.ConnectionClosed:
            pass

    async def close(self, s: Session, code: int, reason: str = "") -> None:
        s.close_code = code
        await s.ws.aclose(code, reason)
        self._note()

    # -- test controls --------------------------------------------------------------------
    def live(self) -> list[Session]:
        return [s for s in self.connections if not s.closed.is_set()]

    async def notify(self, event: dict[str, Any], *, message_id: str | None = None) -> int:
        """Send a redemption to every live session subscribed to it; how many got it."""
        sent = 0
        for s in self.live():
            for sub in s.subscriptions:
                if sub["type"] != REDEMPTION:
                    continue
                msg = message("notification", {"subscription": sub, "event": event},
                              message_id=message_id, subscription=sub)
                await self._send(s, msg)
                if self.duplicate:
                    await self._send(s, msg)
                sent += 1
        return sent

    async def send_raw(self, s: Session, text: str) -> None:
        await s.ws.send_message(text)
        s.sent, s.last_sent = s.sent + 1, trio.current_time()

    async def send_unknown(self, s: Session, mtype: str = "session_party") -> None:
        await self._send(s, message(mtype, {"balloons": 99}))

    async def reconnect(self, s: Session) -> None:
        """Twitch's maintenance: session_reconnect with a URL to move to."""
        rid = base64.b64encode(s.id.encode()).decode().rstrip("=")
        self._reconnects[rid] = s
        await self._send(s, message("session_reconnect", {"session": {
            "id": s.id, "status": "reconnecting", "keepalive_timeout_seconds": None,
            "reconnect_url": f"{self.ws_url}?reconnect_id={rid}",
            "connected_at": s.connected_at}}))

    async def revoke(self, s: Session, status: str = "authorization_revoked") -> None:
        for sub in s.subscriptions:
            await self._send(s, message("revocation", {"subscription": {
                **sub, "status": status}}, subscription=sub))
        s.subscriptions.clear()

    async def drop(self, s: Session) -> None:
        """The network fails: the TCP connection goes, no close frame."""
        await s.ws._close_stream()     # noqa: SLF001 - a fake cutting its own socket
        s.closed.set()
        self._note()

    # -- Helix ----------------------------------------------------------------------------
    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = await read_request(scope, receive, send)
        if request is None:
            return
        body, headers = request
        method, path = scope["method"], scope["path"]
        self.requests.append((method, path))
        self._note()
        if method == "GET" and path == "/oauth2/validate":
            status, answer = self._validate(headers)
        elif method == "POST" and path == "/helix/eventsub/subscriptions":
            status, answer = self._subscribe(headers, body)
            if self.hold_subscribe_answer is not None:
                await self.hold_subscribe_answer.wait()
        else:
            status, answer = 404, {"error": "Not Found", "status": 404, "message": ""}
        raw = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
            (b"ratelimit-limit", b"800"), (b"ratelimit-remaining", str(self.bucket).encode())]})
        await send({"type": "http.response.body", "body": raw})

    def _validate(self, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("OAuth ") if auth.startswith("OAuth ") else ""
        if token not in self.tokens:
            return 401, {"status": 401, "message": "invalid access token"}
        login, uid, scopes = self.tokens[token]
        return 200, {"client_id": CLIENT_ID, "login": login, "scopes": list(scopes),
                     "user_id": uid, "expires_in": 5520838}

    def _subscribe(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        def error(status: int, name: str, text: str) -> tuple[int, dict[str, Any]]:
            return status, {"error": name, "status": status, "message": text}

        if self.bucket <= 0:
            return error(429, "Too Many Requests", "")
        self.bucket -= 1
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        if token not in self.tokens or headers.get("client-id") != CLIENT_ID:
            return error(401, "Unauthorized", "Invalid OAuth token")
        try:
            req = json.loads(body)
            sub_type, version = req["type"], req["version"]
            broadcaster = req["condition"]["broadcaster_user_id"]
            transport = req["transport"]
        except (ValueError, KeyError, TypeError):
            return error(400, "Bad Request", "invalid request body")
        self.subscribe_bodies.append(req)
        if sub_type != REDEMPTION or version != "1" or transport.get("method") != "websocket":
            return error(400, "Bad Request", "unsupported subscription type or version")
        _login, uid, scopes = self.tokens[token]
        if "channel:read:redemptions" not in scopes or uid != broadcaster:
            return error(403, "Forbidden", "subscription missing proper authorization")
        session = self.sessions.get(str(transport.get("session_id")))
        if session is None:
            return error(400, "Bad Request", "websocket transport session does not exist or "
                                             "has already disconnected")
        if any(s["type"] == sub_type for s in session.subscriptions):
            return error(409, "Conflict", "subscription already exists")
        sub = {"id": str(uuid.uuid4()), "status": "enabled", "type": sub_type, "version": "1",
               "condition": {"broadcaster_user_id": broadcaster, "reward_id": ""},
               "created_at": now_rfc3339(),
               "transport": {"method": "websocket", "session_id": session.id,
                             "connected_at": session.connected_at}, "cost": 0}
        session.subscriptions.append(sub)
        self._note()
        return 202, {"data": [sub], "total": 1, "total_cost": 0, "max_total_cost": 10}
