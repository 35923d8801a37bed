"""Bounded provider I/O against the loopback fake: time limits, byte caps, redirects,
masked credentials, real audio types, the speech probe.

The clock is a MockClock that jumps only after 50 ms of real idleness (timeouts cost no
wall time, loopback I/O runs for real). Caps are set small so the huge and endless answers
are cut after a few hundred KiB.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from storyd.config.structs import ProviderConfig
from storyd.core.model import ChapterRequest, ImageRequest, SpeechRequest
from storyd.core.themes import THEMES
from storyd.errors import ProviderError, ProviderOutputError
from storyd.providers import http_io
from storyd.providers.openai_compat import OpenAICompatProvider
from tests.fake_openai import PNG, WAV, FakeOpenAI

KEY = "sk-bounded-SECRET-0123"
REQ = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=1, words=40,
                     n_choices=3)
IMAGE = ImageRequest(prompt="a garden", title="t", theme=THEMES["fantasy"])


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def setup(nursery: trio.Nursery, mode: str = "siliconflow", *, own_port: int | None = None,
                probe_speech: bool = False, **cfg: Any) -> tuple[FakeOpenAI, OpenAICompatProvider]:
    fake = FakeOpenAI(mode, api_key=KEY)
    base = await fake.start(nursery)
    values: dict[str, Any] = dict(preset=mode, base_url=base, api_key=KEY, text_model="fake-text",
                                  image_model="fake-image", speech_model="fake-speech",
                                  max_retries=0, max_text_mb=0.25, max_image_mb=0.25)
    values.update(cfg)
    provider = OpenAICompatProvider("sf", ProviderConfig(**values), backoff_base=0.01,
                                    own_port=own_port, probe_speech=probe_speech)
    nursery.start_soon(_close_at_end, provider)
    return fake, provider


async def _close_at_end(provider: OpenAICompatProvider) -> None:
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await provider.aclose()


@pytest.mark.parametrize("behaviour, cfg, message, seconds", [
    ("slow_first", {"first_byte_timeout": 4.0}, r"no answer from http://127\.0\.0\.1:\d+/v1 "
     r"within 4 s \(first_byte_timeout\)", 4.0),
    ("stall", {"stall_timeout": 3.0}, r"stalled: no byte for 3 s \(stall_timeout\)", 3.0),
    ("keepalive", {"timeout": 20.0}, r"took longer than 20 s \(timeout\)|no answer .* within "
     r"20 s \(timeout\)", 20.0),
    ("hang", {"timeout": 7.0}, r"within 7 s \(timeout\)", 7.0),
])
async def test_each_time_limit_cuts_the_request(
        clock: MockClock, nursery: trio.Nursery, behaviour: str, cfg: dict[str, Any],
        message: str, seconds: float) -> None:
    fake, provider = await setup(nursery, **cfg)
    fake.delay = 100.0 if behaviour == "slow_first" else 0.0
    fake.script = [behaviour]
    started = trio.current_time()
    with trio.fail_after(60), pytest.raises(ProviderError, match=message) as info:
        await provider.write_chapter(REQ)
    assert info.value.retryable
    assert seconds <= trio.current_time() - started < seconds + 1


async def test_picture_generation_may_take_longer_than_first_byte_timeout(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, first_byte_timeout=4.0, timeout=30.0)
    fake.delay = 10.0
    fake.script = ["slow_first", "slow_first"]
    with trio.fail_after(60):
        assert (await provider.illustrate(IMAGE)).data == PNG     # bounded by timeout only
        with pytest.raises(ProviderError, match="within 4 s"):    # a chat answer is not
            await provider.write_chapter(REQ)


async def test_a_hanging_provider_costs_at_most_its_deadline_per_attempt(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, timeout=5.0, max_retries=2)
    fake.script = ["hang"] * 3
    started = trio.current_time()
    with trio.fail_after(60), pytest.raises(ProviderError, match="within 5 s"):
        await provider.write_chapter(REQ)
    assert trio.current_time() - started < 3 * 5 + 1      # was up to 4 x timeout per attempt


@pytest.mark.parametrize("behaviour, message", [
    ("endless", r"the answer is larger than the cap of 256 KiB \(cut after \d+ bytes\)"),
    ("huge", r"the answer is larger than the cap of 256 KiB \(cut after \d+ bytes\)"),
    ("huge_announced", r"cap of 256 KiB \(announced 524288000 bytes\)"),
])
async def test_answers_over_the_cap_are_cut(
        clock: MockClock, nursery: trio.Nursery, behaviour: str, message: str) -> None:
    fake, provider = await setup(nursery)
    fake.script = [behaviour]
    with trio.fail_after(60), pytest.raises(ProviderOutputError, match=message):
        await provider.write_chapter(REQ)


async def test_an_endless_error_body_is_read_only_for_its_message(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["huge_error"]
    with trio.fail_after(60), pytest.raises(ProviderError, match=r"HTTP 500 \{\"code\": 50000, "
                                            r"\"message\": \"eeee.*will retry") as info:
        await provider.write_chapter(REQ)
    assert info.value.retryable and len(str(info.value)) < 400
    fake.script = ["huge_error"]
    with trio.fail_after(60), pytest.raises(ProviderError, match="HTTP 500"):
        await provider.illustrate(IMAGE)


async def test_a_stalled_stream_holding_a_whole_chapter_is_used(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, stall_timeout=2.0)
    fake.script = ["truncated_done"]
    with trio.fail_after(60):
        draft = await provider.write_chapter(REQ)
    assert draft.title == "The Misty Garden" and len(draft.choices) == 3


async def test_huge_picture_is_cut_at_the_cap(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["huge_image"]
    with trio.fail_after(60), pytest.raises(ProviderOutputError,
                                            match="the picture is larger than the cap"):
        await provider.illustrate(IMAGE)
    assert fake.sent_bytes < 500 * 1024 * 1024


@pytest.mark.parametrize("behaviour, local, refused", [
    ("redirect_same", False, ""),
    ("redirect_other", False, r"image download refused: redirect to another host \(localhost\)"),
    ("redirect_other", True, ""),
    ("redirect_own", True, "image download refused: redirect to storyd's own port"),
])
async def test_picture_redirects(clock: MockClock, nursery: trio.Nursery, behaviour: str,
                                 local: bool, refused: str) -> None:
    own = free_port()
    fake, provider = await setup(nursery, own_port=own)
    fake.own_url = f"http://127.0.0.1:{own}/api/interactive-story/status"
    provider.local = local       # the fake is on loopback; play a remote provider too
    fake.script = [behaviour]
    with trio.fail_after(60):
        if refused:
            with pytest.raises(ProviderOutputError, match=refused):
                await provider.illustrate(IMAGE)
        else:
            assert (await provider.illustrate(IMAGE)).data == PNG
    assert provider.local is http_io.is_loopback_host("127.0.0.1") or not local


async def test_image_url_at_storyds_own_port_is_refused(clock: MockClock,
                                                        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    provider.own_port = int(fake.base_url.rsplit(":", 1)[1].split("/")[0])
    with trio.fail_after(60), pytest.raises(ProviderOutputError, match="storyd's own port"):
        await provider.illustrate(IMAGE)


def test_redirect_policy_table() -> None:
    u = http_io.httpx.URL
    first = u("https://cdn.example.com/a.png")
    assert http_io.redirect_allowed(first, u("https://cdn.example.com/b.png"), local=False,
                                    own_port=8080) == ""
    assert "another host" in http_io.redirect_allowed(first, u("https://evil.example/b"),
                                                      local=False, own_port=8080)
    assert "own port" in http_io.redirect_allowed(first, u("http://[::1]:8080/x"), local=True,
                                                  own_port=8080)
    assert "own port" in http_io.redirect_allowed(first, u("http://0.0.0.0:8080/x"), local=True,
                                                  own_port=8080)
    assert "non-http" in http_io.redirect_allowed(first, u("file:///etc/passwd"), local=True,
                                                  own_port=8080)
    assert http_io.is_loopback_host("localhost") and http_io.is_loopback_host("127.8.0.1")
    assert not http_io.is_loopback_host("api.siliconflow.com")


async def test_credentials_never_shown(clock: MockClock, nursery: trio.Nursery,
                                       caplog: pytest.LogCaptureFixture) -> None:
    fake, provider = await setup(nursery, headers={"X-Org-Token": "org-TOKEN-777"})
    base = fake.base_url.replace("http://", "http://alice:pa55-WORD@")
    masked = OpenAICompatProvider("sf", ProviderConfig(
        preset="siliconflow", base_url=base, api_key=KEY, text_model="fake-text",
        headers={"X-Org-Token": "org-TOKEN-777"}, max_retries=0))
    nursery.start_soon(_close_at_end, masked)
    fake.api_key = ""            # user:pass@ makes httpx send Basic auth instead
    fake.script = ["echo_headers"]
    with trio.fail_after(60), pytest.raises(ProviderError) as info:
        await masked.write_chapter(REQ)
    report = await masked.check()
    shown = str(info.value) + repr(report) + caplog.text
    assert "bad headers" in str(info.value)
    assert "Basic ********" in str(info.value)
    for secret in (KEY, "org-TOKEN-777", "pa55-WORD", "YWxpY2U6cGE1NS1XT1JE"):
        assert secret not in shown
    assert report["base_url"].startswith("http://***@127.0.0.1:")
    assert http_io.Masker()("see http://bob:x@h/ and https://u@h2") == \
        "see http://***@h/ and https://***@h2"


async def test_speech_keeps_its_real_audio_type(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["wav"]
    with trio.fail_after(60):
        result = await provider.speak(SpeechRequest(text="Hello."))
    assert result is not None and result.data == WAV and result.content_type == "audio/wav"
    assert http_io.sniff_audio(b"OggS\0\0", "") == "audio/ogg"
    assert http_io.sniff_audio(b"\xff\xfb\x90\x00", "") == "audio/mpeg"
    assert http_io.sniff_audio(b"????", "audio/x-wav") == "audio/wav"
    assert http_io.sniff_audio(b"????", "application/octet-stream") is None


async def test_probe_speaks_so_a_bad_voice_shows(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, probe_speech=True, voices={"villain": "nobody"})
    with trio.fail_after(60):
        report = await provider.check()
        assert report["ok"] and report["voices"] == ["fake-speech:benjamin",
                                                     "fake-speech:nobody"]
        fake.scripts["speech"] = ["ok", "bad_voice"]
        report = await provider.check()
    assert (report["ok"], report["diagnosis"]) == (False, "bad voice")
    assert "'fake-speech:nobody' failed" in report["message"]
    assert "voice not found" in report["message"]
    speech = [r for r in fake.requests if r["path"] == "/v1/audio/speech"]
    assert len(speech) == 4 and speech[0]["json"]["input"] == "Hi."


@pytest.mark.parametrize("key, value", [("stall_timeout", "0"), ("max_text_mb", "-1"),
                                        ("timeout", "0.0")])
def test_limits_in_the_config_must_be_positive(key: str, value: str) -> None:
    from storyd.config.loader import parse
    from storyd.errors import ConfigError

    text = f'[providers.sf]\npreset = "openai"\n{key} = {value}\n'
    with pytest.raises(ConfigError, match=f"providers.sf.{key} = .* must be a number above 0"):
        parse(text)
    cfg = parse('[providers.sf]\npreset = "openai"\nstall_timeout = 2.5\nmax_image_mb = 1\n')
    limits = OpenAICompatProvider("sf", cfg.providers["sf"], api_key="").limits
    assert (limits.stall, limits.max_image, limits.first_byte) == (2.5, 1024 * 1024, 30.0)


async def test_connect_timeout_is_its_own_limit(clock: MockClock) -> None:
    with socket.socket() as server:          # a listener whose backlog is full: SYNs hang
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        fillers = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(server.getsockname())
            fillers.append(s)
        provider = OpenAICompatProvider("far", ProviderConfig(
            base_url=f"http://127.0.0.1:{server.getsockname()[1]}/v1", text_model="m",
            max_retries=0, connect_timeout=3.0, first_byte_timeout=30.0, timeout=60.0))
        started = trio.current_time()
        try:
            async with provider:
                with trio.fail_after(30), pytest.raises(ProviderError) as info:
                    await provider.write_outline(THEMES["fantasy"], "English", 1)
        finally:
            for s in fillers:
                s.close()
    assert "within 3 s (connect_timeout)" in str(info.value)
    assert trio.current_time() - started < 4
