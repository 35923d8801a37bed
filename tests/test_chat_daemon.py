"""The whole daemon with real chat sources against independent loopback fakes.

storyd with `sources = ["twitch"]` counts a Twitch fake's votes exactly, answers its PING,
keeps counting across its RECONNECT and (logged in) announces the vote; storyd with only
`room_id` and `sign_api_url` reads a TikTok fake's votes. Real sockets and threads: every
wait is on an event under `trio.fail_after`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from storyd.app import Daemon
from tests.conftest import wait_for_event
from tests.fake_tiktok import FakePushServer, FakeSignServer, chat
from tests.fake_twitch import FakeTwitch, privmsg

Factory = Callable[..., Awaitable[Daemon]]


async def test_daemon_counts_twitch_votes_across_reconnect_and_announces(
        daemon_factory: Factory, nursery: trio.Nursery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeTwitch(good_token="tok-123")
    await nursery.start(server.serve)
    monkeypatch.setenv("STORYD_E2E_TWITCH", "tok-123")
    with trio.fail_after(60):
        d = await daemon_factory(chat={"sources": ["twitch"], "twitch": {
            "channel": "show", "url": server.url, "login": "showbot",
            "oauth_token_env": "STORYD_E2E_TWITCH", "backoff_initial": 0.05,
            "backoff_max": 0.1}})
        conn = await server.next_connection()
        await conn.joined.wait()
        with d.bus.subscribe() as sub:
            await d.director.start(theme="fantasy")
            started: dict[str, Any] = await wait_for_event(sub, "story:voting-started")
        keys = [c["key"] for c in started["choices"]]
        announced = await conn.wait_for("PRIVMSG", 1)
        assert announced[0].params[1].startswith(f"Vote now: !a {started['choices'][0]['text']}")

        def pm(login: str, text: str, uid: str, mid: str) -> str:
            return privmsg("show", login, text, user_id=uid, msg_id=mid)

        await conn.send(pm("ann", "!a", "1", "e1"), pm("ben", "!b", "2", "e2"),
                        pm("cid", "hello", "3", "e3"), pm("ann", "!b", "1", "e4"),
                        pm("dan", "!f", "4", "e5"), pm("eve", "!a", "5", "e6"))
        await conn.send("PING :tmi.twitch.tv")
        pong = await conn.wait_for("PONG", 1)
        assert pong[0].params == ["tmi.twitch.tv"]
        await conn.send("RECONNECT")
        conn2 = await server.next_connection()
        await conn2.joined.wait()
        await conn2.send(pm("fay", "!b", "6", "e7"), pm("ann", "!a", "1", "e4"))  # e4 replayed
        await conn2.send("PING :again")
        await conn2.wait_for("PONG", 1)
        r = d.voting.round
        assert r is not None and not r.closed
        expected = [1, 3] + [0] * (len(keys) - 2)      # eve a; ann, ben, fay b
        assert list(r.counts) == expected and r.voters == 4
        assert r.invalid == (1 if len(keys) < 6 else 0)
        health = {c.source: c for c in d.chat_status()}["twitch"]
        assert health.state == "connected" and health.room == "#show"
        assert health.reconnects == 1 and health.messages == 7
        assert "tok-123" not in repr(d.chat_status())
        d.stop()


async def test_daemon_reads_tiktok_with_only_room_id_and_sign_server(
        daemon_factory: Factory, nursery: trio.Nursery) -> None:
    push = FakePushServer()
    await nursery.start(push.serve)
    sign = FakeSignServer(push.url)
    await nursery.start(sign.serve)
    with trio.fail_after(60):
        d = await daemon_factory(chat={"sources": ["tiktok"], "tiktok": {
            "room_id": "7123", "sign_api_url": f"http://127.0.0.1:{sign.port}",
            "connect_timeout": 5.0}})
        assert {c.source: c for c in d.chat_status()}["tiktok"].room == "7123"
        conn = await push.next_connection()
        with d.bus.subscribe() as sub:
            await d.director.start(theme="fantasy")
            await wait_for_event(sub, "story:voting-started")
            await conn.send(chat(1, 11, "!a", "ann"), chat(2, 12, "!B", "ben"),
                            chat(3, 13, "！ｂ", "cid"), chat(2, 12, "!B", "ben"))
            await wait_for_event(sub, "story:vote-update", lambda v: v.get("voters") == 3)
        r = d.voting.round
        assert r is not None and list(r.counts)[:2] == [1, 2]
        assert sign.queries[0]["room_id"] == ["7123"]
        d.stop()
