"""A loopback fake of Twitch's token validation and the Helix calls stream markers need,
written from Twitch's API reference (dev.twitch.tv/docs/api/reference#create-stream-marker,
/docs/authentication/validate-tokens, /docs/api/guide#twitch-rate-limits).

- `GET /oauth2/validate` with `Authorization: OAuth <token>`: 200
  `{"client_id","login","scopes","user_id","expires_in"}` or 401
  `{"status": 401, "message": "invalid access token"}`.
- `GET /helix/users?login=`: `{"data": [{"id","login","display_name",…}]}`.
- `POST /helix/streams/markers` `{"user_id","description"}` with `Authorization: Bearer` and
  `Client-Id`: 200 `{"data": [{"id","created_at","position_seconds","description"}]}`;
  400 (no user_id, description over 140 characters), 401 (bad token, Client-Id not the
  token's, missing `channel:manage:broadcast`), 403 (the token's user is neither the
  broadcaster nor an editor), 404 (not live), 429 once the bucket is empty. Errors are
  `{"error","status","message"}`; every answer carries `Ratelimit-Limit`,
  `Ratelimit-Remaining` and `Ratelimit-Reset` (epoch seconds).

`live` switches the broadcast on and off; `markers` records the markers made, `requests`
every request; `bucket` is how many more requests the rate limit allows.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import trio
from hypercorn.config import Config as HyperConfig
from hypercorn.trio import serve

from tests.asgi_fake import read_request

CLIENT_ID = "wbmytr93xzw8zbg0p1izqyzzc5mbiz"


class FakeHelix:
    def __init__(self) -> None:
        # token -> (login, user_id, scopes)
        self.tokens: dict[str, tuple[str, str, tuple[str, ...]]] = {
            "goodtoken": ("storychannel", "141981764", ("chat:read", "chat:edit",
                                                        "channel:manage:broadcast")),
            "chatonly": ("storychannel", "141981764", ("chat:read", "chat:edit")),
            "editortoken": ("helperbot", "555", ("channel:manage:broadcast",)),
            "viewertoken": ("somefan", "777", ("channel:manage:broadcast",)),
        }
        self.users = {"storychannel": "141981764", "helperbot": "555", "somefan": "777"}
        self.editors = {"141981764": {"555"}}
        self.live = True
        self.bucket = 800
        self.reset_at = int(time.time()) + 60
        self.started = time.time() - 1234
        self.markers: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.base = ""
        self._answered = trio.Event()   # replaced after each answer
        self._shutdown = trio.Event()

    async def start(self, nursery: trio.Nursery) -> str:
        cfg = HyperConfig()
        cfg.bind = ["127.0.0.1:0"]
        cfg.accesslog = None
        binds = await nursery.start(lambda task_status: serve(
            self.app, cfg, shutdown_trigger=self._shutdown.wait, task_status=task_status))
        self.base = binds[0]
        return self.base

    def stop(self) -> None:
        self._shutdown.set()

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = await read_request(scope, receive, send)
        if request is None:
            return
        body, headers = request
        path, method = scope["path"], scope["method"]
        query = parse_qs(scope.get("query_string", b"").decode())
        self.requests.append((method, path))
        status, data = self._route(method, path, headers, query, body)
        await self._reply(send, status, data)
        self._answered.set()
        self._answered = trio.Event()

    async def wait_posts(self, n: int) -> None:
        """Until `n` marker requests have been answered (made or refused)."""
        while self.requests.count(("POST", "/helix/streams/markers")) < n:
            await self._answered.wait()

    def _route(self, method: str, path: str, headers: dict[str, str],
               query: dict[str, list[str]], body: bytes) -> tuple[int, dict[str, Any]]:
        if path == "/oauth2/validate":
            auth = headers.get("authorization", "")
            token = auth.removeprefix("OAuth ").removeprefix("Bearer ")
            if token not in self.tokens:
                return 401, {"status": 401, "message": "invalid access token"}
            login, uid, scopes = self.tokens[token]
            return 200, {"client_id": CLIENT_ID, "login": login, "scopes": list(scopes),
                         "user_id": uid, "expires_in": 5520838}
        if self.bucket <= 0:
            return 429, _error(429, "Too Many Requests", "Too Many Requests")
        self.bucket -= 1
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token not in self.tokens:
            return 401, _error(401, "Unauthorized", "Invalid OAuth token")
        if headers.get("client-id") != CLIENT_ID:
            return 401, _error(401, "Unauthorized", "Client ID and OAuth token do not match")
        login, uid, scopes = self.tokens[token]
        if path == "/helix/users" and method == "GET":
            logins = query.get("login", [login])
            return 200, {"data": [{"id": self.users[n], "login": n, "display_name": n.title(),
                                   "type": "", "broadcaster_type": "affiliate",
                                   "created_at": "2016-12-14T20:32:28Z"}
                                  for n in logins if n in self.users]}
        if path == "/helix/streams/markers" and method == "POST":
            if "channel:manage:broadcast" not in scopes:
                return 401, _error(401, "Unauthorized",
                                   "Missing scope: channel:manage:broadcast")
            try:
                data = json.loads(body)
            except ValueError:
                return 400, _error(400, "Bad Request", "Malformed request body")
            target = str(data.get("user_id") or "")
            if not target:
                return 400, _error(400, "Bad Request", "Missing required parameter \"user_id\"")
            if len(str(data.get("description", ""))) > 140:
                return 400, _error(400, "Bad Request", "The description is too long")
            if target != uid and uid not in self.editors.get(target, set()):
                return 403, _error(403, "Forbidden", "The user in the access token is not "
                                   "authorized to create stream markers for this broadcaster")
            if not self.live:
                return 404, _error(404, "Not Found", "The user in the user_id query "
                                   "parameter is not streaming live")
            marker = {"id": f"{len(self.markers) + 1:032x}",
                      "created_at": "2026-12-07T20:10:03.505877606Z",
                      "position_seconds": int(time.time() - self.started),
                      "description": data.get("description", "")}
            self.markers.append(marker)
            return 200, {"data": [marker]}
        return 404, _error(404, "Not Found", "")

    async def _reply(self, send: Any, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"ratelimit-limit", b"800"),
            (b"ratelimit-remaining", str(max(0, self.bucket)).encode()),
            (b"ratelimit-reset", str(self.reset_at).encode())]})
        await send({"type": "http.response.body", "body": body})


def _error(status: int, error: str, message: str) -> dict[str, Any]:
    return {"error": error, "status": status, "message": message}
