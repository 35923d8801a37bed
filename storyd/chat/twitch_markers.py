"""Twitch stream markers: one per aired chapter, through Helix `POST /streams/markers`.

Theory of operation: `StreamMarkers.mark(description)` is called (in a task of its own) when
a chapter goes on air. With `[chat.twitch] markers` on, a channel and a user token
(`oauth_token_env`, the chat token; it needs the `channel:manage:broadcast` scope) it:
1. validates the token once (`GET {auth_url}/validate`, `Authorization: OAuth …`): the
   answer names the token's Client-Id (Helix wants it on every call), user and scopes;
2. finds the broadcaster's user id: the token's own when it belongs to the channel, else
   `GET {helix_url}/users?login=<channel>` (a moderator's or editor's token);
3. posts `{"user_id", "description"}` (≤ 140 characters) and reads `position_seconds`.

Twitch creates a marker only while the broadcaster is live; otherwise it answers 404 and
nothing is marked ("only while live"). Refusals never reach the show: each kind is logged
once (until a marker works again). 401 (token invalid or expired, or missing the scope) and
403 (not the broadcaster or an editor) stop markers until the token changes (a config
reload or a new environment); 429 waits until `Ratelimit-Reset` (epoch seconds); 5xx,
timeouts and network errors drop that one marker. Nothing here raises.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from storyd.config.masking import resolve_secret
from storyd.config.structs import TwitchConfig

log = logging.getLogger(__name__)

SCOPE = "channel:manage:broadcast"
MAX_DESCRIPTION = 140
TIMEOUT = 5.0


class Marker(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    position_seconds: int
    description: str


class _Identity(msgspec.Struct, frozen=True):
    token_key: str
    client_id: str
    broadcaster_id: str


def description_of(title: str) -> str:
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in title).split())
    return flat if len(flat) <= MAX_DESCRIPTION else flat[:MAX_DESCRIPTION - 1].rstrip() + "…"


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200]
    return str(data.get("message") or data.get("error") or "")[:200] if isinstance(
        data, dict) else str(data)[:200]


class StreamMarkers:
    def __init__(self, settings: Callable[[], TwitchConfig], *,
                 clock: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings, self._clock, self._transport = settings, clock, transport
        self._identity: _Identity | None = None
        self._stopped_for: str | None = None      # token key markers stopped for (401/403)
        self._retry_at = 0.0                      # 429: not before this epoch second
        self._logged: set[str] = set()
        self.created: list[Marker] = []           # this run's markers, oldest first

    def _once(self, kind: str, level: int, message: str, *args: Any) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            log.log(level, "Twitch stream markers: " + message, *args)

    def _token(self, cfg: TwitchConfig) -> str:
        return resolve_secret("", cfg.oauth_token_env).strip().removeprefix("oauth:")

    async def mark(self, title: str) -> Marker | None:
        """A marker at the current point of the live stream, or None (see the module doc)."""
        cfg = self._settings()
        token = self._token(cfg)
        if not (cfg.markers and cfg.channel and token):
            return None
        key = hashlib.sha256(token.encode()).hexdigest()[:16]
        if self._stopped_for == key:
            return None
        if self._clock() < self._retry_at:
            self._once("wait", logging.INFO, "rate-limited; none until %s",
                       time.strftime("%H:%M:%S", time.localtime(self._retry_at)))
            return None
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport) as http:
                ident = await self._identify(http, cfg, token, key)
                if ident is None:
                    return None
                return await self._post(http, cfg, token, ident, description_of(title))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as exc:
            self._once("error", logging.WARNING, "a marker failed (%s: %s); the show goes on",
                       type(exc).__name__, str(exc)[:200])
            return None

    def _stop(self, key: str, kind: str, message: str) -> None:
        self._stopped_for, self._identity = key, None
        self._once(kind, logging.ERROR, "%s; no markers until the token changes", message)

    async def _identify(self, http: httpx.AsyncClient, cfg: TwitchConfig, token: str,
                        key: str) -> _Identity | None:
        if self._identity is not None and self._identity.token_key == key:
            return self._identity
        resp = await http.get(f"{cfg.auth_url.rstrip('/')}/validate",
                              headers={"Authorization": f"OAuth {token}"})
        if resp.status_code == 401:
            self._stop(key, "auth", "the token is invalid or expired (Twitch: "
                       f"{_message(resp)!r})")
            return None
        resp.raise_for_status()
        info = resp.json()
        if SCOPE not in (info.get("scopes") or []):
            self._stop(key, "scope", f"the token lacks the {SCOPE} scope")
            return None
        channel = cfg.channel.lower().lstrip("#")
        broadcaster = str(info.get("user_id") or "")
        if str(info.get("login") or "").lower() != channel:
            users = await http.get(f"{cfg.helix_url.rstrip('/')}/users",
                                   params={"login": channel},
                                   headers=self._headers(token, str(info["client_id"])))
            if users.status_code == 401:
                self._stop(key, "auth", f"Twitch refused the token ({_message(users)!r})")
                return None
            users.raise_for_status()
            found = users.json().get("data") or []
            if not found:
                self._stop(key, "channel", f"no Twitch user {channel!r}")
                return None
            broadcaster = str(found[0]["id"])
        self._identity = _Identity(key, str(info["client_id"]), broadcaster)
        return self._identity

    @staticmethod
    def _headers(token: str, client_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Client-Id": client_id}

    async def _post(self, http: httpx.AsyncClient, cfg: TwitchConfig, token: str,
                    ident: _Identity, description: str) -> Marker | None:
        resp = await http.post(f"{cfg.helix_url.rstrip('/')}/streams/markers",
                               headers=self._headers(token, ident.client_id),
                               json={"user_id": ident.broadcaster_id,
                                     "description": description})
        status = resp.status_code
        if status == 200:
            item = resp.json()["data"][0]
            marker = Marker(id=str(item["id"]), position_seconds=int(item["position_seconds"]),
                            description=str(item.get("description", description)))
            self.created.append(marker)
            self._logged.clear()                     # a later refusal is news again
            log.info("Twitch stream marker at %d s: %s", marker.position_seconds, description)
            return marker
        if status == 404:
            self._once("offline", logging.INFO, "the channel is not live (%s); markers "
                       "start when it is", _message(resp))
        elif status == 401:
            self._stop(ident.token_key, "auth", f"Twitch refused the token ({_message(resp)!r})")
        elif status == 403:
            self._stop(ident.token_key, "forbidden", "the token's user is neither the "
                       f"broadcaster nor an editor ({_message(resp)!r})")
        elif status == 429:
            try:
                self._retry_at = float(resp.headers.get("Ratelimit-Reset", ""))
            except ValueError:
                self._retry_at = self._clock() + 60
            self._once("ratelimit", logging.WARNING, "rate-limited by Twitch until %s",
                       time.strftime("%H:%M:%S", time.localtime(self._retry_at)))
        else:
            self._once(f"http{status}", logging.WARNING, "Twitch answered %d (%s)", status,
                       _message(resp))
        return None
