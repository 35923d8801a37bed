"""One TikTokLive connection attempt, run on its own asyncio loop in a worker thread.

Theory of operation: `ConnectionAttempt.run_blocking()` is what the trio side hands to
`trio.to_thread.run_sync`. It builds a fresh `TikTokLiveClient`, calls `start()` under the
connect deadline, awaits the websocket task and always returns an `Outcome` (never raises).
Event handlers are tiny: they turn a TikTokLive event into a storyd value and hand it to
`post` (thread-safe, never blocks) and return; they cannot raise. `cancel(reason)` may be
called from any thread at any time, before, during or after the run; the first reason wins.
The trio side reads `activity` and `connected` (plain attributes written by this thread) to
detect stalls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from storyd.chat.tiktok_rules import comment_message, deletions, rate_limit_delay, viewer_id
from storyd.config.structs import TikTokConfig
from storyd.core.model import ChatMessage, Moderation

if TYPE_CHECKING:   # TikTokLive is imported in the worker thread only (slow to import)
    from TikTokLive import TikTokLiveClient
    from TikTokLive.events import (
        CommentEvent,
        ConnectEvent,
        GiftEvent,
        ImDeleteEvent,
        JoinEvent,
        LikeEvent,
        LiveEndEvent,
        WebsocketResponseEvent,
    )

log = logging.getLogger(__name__)


class GiftEventData(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a TikTok gift event the streak tracker needs."""

    user_id: str
    gift_id: str
    name: str
    repeat: int
    diamonds: int
    streaking: bool
    msg_id: str = ""


class ActivityEventData(msgspec.Struct, frozen=True, kw_only=True):
    """A like (count taps) or a join of one viewer: viewer stats only, never a ballot."""

    user_id: str
    name: str
    likes: int = 0
    joins: int = 0
    msg_id: str = ""


class Outcome(msgspec.Struct, kw_only=True):
    """How one attempt ended. `kind` is one of: stopped, stall, timeout, live_end, closed,
    closed_error, offline, rate_limited, fatal, error."""

    kind: str
    detail: str = ""
    retry_after: float | None = None
    connected_for: float = 0.0     # seconds the push connection was up (0: never)


Item = ChatMessage | GiftEventData | ActivityEventData | Moderation
Post = Callable[[Item], None]
Signal = Callable[[str, int], None]


def prime_event_metadata() -> None:
    """Work around the TikTokLive metadata-order bug (REFERENCE §3).

    betterproto2 builds a class's field metadata lazily and looks it up as a class attribute,
    so once `WebcastChatMessage` (e.g. inside a pinned-message frame) has its metadata,
    `CommentEvent` inherits it and decodes `user` as a plain `User`. Giving each event class
    its own metadata up front keeps `ExtendedUser`; handlers read only id/display_id/nickname
    anyway, so a version without this hook still works.
    """
    from TikTokLive.events import CommentEvent, GiftEvent, JoinEvent, LikeEvent

    try:
        from betterproto2 import ProtoClassMetadata
    except ImportError:
        return
    for cls in (CommentEvent, GiftEvent, LikeEvent, JoinEvent):
        if "_betterproto_meta" not in vars(cls):
            try:
                cls._betterproto_meta = ProtoClassMetadata(cls)
            except Exception:  # noqa: BLE001 - the defensive field reads still apply
                log.debug("could not prime %s metadata", cls.__name__, exc_info=True)


def classify(ex: BaseException, sign_status: int | None, sign_headers: dict[str, str],
             now: float) -> Outcome:
    """Translate a failed `start()`/websocket into an Outcome (pure apart from isinstance)."""
    from TikTokLive.client.errors import (
        AgeRestrictedError,
        PremiumEndpointError,
        SignAPIError,
        UserNotFoundError,
        UserOfflineError,
        WebcastBlockedError,
    )
    from websockets.exceptions import ConnectionClosed

    text = (str(ex).strip().splitlines() or [type(ex).__name__])[0][:200]
    reason = getattr(ex, "reason", None)
    if isinstance(ex, UserOfflineError):
        return Outcome(kind="offline", detail="the account is not live")
    if sign_status == 429 or reason == SignAPIError.ErrorReason.RATE_LIMIT:
        after = rate_limit_delay(sign_headers, now)
        if after is None:   # TikTokLive reads RateLimit-Remaining as "seconds to wait"
            try:
                after = float(getattr(ex, "retry_after", None) or 0) or None
            except (TypeError, ValueError):
                after = None
        return Outcome(kind="rate_limited", retry_after=after,
                       detail="the sign server rate-limited us (too many connects)")
    if isinstance(ex, (UserNotFoundError, AgeRestrictedError, PremiumEndpointError,
                       WebcastBlockedError)) or sign_status in (401, 403):
        return Outcome(kind="fatal", detail=f"{type(ex).__name__}: {text}")
    if isinstance(ex, SignAPIError):
        if reason == SignAPIError.ErrorReason.CONNECT_ERROR:
            return Outcome(kind="error", detail="cannot reach the sign server")
        return Outcome(kind="error", detail=f"sign server: {text}")
    if isinstance(ex, ConnectionClosed):
        code = getattr(getattr(ex, "rcvd", None), "code", None)
        return Outcome(kind="closed_error", detail=f"push connection closed abnormally ({code})")
    if isinstance(ex, httpx.HTTPError | OSError):
        return Outcome(kind="error", detail=f"network: {type(ex).__name__}: {text}")
    return Outcome(kind="error", detail=f"{type(ex).__name__}: {text}")


def _user_fields(ev: object, attr: str = "user") -> tuple[object, str]:
    """(user id, name) read defensively: works for ExtendedUser and plain User alike."""
    user = getattr(ev, attr, None)
    handle = getattr(user, "display_id", "") or getattr(user, "nickname", "")
    return getattr(user, "id", None), handle if isinstance(handle, str) else ""


def _msg_id(ev: object) -> str:
    mid = getattr(getattr(ev, "common", None), "msg_id", 0)
    return str(mid) if mid else ""


class ConnectionAttempt:
    """One connection to one room; see the module docstring for the threading contract."""

    def __init__(self, cfg: TikTokConfig, *, sign_key: str, room_id: int | None,
                 post: Post, signal: Signal, clock: Callable[[], float]) -> None:
        self.cfg = cfg
        self.sign_key = sign_key
        self.room_id = room_id
        self._post = post
        self._signal = signal
        self._clock = clock
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stop_reason = ""
        self.activity = 0            # websocket messages seen (stall detection)
        self.connected = False
        self.live_ended = False
        self.likes = 0
        self.joins = 0
        self.sign_status: int | None = None
        self.sign_headers: dict[str, str] = {}

    # -- any thread ---------------------------------------------------------------------
    def cancel(self, reason: str) -> None:
        """Stop the attempt soon (thread-safe, idempotent; the first reason is kept)."""
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:   # the loop is already closed: nothing left to stop
                pass

    def run_blocking(self) -> Outcome:
        """Run the attempt on a private event loop; returns when it is over.

        TikTokLive is imported here, in the worker thread, on the first attempt: importing it
        takes seconds on a busy machine and must not hold up the trio loop (or READY).
        """
        with self._lock:
            if self._stop_reason:
                return Outcome(kind=self._stop_reason)
        try:
            prime_event_metadata()
        except Exception as ex:  # noqa: BLE001 - e.g. TikTokLive missing or broken
            return Outcome(kind="fatal", detail=f"cannot load TikTokLive: {ex}"[:200])
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(self._main())
        finally:
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in leftovers:
                t.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()   # the default executor is shut down without waiting

    # -- the asyncio thread -------------------------------------------------------------
    async def _main(self) -> Outcome:
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            if self._stop_reason:
                return Outcome(kind=self._stop_reason)
        client = self._make_client()
        ws_task: asyncio.Task[Any] | None = None
        up_since: float | None = None
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):
                ws_task = await client.start(room_id=self.room_id,
                                             fetch_live_check=self.room_id is None)
            up_since = time.monotonic()
            await ws_task
            outcome = (Outcome(kind="live_end", detail="the stream ended") if self.live_ended
                       else Outcome(kind="closed", detail="TikTok closed the connection"))
        except asyncio.CancelledError:
            outcome = Outcome(kind=self._stop_reason or "stopped")
        except TimeoutError:
            outcome = Outcome(kind="timeout", detail=(
                f"no connection within {self.cfg.connect_timeout:g} s "
                "(sign server or TikTok did not answer)"))
        except Exception as ex:  # noqa: BLE001 - every failure becomes an Outcome
            outcome = classify(ex, self.sign_status, self.sign_headers, self._clock())
        finally:
            await self._close(client, ws_task)
        if up_since is not None:
            outcome.connected_for = time.monotonic() - up_since
        return outcome

    def _make_client(self) -> TikTokLiveClient:
        from pyee.asyncio import AsyncIOEventEmitter
        from TikTokLive import TikTokLiveClient
        from TikTokLive.events import (
            CommentEvent,
            ConnectEvent,
            GiftEvent,
            ImDeleteEvent,
            JoinEvent,
            LikeEvent,
            LiveEndEvent,
            WebsocketResponseEvent,
        )

        signer: dict[str, str] = {}
        if self.sign_key:
            signer["sign_api_key"] = self.sign_key
        if self.cfg.sign_api_url:
            signer["sign_api_base"] = self.cfg.sign_api_url
        proxy = httpx.Proxy(self.cfg.proxy) if self.cfg.proxy else None
        client = TikTokLiveClient(self.cfg.unique_id or "storyd", web_proxy=proxy, ws_proxy=proxy,
                                  web_kwargs={"signer_kwargs": signer},
                                  ws_kwargs={"close_timeout": 1.0})
        sign_http = client.web.signer.sdk_client.get_async_httpx_client()
        sign_http.event_hooks["response"].append(self._on_sign_response)
        AsyncIOEventEmitter.add_listener(client, "error", self._on_error)
        client.add_listener(ConnectEvent, self._on_connect)
        client.add_listener(WebsocketResponseEvent, self._on_response)
        client.add_listener(CommentEvent, self._on_comment)
        client.add_listener(GiftEvent, self._on_gift)
        client.add_listener(LikeEvent, self._on_like)
        client.add_listener(JoinEvent, self._on_join)
        client.add_listener(LiveEndEvent, self._on_live_end)
        client.add_listener(ImDeleteEvent, self._on_delete)
        return client

    async def _close(self, client: TikTokLiveClient, ws_task: asyncio.Task[Any] | None) -> None:
        try:
            async with asyncio.timeout(2.0):
                if ws_task is not None and not ws_task.done():
                    ws_task.cancel()
                    await asyncio.gather(ws_task, return_exceptions=True)
                await client.web.close()
                await client.web.signer.sdk_client.get_async_httpx_client().aclose()
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - cleanup is best effort
            log.debug("closing the TikTok client failed", exc_info=True)

    # -- handlers: tiny, never raise ----------------------------------------------------
    async def _on_sign_response(self, response: httpx.Response) -> None:
        self.sign_status = response.status_code
        self.sign_headers = dict(response.headers)

    def _on_error(self, ex: BaseException) -> None:
        log.debug("TikTokLive handler error: %r", ex)

    def _on_connect(self, ev: ConnectEvent) -> None:
        self.connected = True
        self.activity += 1
        try:
            self._signal("connected", int(getattr(ev, "room_id", 0) or 0))
        except Exception:  # noqa: BLE001
            log.debug("connect signal failed", exc_info=True)

    def _on_response(self, ev: WebsocketResponseEvent) -> None:
        self.activity += 1

    def _on_comment(self, ev: CommentEvent) -> None:
        try:
            uid, name = _user_fields(ev)
            nickname = getattr(getattr(ev, "user", None), "nickname", "")
            msg = comment_message(uid, name, nickname, getattr(ev, "content", ""), _msg_id(ev))
            if msg is not None:
                self._post(msg)
        except Exception:  # noqa: BLE001
            log.debug("unusable comment event dropped", exc_info=True)

    def _on_gift(self, ev: GiftEvent) -> None:
        try:
            uid, name = _user_fields(ev)
            gift = getattr(ev, "gift", None)
            try:
                streaking = bool(ev.streaking)
            except Exception:  # noqa: BLE001 - an odd gift: treat it as finished
                streaking = False
            if uid in (None, 0):
                return
            gift_id = getattr(gift, "id", 0) or getattr(ev, "gift_id", 0)
            self._post(GiftEventData(
                user_id=viewer_id(str(uid)), gift_id=str(gift_id), name=name or str(uid),
                repeat=int(getattr(ev, "repeat_count", 1) or 1),
                diamonds=int(getattr(gift, "diamond_count", 0) or 0),
                streaking=streaking, msg_id=_msg_id(ev)))
        except Exception:  # noqa: BLE001
            log.debug("unusable gift event dropped", exc_info=True)

    def _on_delete(self, ev: ImDeleteEvent) -> None:
        """A moderator deleted comments (by id) or all comments of viewers (by user id)."""
        try:
            for action in deletions(getattr(ev, "delete_msg_ids", ()) or (),
                                    getattr(ev, "delete_user_ids", ()) or ()):
                self._post(action)
        except Exception:  # noqa: BLE001
            log.debug("unusable delete event dropped", exc_info=True)

    def _on_like(self, ev: LikeEvent) -> None:
        try:
            count = max(int(getattr(ev, "count", 1) or 1), 1)
            self.likes += count
            self._post_activity(ev, likes=count)
        except Exception:  # noqa: BLE001
            log.debug("unusable like event dropped", exc_info=True)

    def _on_join(self, ev: JoinEvent) -> None:
        try:
            self.joins += 1
            self._post_activity(ev, joins=1)
        except Exception:  # noqa: BLE001
            log.debug("unusable join event dropped", exc_info=True)

    def _post_activity(self, ev: object, *, likes: int = 0, joins: int = 0) -> None:
        uid, name = _user_fields(ev)
        if uid in (None, 0, "", "0"):
            return
        self._post(ActivityEventData(user_id=viewer_id(str(uid)), name=name, likes=likes,
                                     joins=joins,
                                     msg_id=_msg_id(ev)))

    def _on_live_end(self, ev: LiveEndEvent) -> None:
        self.live_ended = True
