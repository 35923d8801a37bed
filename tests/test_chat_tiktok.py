"""The TikTok chat source with the real TikTokLive client against loopback fakes.

Real sockets and a real worker thread: no autojump clock; every wait is on an event or a
condition under `trio.fail_after`.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import pytest
import trio

from storyd.chat import tiktok
from storyd.chat.base import ChatHealth
from storyd.config.structs import TikTokConfig
from storyd.core.model import ChatMessage, GiftMessage, Moderation
from storyd.core.ports import IngestResult
from tests.chat_helpers import WatchedHealth, until
from tests.fake_tiktok import (
    FakePushServer,
    FakeSignServer,
    chat,
    gift,
    join,
    like,
    pinned_chat,
    stream_ended,
)

ROOM = 7_000_000_001
CHOICES = "abc"


class RecordingSink:
    """A ChatSink that parses `!x` votes like the real one would and records everything."""

    def __init__(self) -> None:
        self.batches: list[list[ChatMessage]] = []
        self.gifts: list[GiftMessage] = []
        self.activity: list[tuple[str, str, int, int]] = []   # (user_id, name, likes, joins)
        self.ballots: dict[str, str] = {}
        self.vote_msgs: list[str] = []      # msg ids of accepted/changed ballots
        self.moderation: list[Moderation] = []
        self._changed = trio.Event()

    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult:
        self.batches.append(list(batch))
        accepted = invalid = ignored = 0
        for m in batch:
            t = m.text.strip().lower()
            if len(t) == 2 and t[0] == "!" and t[1].isalpha():
                if t[1] in CHOICES:
                    accepted += 1
                    self.ballots[m.user_id] = t[1]
                    self.vote_msgs.append(m.msg_id)
                else:
                    invalid += 1
            else:
                ignored += 1
        self._poke()
        return IngestResult(accepted=accepted, invalid=invalid, ignored=ignored)

    def submit_gift(self, g: GiftMessage) -> int:
        self.gifts.append(g)
        self._poke()
        return 0

    def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                        joins: int = 0) -> None:
        self.activity.append((user_id, name, likes, joins))
        self._poke()

    def submit_moderation(self, action: Moderation) -> bool:
        self.moderation.append(action)
        self._poke()
        return False

    @property
    def messages(self) -> list[ChatMessage]:
        return [m for b in self.batches for m in b]

    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait(self, pred: Callable[[], bool]) -> None:
        while not pred():
            await self._changed.wait()


@dataclass
class Rig:
    sign: FakeSignServer
    push: FakePushServer
    sink: RecordingSink
    health: ChatHealth
    nursery: trio.Nursery

    def cfg(self, **kw: object) -> TikTokConfig:
        base: dict[str, object] = dict(
            unique_id="streamer", room_id=str(ROOM),
            sign_api_url=f"http://127.0.0.1:{self.sign.port}",
            sign_api_key="k-123", connect_timeout=2.0, stall_seconds=30.0,
            backoff_initial=0.05, backoff_max=0.4, live_poll_seconds=0.3)
        base.update(kw)
        return TikTokConfig(**base)  # type: ignore[arg-type]

    async def start(self, clock: Callable[[], float] = time.time, **kw: object) -> Running:
        running = Running(trio.CancelScope(), trio.Event())

        async def runner(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                with running.scope:
                    await tiktok.run(self.cfg(**kw), self.sink, self.health, clock=clock,
                                     rng=random.Random(4), task_status=task_status)
            finally:
                running.done.set()

        await self.nursery.start(runner)
        return running


@dataclass
class Running:
    """A started source: cancel `scope` to stop it; `done` is set once it has returned."""

    scope: trio.CancelScope
    done: trio.Event


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with trio.open_nursery() as nursery:
        push = FakePushServer()
        await nursery.start(push.serve)
        sign = FakeSignServer(push.url)
        await nursery.start(sign.serve)
        yield Rig(sign, push, RecordingSink(), WatchedHealth(source="tiktok"), nursery)
        nursery.cancel_scope.cancel()


async def stop_promptly(running: Running) -> float:
    """Seconds from cancelling the source until its task has returned."""
    t0 = trio.current_time()
    running.scope.cancel()
    with trio.fail_after(5):
        await running.done.wait()
    return trio.current_time() - t0


async def test_comments_reach_the_sink_once_each(rig: Rig) -> None:
    with trio.fail_after(15):
        scope = await rig.start()
        conn = await rig.push.next_connection()
        await conn.send(chat(101, 1, "!a", "alice"), chat(102, 2, "!B", "bob"),
                        chat(103, 3, "hello there", "carol"))
        await conn.send(chat(104, 4, "!z", "dave"), chat(105, 1, "!c", "alice"))
        await conn.send(chat(105, 1, "!c", "alice"), chat(101, 1, "!a", "alice"))  # replays
        await rig.sink.wait(lambda: len(rig.sink.messages) >= 5)
        await conn.send(chat(106, 5, "!b", "erin"))
        await rig.sink.wait(lambda: len(rig.sink.messages) >= 6)

        assert [m.msg_id for m in rig.sink.messages] == ["101", "102", "103", "104", "105", "106"]
        assert rig.sink.ballots == {"tiktok:1": "c", "tiktok:2": "b", "tiktok:5": "b"}
        assert rig.sink.vote_msgs == ["101", "102", "105", "106"]
        first = rig.sink.messages[0]
        assert (first.platform, first.user_id, first.name, first.text) == (
            "tiktok", "tiktok:1", "alice", "!a")
        h = rig.health
        assert h.state == "connected" and h.detail == f"room {ROOM}"
        assert (h.messages, h.votes_accepted, h.votes_invalid) == (6, 4, 1)
        assert h.reconnects == 0 and h.dropped == 0
        assert rig.sign.api_keys == ["k-123"]
        assert rig.sign.queries[0]["room_id"] == [str(ROOM)]
        assert conn.frames("im_enter_room"), "the real client joined the room"
        took = await stop_promptly(scope)
    assert took < 1.0
    with trio.fail_after(2):
        await conn.closed.wait()


async def test_gift_streak_counts_once_and_pinned_frame_does_not_break_comments(rig: Rig) -> None:
    with trio.fail_after(15):
        scope = await rig.start()
        conn = await rig.push.next_connection()
        await conn.send(pinned_chat(200, 9, "welcome!", "mod"))
        await conn.send(chat(201, 1, "!a", "alice", nickname="Alice A."))
        for n in range(1, 6):   # a rose streak 1..5, each event its own message id
            await conn.send(gift(300 + n, 1, 5655, 1, n, repeat_end=False, handle="alice"))
        await conn.send(gift(306, 1, 5655, 1, 5, repeat_end=True, handle="alice"))
        await conn.send(gift(306, 1, 5655, 1, 5, repeat_end=True, handle="alice"))  # duplicate
        await conn.send(gift(307, 2, 7934, 99, 1, repeat_end=False, streakable=False))
        # likes and joins: viewer activity, never a message or a ballot; replays dropped
        await conn.send(like(400, 1, 15, "alice"), join(401, 3, nickname="Carol C."))
        await conn.send(like(400, 1, 15, "alice"), like(402, 0, 3))   # replay; no user id
        await rig.sink.wait(lambda: len(rig.sink.gifts) >= 2 and rig.sink.messages != []
                            and len(rig.sink.activity) >= 2)
        assert [(g.user_id, g.name, g.diamonds, g.msg_id) for g in rig.sink.gifts] == [
            ("tiktok:1", "alice", 5, "306"), ("tiktok:2", "u2", 99, "307")]
        assert [(m.user_id, m.name, m.text) for m in rig.sink.messages] == [
            ("tiktok:1", "alice", "!a")]
        assert rig.sink.activity == [("tiktok:1", "alice", 15, 0), ("tiktok:3", "Carol C.", 0, 1)]
        assert rig.sink.ballots == {"tiktok:1": "a"}
        assert rig.health.gifts == 2 and rig.health.messages == 1 and rig.health.dropped == 0
        assert await stop_promptly(scope) < 1.0


async def test_stream_end_waits_for_live_without_backoff_growth(rig: Rig) -> None:
    """live_end is no error: waiting_for_live, polled every live_poll_seconds, no reconnect
    counted, no growing delay; history replayed by the next connection is not re-counted."""
    rig.sign.initial_messages = [chat(50, 8, "!b", "early")]
    with trio.fail_after(15):
        scope = await rig.start(clock=lambda: 1000.0, unique_id="", live_poll_seconds=0.3,
                                backoff_initial=0.05, backoff_max=0.05)
        conn = await rig.push.next_connection()
        await rig.sink.wait(lambda: len(rig.sink.messages) == 1)
        for n, msg_id in enumerate((60, 62)):
            await conn.send(stream_ended(msg_id))
            with trio.fail_after(2):
                await conn.closed.wait()          # the library closes on STREAM_ENDED
            await until(rig.health, lambda: rig.health.state == "waiting_for_live")
            assert rig.health.retry_at == 1000.3  # the poll interval, never grown
            assert rig.health.detail == "the stream ended"
            conn = await rig.push.next_connection()
            gap = rig.sign.hits[n + 1] - rig.sign.hits[n]
            assert gap >= 0.3
            await conn.send(chat(61 + 2 * n, 3 + n, "!c", "carol"))
            await rig.sink.wait(lambda n=n: len(rig.sink.messages) == 2 + n)
        assert [m.msg_id for m in rig.sink.messages] == ["50", "61", "63"]   # 50 came 3 times
        assert rig.health.reconnects == 0 and rig.health.failures == 0
        # the configured room is polled again (no unique_id to look a new room up with)
        assert [q["room_id"] for q in rig.sign.queries] == [[str(ROOM)]] * 3
        assert rig.health.state == "connected"
        assert await stop_promptly(scope) < 1.0
    assert rig.health.state == "stopped"


async def test_after_the_configured_room_ends_the_account_is_looked_up(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """room_id + unique_id: once that broadcast ends, the next attempt finds @unique_id's new
    room the usual way (here TikTok's page is unreachable: refused before leaving the host)."""
    import httpx

    urls: list[str] = []
    real_send = httpx.AsyncClient.send

    async def guarded_send(self: httpx.AsyncClient, request: httpx.Request,
                           *a: object, **kw: object) -> httpx.Response:
        urls.append(str(request.url))
        if request.url.host != "127.0.0.1":
            raise httpx.ConnectError("no internet in tests", request=request)
        return await real_send(self, request, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "send", guarded_send)
    with trio.fail_after(15):
        scope = await rig.start(live_poll_seconds=0.2)
        conn = await rig.push.next_connection()
        await conn.send(stream_ended(1))
        await until(rig.health, lambda: rig.health.state == "waiting_for_live")
        assert rig.health.room == ""                     # that room is over
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert any("tiktok.com" in u and "streamer" in u for u in urls), urls
        assert len(rig.sign.hits) == 1 and rig.health.failures == 1
        assert await stop_promptly(scope) < 1.0


async def test_room_id_alone_uses_only_the_sign_server(rig: Rig,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With room_id (and no unique_id) the client never scrapes tiktok.com: every HTTP
    request the real client makes goes to the sign server."""
    import httpx

    urls: list[str] = []
    real_send = httpx.AsyncClient.send

    async def recording_send(self: httpx.AsyncClient, request: httpx.Request,
                             *a: object, **kw: object) -> httpx.Response:
        urls.append(str(request.url))
        return await real_send(self, request, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "send", recording_send)
    with trio.fail_after(15):
        scope = await rig.start(unique_id="")
        assert rig.health.room == str(ROOM)
        conn = await rig.push.next_connection()
        await conn.send(chat(1, 1, "!a", "alice"), chat(2, 2, "!b", "bob"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 2)
        assert rig.sink.ballots == {"tiktok:1": "a", "tiktok:2": "b"}
        view = rig.health.view()
        assert view.room == str(ROOM) and view.state == "connected"
        assert await stop_promptly(scope) < 1.0
    assert urls and all(u.startswith(f"http://127.0.0.1:{rig.sign.port}/webcast/fetch")
                        for u in urls), urls


async def test_abnormal_close_backs_off_and_reconnects(rig: Rig) -> None:
    with trio.fail_after(15):
        scope = await rig.start(backoff_initial=0.4, backoff_max=1.0)
        conn = await rig.push.next_connection()
        await conn.send(chat(1, 1, "!a", "alice"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 1)
        await conn.close(1011, "internal error")
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert "1011" in rig.health.detail
        assert rig.health.retry_at is not None and rig.health.connected_since is None
        conn2 = await rig.push.next_connection()
        assert rig.sign.hits[1] - rig.sign.hits[0] >= 0.2     # jittered delay in [0.2, 0.4]
        await conn2.send(chat(2, 2, "!b", "bob"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 2)
        assert rig.health.reconnects == 1
        assert await stop_promptly(scope) < 1.0


async def test_hung_sign_server_hits_the_deadline_then_backs_off(rig: Rig) -> None:
    rig.sign.script.extend(["hang", "hang"])
    with trio.fail_after(15):
        scope = await rig.start(connect_timeout=0.3, backoff_initial=0.4, backoff_max=2.0)
        await rig.sign.wait_hits(1)
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert "no connection within 0.3 s" in rig.health.detail
        conn = await rig.push.next_connection()
        gaps = [b - a for a, b in zip(rig.sign.hits, rig.sign.hits[1:], strict=False)]
        assert gaps[0] >= 0.3 + 0.2 and gaps[1] >= 0.3 + 0.4   # deadline + growing backoff
        assert rig.health.reconnects == 0 and rig.health.failures == 2   # it never worked
        await conn.send(chat(1, 1, "!a", "alice"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 1)
        assert await stop_promptly(scope) < 1.0


@pytest.mark.parametrize("headers", [
    {"Retry-After": "0.6"},                                    # TikTokLive's TypeError path
    {"RateLimit-Remaining": "0", "RateLimit-Reset": "0.6"},     # SignatureRateLimitError path
])
async def test_rate_limit_honours_retry_after(rig: Rig, headers: dict[str, str]) -> None:
    rig.sign.script.append(("429", headers))
    with trio.fail_after(15):
        scope = await rig.start(backoff_initial=0.05, backoff_max=0.1)
        await rig.sign.wait_hits(1)
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert "rate-limited" in rig.health.detail
        await rig.push.next_connection()
        assert rig.sign.hits[1] - rig.sign.hits[0] >= 0.6   # not the 0.05 s backoff
        assert await stop_promptly(scope) < 1.0


async def test_backoff_grows_between_failures(rig: Rig) -> None:
    rig.sign.script.extend([("status", 500)] * 4)
    planned: list[float] = []

    class Recording(WatchedHealth):
        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, value)
            if name == "retry_at" and isinstance(value, float):
                planned.append(value - 1000.0)   # the clock below always says 1000

    rig.health = Recording(source="tiktok")
    with trio.fail_after(15):
        scope = await rig.start(clock=lambda: 1000.0, backoff_initial=0.05, backoff_max=1.0)
        await rig.push.next_connection()
        gaps = [b - a for a, b in zip(rig.sign.hits, rig.sign.hits[1:], strict=False)]
        assert len(gaps) == 4 and len(planned) == 4
        for i, (gap, delay) in enumerate(zip(gaps, planned, strict=True)):
            assert 0.05 * 2 ** i / 2 <= delay <= 0.05 * 2 ** i   # jittered, doubling
            assert gap >= delay                                   # and really waited
        assert rig.health.reconnects == 0 and rig.health.failures == 4
        assert await stop_promptly(scope) < 1.0


async def test_stall_forces_a_reconnect(rig: Rig) -> None:
    with trio.fail_after(15):
        scope = await rig.start(stall_seconds=0.3)
        conn = await rig.push.next_connection()
        await conn.send(chat(1, 1, "!a", "alice"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 1)
        t0 = trio.current_time()
        conn2 = await rig.push.next_connection()          # nothing sent: stalls
        assert trio.current_time() - t0 >= 0.3
        with trio.fail_after(2):
            await conn.closed.wait()
        assert rig.health.reconnects == 1
        await conn2.send(chat(2, 2, "!b", "bob"))
        await rig.sink.wait(lambda: len(rig.sink.messages) == 2)
        assert await stop_promptly(scope) < 1.0


async def test_shutdown_is_prompt_while_the_sign_server_hangs(rig: Rig) -> None:
    rig.sign.script.append("hang")
    with trio.fail_after(10):
        scope = await rig.start(connect_timeout=30.0)
        await rig.sign.wait_hits(1)
        assert rig.health.state == "connecting"
        assert await stop_promptly(scope) < 1.0


async def test_missing_unique_id_is_reported_not_raised() -> None:
    health = ChatHealth(source="tiktok")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(tiktok.run, TikTokConfig(), RecordingSink(), health)
            assert health.state == "failed" and "unique_id" in health.detail
            nursery.cancel_scope.cancel()
