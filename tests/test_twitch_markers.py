"""Twitch stream markers against a loopback fake of Helix written from Twitch's reference
(tests/fake_helix.py): one marker per call while live, none otherwise; every refusal (not
live, 401, 403, 429, a dead server) logged once and never raised."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
import trio
from fake_helix import FakeHelix

from storyd.chat.twitch_markers import StreamMarkers
from storyd.config.structs import TwitchConfig

TOKEN_ENV = "STORYD_TEST_TWITCH_TOKEN"


@pytest.fixture
async def helix(nursery: trio.Nursery) -> Any:
    fake = FakeHelix()
    await fake.start(nursery)
    yield fake
    fake.stop()


def markers(helix: FakeHelix, clock: Any = None, **cfg: Any) -> StreamMarkers:
    conf = TwitchConfig(channel="storychannel", oauth_token_env=TOKEN_ENV,
                        helix_url=f"{helix.base}/helix", auth_url=f"{helix.base}/oauth2")
    conf = msgspec.structs.replace(conf, **cfg)
    return StreamMarkers(lambda: conf, **({"clock": clock} if clock else {}))


async def test_one_marker_per_call_while_live_and_none_otherwise(
        helix: FakeHelix, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(TOKEN_ENV, "oauth:goodtoken")
    m = markers(helix)
    caplog.set_level(logging.INFO, "storyd.chat.twitch_markers")
    with trio.fail_after(20):
        first = await m.mark("The Gate")
        assert first is not None and first.position_seconds >= 1234
        helix.live = False
        assert await m.mark("The Drowned Chapel") is None
        assert await m.mark("The Bell Tower") is None
        helix.live = True
        assert await m.mark("x" * 300) is not None
    assert [mk["description"] for mk in helix.markers] == ["The Gate", "x" * 139 + "…"]
    assert len(helix.markers[1]["description"]) == 140
    offline = [r for r in caplog.records if "not live" in r.getMessage()]
    assert len(offline) == 1                                   # logged once
    assert helix.requests.count(("GET", "/oauth2/validate")) == 1   # validated once


@pytest.mark.parametrize("token,why,posts", [
    ("badtoken", "invalid or expired", 0),
    ("chatonly", "lacks the channel:manage:broadcast scope", 0),
    ("viewertoken", "neither the broadcaster nor an editor", 1),
])
async def test_refused_tokens_stop_markers_and_are_logged_once(
        helix: FakeHelix, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        token: str, why: str, posts: int) -> None:
    monkeypatch.setenv(TOKEN_ENV, token)
    m = markers(helix)
    with trio.fail_after(20):
        for title in ("a", "b", "c"):
            assert await m.mark(title) is None
    assert helix.markers == []
    assert helix.requests.count(("POST", "/helix/streams/markers")) == posts
    assert len([r for r in caplog.records if why in r.getMessage()]) == 1
    monkeypatch.setenv(TOKEN_ENV, "goodtoken")                # a new token: markers again
    with trio.fail_after(20):
        assert await m.mark("d") is not None


async def test_an_editors_token_marks_the_broadcasters_stream(
        helix: FakeHelix, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "editortoken")
    with trio.fail_after(20):
        assert await markers(helix).mark("The Gate") is not None
    assert ("GET", "/helix/users") in helix.requests and len(helix.markers) == 1


async def test_429_waits_until_ratelimit_reset(helix: FakeHelix,
                                               monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(TOKEN_ENV, "goodtoken")
    now = [1000.0]
    helix.reset_at = 1030
    m = markers(helix, clock=lambda: now[0])
    with trio.fail_after(20):
        assert await m.mark("one") is not None
        helix.bucket = 0
        assert await m.mark("two") is None                        # 429
        posts = helix.requests.count(("POST", "/helix/streams/markers"))
        assert await m.mark("three") is None                      # waits: no request at all
        assert helix.requests.count(("POST", "/helix/streams/markers")) == posts
        helix.bucket, now[0] = 800, 1031.0
        assert await m.mark("four") is not None
    assert [mk["description"] for mk in helix.markers] == ["one", "four"]
    assert len([r for r in caplog.records if "rate-limited by Twitch" in r.getMessage()]) == 1


async def test_off_unconfigured_or_unreachable_never_raises(
        helix: FakeHelix, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "goodtoken")
    with trio.fail_after(30):
        assert await markers(helix, markers=False).mark("a") is None
        assert await markers(helix, channel="").mark("a") is None
        monkeypatch.delenv(TOKEN_ENV)
        assert await markers(helix).mark("a") is None
        monkeypatch.setenv(TOKEN_ENV, "goodtoken")
        dead = markers(helix, helix_url="http://127.0.0.1:9/helix",
                       auth_url="http://127.0.0.1:9/oauth2")
        assert await dead.mark("a") is None
    assert helix.requests == [] and helix.markers == []
