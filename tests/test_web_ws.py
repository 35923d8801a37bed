"""Websockets over a real hypercorn, driven with trio-websocket clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url
from web_harness import FakeDaemon, running_web

from storyd.bus import EventBus
from storyd.control import protocol as p
from storyd.core import events as ev
from storyd.core.replies import CloseReply
from storyd.core.snapshot import ChapterView


def vote_update(i: int) -> ev.VoteUpdate:
    return ev.VoteUpdate(ev.VoteUpdateData(round_id=1, counts=(i, 0, 0), voters=i))


def voting_ended() -> ev.VotingEnded:
    return ev.VotingEnded(ev.VotingEndedData(round_id=1, winner=0, winner_key="a",
                                             winner_text="Open the door"))


def chapter(i: int, pad: str = "") -> ev.ChapterReady:
    return ev.ChapterReady(ChapterView(number=i, title=pad or f"Chapter {i}", text="",
                                       sentences=(), choices=()))

TIMEOUT = 10


@pytest.fixture
async def served(tmp_path: Any) -> AsyncIterator[tuple[FakeDaemon, str]]:
    daemon = FakeDaemon(tmp_path)
    async with running_web(daemon) as url:
        yield daemon, url.replace("http://", "ws://")


def admin_headers(d: FakeDaemon, base: str, origin: str | None = None) -> list[tuple[bytes, bytes]]:
    hdrs = [(b"Cookie", f"storyd_admin={d.admin_token}".encode())]
    hdrs.append((b"Origin", (origin or base.replace("ws://", "http://")).encode()))
    return hdrs


async def next_event(ws: Any) -> dict[str, Any]:
    return json.loads(await ws.get_message())  # type: ignore[no-any-return]


async def test_snapshot_on_connect_then_bus_events(served: Any) -> None:
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay") as ws:
            first = await next_event(ws)
            assert first["event"] == "story:state"
            assert first["data"]["state"] == "idle" and first["data"]["server_time_ms"] > 0
            d.bus.publish(ev.GenerationStarted(ev.GenerationStartedData(chapter=1)))
            d.bus.publish(ev.ImageUpdated(ev.ImageUpdatedData(chapter=1, image_url="/x.png")))
            assert (await next_event(ws))["event"] == "story:generation-started"
            assert (await next_event(ws))["data"] == {"chapter": 1, "image_url": "/x.png"}


async def test_vote_updates_pass_straight_through_and_only_the_newest_waits(
        served: Any) -> None:
    """Nothing in the web front throttles vote updates (the voting service's ticker is the one
    place): a client gets each update as it comes; a flood queued while it is busy with a send
    reaches it as the newest counts, in order with the other events."""
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay", message_queue_size=1000) as ws:
            await next_event(ws)
            d.bus.publish(vote_update(1))
            assert (await next_event(ws))["data"]["voters"] == 1     # at once, no timer
            n = 3000
            for i in range(2, n + 1):
                d.bus.publish(vote_update(i))
                if i % 500 == 0:
                    await trio.testing.wait_all_tasks_blocked()
            d.bus.publish(voting_ended())
            updates = []
            while (got := await next_event(ws))["event"] != "story:voting-ended":
                updates.append(got)
    assert 1 <= len(updates) < 100, len(updates)
    assert updates[-1]["data"] == {"round_id": 1, "counts": [n, 0, 0], "voters": n,
                                   "invalid": 0}   # the latest kept, in order
    assert [u["data"]["voters"] for u in updates] == sorted(u["data"]["voters"] for u in updates)
    assert d.bus.dropped == 0


def test_a_queue_keeps_only_the_newest_vote_update_in_order() -> None:
    bus = EventBus()
    v = [vote_update(i) for i in range(5)]
    other = ev.Narration(ev.NarrationData(chapter=1, index=0, kind="sentence", text="Hi."))
    with bus.subscribe(16) as sub:
        for e in (v[0], v[1], v[2], other, v[3], v[4]):
            bus.publish(e)
        got = [sub.get_nowait() for _ in range(2)]
        assert got == [other, v[4]] and sub.replaced == 4 and bus.dropped == 0
        bus.publish(v[0])
        assert sub.get_nowait() is v[0]         # taken: the next one queues again
        bus.publish(v[1])
        assert sub.get_nowait() is v[1]


async def test_stalled_client_does_not_block_another(served: Any) -> None:
    d, base = served
    pad = "x" * 65536
    with trio.fail_after(30):
        # message_queue_size=1: this client stops reading its socket after one message
        async with open_websocket_url(f"{base}/ws/overlay", message_queue_size=1) as stalled:
            async with open_websocket_url(f"{base}/ws/overlay") as live:
                await next_event(live)
                for i in range(700):
                    d.bus.publish(chapter(i, pad))
                    got = await next_event(live)
                    assert got["data"]["number"] == i
                assert d.bus.dropped > 0           # the stalled client's buffer overflowed...
                assert d.bus.subscribers == 2      # ...and only its own events were dropped
            del stalled


async def test_shutdown_closes_with_1001(served: Any) -> None:
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay") as ov, open_websocket_url(
                f"{base}/ws/admin", extra_headers=admin_headers(d, base)) as ad:
            await next_event(ov)
            await next_event(ad)
            d.shutdown.set()
            d.bus.close_all()
            for ws in (ov, ad):
                with pytest.raises(ConnectionClosed) as info:
                    await ws.get_message()
                assert info.value.reason.code == 1001


async def test_bus_close_alone_closes_with_1001(served: Any) -> None:
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay") as ov:
            await next_event(ov)
            d.bus.close_all()
            with pytest.raises(ConnectionClosed) as info:
                await ov.get_message()
            assert info.value.reason.code == 1001


async def test_client_leaving_unsubscribes(served: Any) -> None:
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay") as ws:
            await next_event(ws)
            assert d.bus.subscribers == 1
        await trio.testing.wait_all_tasks_blocked()
        assert d.bus.subscribers == 0


@pytest.mark.parametrize("headers,status", [
    ([], 401), ([(b"Cookie", b"storyd_admin=wrong")], 401),
    ([(b"Authorization", b"Bearer wrong")], 401), ("evil-origin", 403)])
async def test_admin_socket_is_guarded(served: Any, headers: Any, status: int) -> None:
    d, base = served
    if headers == "evil-origin":
        headers = admin_headers(d, base, origin="http://evil.example")
    with trio.fail_after(TIMEOUT), pytest.raises(ConnectionRejected) as info:
        async with open_websocket_url(f"{base}/ws/admin", extra_headers=headers):
            pass
    assert info.value.status_code == status


@pytest.mark.parametrize("path", ["/ws/overlay", "/ws/admin"])
async def test_websocket_host_allow_list(served: Any, path: str) -> None:
    """A DNS-rebinding page would send its own name as Host: refused before the upgrade."""
    d, base = served
    host, port = base.removeprefix("ws://").rsplit(":", 1)
    request = (f"GET {path} HTTP/1.1\r\nHost: evil.example:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 13\r\nCookie: storyd_admin={d.admin_token}\r\n\r\n")
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(request.encode())
            head = await stream.receive_some(4096)
    assert head.startswith(b"HTTP/1.1 421"), head[:40]


async def test_admin_socket_commands(served: Any) -> None:
    d, base = served
    await d_start(d)
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/admin",
                                      extra_headers=admin_headers(d, base)) as ws:
            assert (await next_event(ws))["data"]["state"] == "voting"
            await ws.send_message(json.dumps({"event": "story:force-vote-end"}))
            seen = [await next_event(ws) for _ in range(3)]
            by_name = {e["event"]: e for e in seen}   # the reply may overtake the bus events
            assert set(by_name) == {"story:voting-ended", "story:state", "story:command-result"}
            assert by_name["story:command-result"]["data"]["ok"] is True
            closed = by_name["story:command-result"]["data"]["result"]   # POST close's answer
            assert set(closed) == set(CloseReply.__struct_fields__)
            await ws.send_message(json.dumps({"event": "story:force-vote-end"}))
            res = await next_event(ws)
            assert res["data"]["ok"] is False and res["data"]["error"]["code"] == "refused"
            await ws.send_message("not json")
            assert (await next_event(ws))["data"]["error"]["code"] == "bad_request"
            await ws.send_message(json.dumps({"event": "story:regenerate-image"}))
            assert (await next_event(ws))["data"]["ok"] is True
    assert [type(c) for c in d.commands] == [p.Start, p.Close, p.Close, p.RegenerateImage]


async def test_overlay_socket_ignores_commands(served: Any) -> None:
    d, base = served
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(f"{base}/ws/overlay") as ws:
            await next_event(ws)
            for _ in range(50):      # more than quart-trio buffers: the handler must read
                await ws.send_message(json.dumps({"event": "story:force-vote-end"}))
            d.bus.publish(ev.error("m", 1))
            assert (await next_event(ws))["event"] == "story:error"
            await ws.send_message(json.dumps({"event": "ping"}))
            assert (await next_event(ws))["event"] == "pong"
    assert d.commands == []


async def d_start(d: FakeDaemon) -> None:
    from web_harness import fake_handle
    await fake_handle(d, p.Start())
    d.commands.clear()
    d.commands.append(p.Start())


async def test_real_daemon_start_vote_over_http_and_ws(tmp_path: Any) -> None:
    """End to end with storyd.app.run_daemon: POST start → voting → POST vote → vote-update."""
    import httpx
    from web_harness import running_daemon

    from storyd.control import dispatch

    with trio.fail_after(60):
        async with running_daemon(tmp_path) as daemon:
            url = daemon.web_url
            h = {"Authorization": f"Bearer {daemon.admin_token}"}
            async with httpx.AsyncClient(base_url=url, timeout=10) as c, open_websocket_url(
                    url.replace("http://", "ws://") + "/ws/overlay",
                    message_queue_size=100) as ws:
                assert (await next_event(ws))["event"] == "story:state"
                r = await c.post("/api/interactive-story/start", json={"theme": "horror"},
                                 headers=h)
                assert r.status_code == 200, r.text
                while not ((got := await next_event(ws))["event"] == "story:state"
                           and got["data"]["state"] == "voting"):
                    pass
                r = await c.post("/api/interactive-story/vote", headers=h,
                                 json={"viewer": "amy", "choice": "b"})
                assert r.status_code == 200, r.text
                while (got := await next_event(ws))["event"] != "story:vote-update":
                    pass
                assert got["data"]["counts"][1] == 1 and got["data"]["voters"] == 1
                web = (await c.get("/api/interactive-story/status")).json()
                ctl = msgspec.json.decode(msgspec.json.encode(
                    await dispatch.handle(daemon.operator, p.Status())))
                for snap in (web, ctl):
                    snap.pop("server_time_ms")
                    snap.pop("providers", None)
                    for source in snap.get("chat", ()):   # an age read off the wall clock
                        source.pop("last_event_age", None)
                assert web == ctl
                assert (await c.post("/api/interactive-story/start", json={},
                                     headers=h)).status_code == 409
