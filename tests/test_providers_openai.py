"""OpenAICompatProvider against a real loopback fake, through a real httpx client.

The clock is a MockClock that jumps only after 50 ms of real idleness: backoff waits,
Retry-After and timeouts cost no wall time, while loopback I/O still runs for real.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import msgspec
import pytest
import trio
from trio.testing import MockClock

from storyd.config.structs import ProviderConfig
from storyd.core.model import ChapterRequest, ImageRequest, SpeechRequest
from storyd.core.themes import THEMES
from storyd.errors import ProviderError, ProviderOutputError
from storyd.providers.base import ChapterDefect
from storyd.providers.openai_compat import OpenAICompatProvider
from tests.fake_openai import MP3, PNG, FakeOpenAI

KEY = "sk-test-SECRET-0123456789"
REQ = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=1, words=40,
                     n_choices=3)


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.05)


async def setup(nursery: trio.Nursery, mode: str, preset: str | None = None,
                key: str = KEY, **cfg: Any) -> tuple[FakeOpenAI, OpenAICompatProvider]:
    fake = FakeOpenAI(mode, api_key=key)
    base = await fake.start(nursery)
    values: dict[str, Any] = dict(preset=preset or mode, base_url=base, api_key=key,
                                  text_model="fake-text", image_model="fake-image",
                                  speech_model="fake-speech", timeout=5.0, max_retries=2)
    values.update(cfg)
    provider = OpenAICompatProvider("sf", ProviderConfig(**values), backoff_base=0.01)
    nursery.start_soon(_close_at_end, provider)
    return fake, provider


async def _close_at_end(provider: OpenAICompatProvider) -> None:
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await provider.aclose()


def chats(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["path"] == "/v1/chat/completions"]


@pytest.mark.parametrize("mode, fmt, tokens", [
    ("siliconflow", {"type": "json_object"}, "max_tokens"),
    ("openai", "nested", "max_completion_tokens"),
    ("ollama", "nested", "max_tokens"),
    ("llamacpp", "nested", "max_tokens"),
    ("vllm", "nested", "max_tokens"),
])
async def test_chapter_streams_in_each_dialect(
        clock: MockClock, nursery: trio.Nursery, mode: str, fmt: Any, tokens: str
) -> None:
    fake, provider = await setup(nursery, "openai" if mode == "vllm" else mode, preset=mode)
    with trio.fail_after(30):
        draft = await provider.write_chapter(REQ)
    assert draft.title == "The Misty Garden" and len(draft.choices) == 3
    assert draft.provider == "sf"
    (sent,) = chats(fake)
    body = sent["json"]
    assert body["stream"] is True and tokens in body and body["model"] == "fake-text"
    assert body["stream_options"] == {"include_usage": True}        # usage for the cost
    assert provider.usage.calls == 1 and provider.usage.estimated is (mode == "ollama")
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    if fmt == "nested":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"]["properties"]["choices"]
    else:
        assert body["response_format"] == fmt
    assert provider.last_prompt == body["messages"]
    assert provider.last_answer.startswith('{"title"')   # reasoning fields left out


async def test_no_key_means_no_authorization_header(
        clock: MockClock, nursery: trio.Nursery
) -> None:
    fake, provider = await setup(nursery, "ollama", key="")
    with trio.fail_after(30):
        await provider.write_chapter(REQ)
    assert "authorization" not in chats(fake)[0]["headers"]


async def test_rejected_schema_steps_down_to_json_object(
        clock: MockClock, nursery: trio.Nursery
) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["400_format"]
    with trio.fail_after(30):
        await provider.write_chapter(REQ)
        await provider.write_chapter(REQ)
    formats = [c["json"].get("response_format", {}).get("type") for c in chats(fake)]
    assert formats == ["json_schema", "json_object", "json_object"]


async def test_a_server_refusing_stream_options_gets_none_after(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["400_stream_options"]
    with trio.fail_after(30):
        await provider.write_chapter(REQ)
        await provider.write_chapter(REQ)
    sent = [c["json"].get("stream_options") for c in chats(fake)]
    assert sent == [{"include_usage": True}, None, None]
    assert provider.usage.calls == 3 and provider.usage.estimated


@pytest.mark.parametrize("mode, message", [
    ("siliconflow", "provider 'sf': HTTP 401 Invalid token — check [providers.sf] api_key_env"),
    ("openai", "provider 'sf': HTTP 401 Invalid token — check [providers.sf] api_key_env"),
])
async def test_bad_key_is_not_retried_and_never_echoed(
        clock: MockClock, nursery: trio.Nursery, mode: str, message: str, caplog:
        pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, provider = await setup(nursery, mode)
    fake.script = ["401", "429"]
    with trio.fail_after(30), pytest.raises(ProviderError) as info:
        await provider.write_chapter(REQ)
    assert str(info.value).startswith(message)
    assert info.value.status == 401 and not info.value.retryable
    assert len(chats(fake)) == 1
    fake.script = ["429", "429", "429"]
    with trio.fail_after(60), pytest.raises(ProviderError):
        await provider.write_chapter(REQ)
    assert KEY not in caplog.text and KEY not in str(info.value)


async def test_server_echoing_the_key_is_scrubbed(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["echo_key"]
    with trio.fail_after(30), pytest.raises(ProviderError) as info:
        await provider.write_chapter(REQ)
    assert "HTTP 400 bad header Bearer ********" in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("script, requests", [
    (["500", "ok"], 2), (["503", "ok"], 2), (["500", "503", "ok"], 3),
    (["truncated", "ok"], 2), (["hang", "ok"], 2),
])
async def test_retryable_faults_are_retried(
        clock: MockClock, nursery: trio.Nursery, script: list[str], requests: int
) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = list(script)
    with trio.fail_after(60):
        draft = await provider.write_chapter(REQ)
    assert draft.title and len(chats(fake)) == requests


async def test_429_honours_retry_after(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = ["429", "ok"]
    started = trio.current_time()
    with trio.fail_after(60):
        await provider.write_chapter(REQ)
    assert trio.current_time() - started >= 7.0
    assert len(chats(fake)) == 2


@pytest.mark.parametrize("script, match, retryable", [
    (["500"] * 3, "HTTP 500 internal server error — server trouble; will retry", True),
    (["503"] * 3, "HTTP 503 The model is overloaded", True),
    (["truncated"] * 3, "stream broke off", True),
    (["hang"] * 3, "no answer from http://127.0.0.1:.* within 5 s", True),
    (["stall"] * 3, r"took longer than 5 s \(timeout\), cut after \d+ characters", True),
    (["stream_error"] * 3, "error inside the stream: model crashed", True),
    (["garbage"], "neither a JSON object", False),
])
async def test_faults_after_retries_give_a_clear_error(
        clock: MockClock, nursery: trio.Nursery, script: list[str], match: str, retryable: bool
) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = list(script)
    with trio.fail_after(120), pytest.raises(ProviderError, match=match) as info:
        await provider.write_chapter(REQ)
    assert info.value.retryable is retryable
    assert isinstance(info.value, ProviderOutputError) is (not retryable)
    assert len(chats(fake)) == len(script)


@pytest.mark.parametrize("script, requests, choices, title", [
    (["extra_choices"], 1, ("Follow the humming lanterns", "Climb the crooked tower",
                            "Wake the sleeping gardener"), "The Misty Garden"),
    (["wrong_choices"], 2, ("Follow the humming lanterns", "Climb the crooked tower"), ""),
    (["duplicate_choices"], 2, ("Follow the humming lanterns", "Climb the crooked tower"), ""),
    (["no_title"], 1, (), "Mira opens the old gate and"),
    (["think_prose"], 1, (), "The Misty Garden"),
    (["plain_json"], 1, (), "The Misty Garden"),
    (["truncated_done"], 1, (), "The Misty Garden"),
    (["repeat_choice"], 2, ("Climb the crooked tower", "Wake the sleeping gardener"), ""),
])
async def test_repairable_answers_are_repaired_not_discarded(
        clock: MockClock, nursery: trio.Nursery, script: list[str], requests: int,
        choices: tuple[str, ...], title: str
) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = list(script)
    request = msgspec.structs.replace(REQ, winning_choice="Follow the humming lanterns",
                                      chapter_number=2) if "repeat" in script[0] else REQ
    with trio.fail_after(30):
        draft = await provider.write_chapter(request)
    assert len(draft.choices) == 3 and len({c.lower() for c in draft.choices}) == 3
    assert draft.choices[:len(choices)] == choices
    if title:
        assert draft.title == title
    assert draft.text.startswith("Mira opens the old gate")
    sent = chats(fake)
    assert len(sent) == requests
    if requests == 2:      # one small follow-up asking for exactly the missing choices
        follow = sent[1]["json"]
        assert "Write exactly 1 more short, distinct choices" in follow["messages"][-1]["content"]
        assert follow["response_format"] == {"type": "json_object"}


async def test_one_follow_up_uses_a_schema_and_never_generic_fillers(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["wrong_choices", "garbage"]
    with trio.fail_after(30):
        draft = await provider.write_chapter(REQ)
    follow = chats(fake)[1]["json"]["response_format"]
    assert follow["json_schema"]["schema"]["properties"]["choices"]["minItems"] == 1
    assert follow["json_schema"]["schema"]["properties"]["choices"]["maxItems"] == 1
    assert len(chats(fake)) == 2                 # ONE follow-up, however it went
    assert draft.choices == ("Follow the humming lanterns", "Climb the crooked tower")
    assert draft.notes == ("2 choices sent for 3", "asked for 1 more choice in one follow-up: got 0")


@pytest.mark.parametrize("script, defect", [
    (["short"], "not a chapter: 6 words in 2 sentences"),
    (["no_choices", "no_choices"], "only 1 real choice(s)")])
async def test_real_defects_come_back_with_the_draft(
        clock: MockClock, nursery: trio.Nursery, script: list[str], defect: str) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = list(script)
    with trio.fail_after(30), pytest.raises(ChapterDefect, match=re.escape(defect)) as info:
        await provider.write_chapter(REQ)
    assert info.value.draft.title == "The Misty Garden"
    assert len(chats(fake)) == len(script)


async def test_on_text_streams_the_chapter_before_the_answer_completes(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    fake.script = ["stall", "ok"]          # half a chapter, silence, then a whole one
    seen: list[tuple[str, int]] = []
    with trio.fail_after(30):
        draft = await provider.write_chapter(
            REQ, on_text=lambda text: seen.append((text, len(chats(fake)))))
    texts = [t for t, _ in seen]
    reset = texts.index("")                 # the listener is told the retry starts afresh
    first_try, second_try = texts[:reset], texts[reset + 1:]
    assert first_try and all(n == 1 for _, n in seen[:reset])   # shown while answer 1 hung
    for attempt in (first_try, second_try):
        assert all(b.startswith(a) for a, b in zip(attempt, attempt[1:], strict=False))
    assert draft.text.startswith(first_try[-1])
    assert second_try[-1] == fake.chapter["text"] and seen[-1][1] == 2


async def test_a_broken_on_text_listener_does_not_stop_the_chapter(
        clock: MockClock, nursery: trio.Nursery) -> None:
    def broken(text: str) -> None:
        raise RuntimeError("overlay bug")

    fake, provider = await setup(nursery, "openai")
    with trio.fail_after(30):
        assert (await provider.write_chapter(REQ, on_text=broken)).title == "The Misty Garden"


async def test_fenced_answer_is_accepted(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["fenced"]
    with trio.fail_after(30):
        assert (await provider.write_chapter(REQ)).choices[0] == "Follow the humming lanterns"


async def test_unreachable_server_is_retryable(clock: MockClock, nursery: trio.Nursery) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = OpenAICompatProvider("far", ProviderConfig(
        base_url=f"http://127.0.0.1:{port}/v1", text_model="m", max_retries=1),
        backoff_base=0.01)
    async with provider:
        with trio.fail_after(30), pytest.raises(ProviderError, match="cannot reach") as info:
            await provider.write_outline(THEMES["fantasy"], "English", 1)
        assert info.value.retryable
        report = await provider.check()
    assert report["diagnosis"] == "unreachable" and not report["ok"]


async def test_outline(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "openai")
    fake.script = ["prose"]
    with trio.fail_after(30):
        outline = await provider.write_outline(THEMES["fantasy"], "English", 1)
    assert outline == "Once upon a time there was a garden. The end."
    assert "response_format" not in chats(fake)[0]["json"]


@pytest.mark.parametrize("mode, size, field", [
    ("siliconflow", "1024x576", "image_size"), ("openai", "1536x1024", "size")])
async def test_images(
        clock: MockClock, nursery: trio.Nursery, mode: str, size: str, field: str
) -> None:
    fake, provider = await setup(nursery, mode)
    with trio.fail_after(30):
        result = await provider.illustrate(ImageRequest(prompt="a garden", title="t",
                                                        theme=THEMES["horror"], seed=5))
    assert result.data == PNG and result.content_type == "image/png" and result.provider == "sf"
    sent = [r for r in fake.requests if r["path"] == "/v1/images/generations"][0]
    assert sent["json"][field] == size and THEMES["horror"].image_style in sent["json"]["prompt"]
    downloads = [r for r in fake.requests if r["path"].startswith("/files/")]
    assert len(downloads) == (1 if mode == "siliconflow" else 0)
    assert all("authorization" not in r["headers"] for r in downloads)


async def test_portrait_size_and_expired_link(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    request = ImageRequest(prompt="p", title="t", theme=THEMES["scifi"], width=720, height=1280)
    with trio.fail_after(30):
        await provider.illustrate(request)
    assert fake.requests[0]["json"]["image_size"] == "576x1024"
    url = fake.base_url.removesuffix("/v1") + fake.requests[1]["path"]
    with trio.fail_after(30), pytest.raises(ProviderError, match="link may have expired"):
        await provider._download(url)


async def test_images_unsupported_on_ollama(clock: MockClock, nursery: trio.Nursery) -> None:
    _, provider = await setup(nursery, "ollama", key="", image_model="", speech_model="")
    with pytest.raises(ProviderError, match=r"no image model — set \[providers.sf\]"):
        await provider.illustrate(ImageRequest(prompt="p", title="t", theme=THEMES["scifi"]))
    with pytest.raises(ProviderError, match="no speech model"):
        await provider.speak(SpeechRequest(text="hi"))


@pytest.mark.parametrize("mode, role, voices, voice", [
    ("siliconflow", "heroine", {}, "fake-speech:bella"),
    ("siliconflow", "villain", {"villain": "anna"}, "fake-speech:anna"),
    ("openai", "heroine", {}, "nova"),
    ("openai", "unknown-role", {"narrator": "coral"}, "coral"),
])
async def test_speech(
        clock: MockClock, nursery: trio.Nursery, mode: str, role: str, voices: dict[str, str],
        voice: str
) -> None:
    fake, provider = await setup(nursery, mode, voices=voices)
    with trio.fail_after(30):
        result = await provider.speak(SpeechRequest(text="Hello there.", role=role))
    assert result is not None and result.data == MP3 and result.content_type == "audio/mpeg"
    body = fake.requests[0]["json"]
    assert body["voice"] == voice and body["input"] == "Hello there."
    assert body["response_format"] == "mp3"
    assert ("sample_rate" in body) is (mode == "siliconflow")


async def test_check_diagnoses(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery, "siliconflow")
    with trio.fail_after(30):
        report = await provider.check()
        assert (report["ok"], report["diagnosis"]) == (True, "ok")
        assert report["latency"] >= 0
        fake.models = ["fake-text"]
        report = await provider.check()
        assert report["diagnosis"] == "model not offered"
        assert report["missing"] == ["fake-image", "fake-speech"]
        fake.api_key = "someone-else"
        report = await provider.check()
        assert report["diagnosis"] == "bad key" and KEY not in report["message"]
