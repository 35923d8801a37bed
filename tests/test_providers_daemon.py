"""Real providers wired through a running daemon: faults, pictures, voices, prompt budget.

A real storyd daemon (daemon_factory: SQLite in tmp_path, web server, control socket) talks
over real HTTP to the loopback fake (tests/fake_openai.py), configured as
`[providers.fake]` with `[llm] chain = ["fake", "offline"]`. The clock is a MockClock that
jumps only after 20 ms of real idleness: backoff waits, Retry-After and timeouts cost no
wall time, while loopback I/O still runs for real. A pacer task keeps the next deadline at
most PACE ahead, so a slow SQLite thread on a loaded machine nudges the clock in small
steps instead of jumping straight to a provider timeout or the test's deadline. Votes are
closed by the operator (`director.close()`) as soon as they open: no countdown is waited out.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import httpx
import msgspec
import pytest
import trio
from trio.testing import MockClock

from storyd.core.memory import StoryMemory, estimate_tokens
from storyd.core.model import ChapterDraft, DialogueLine, Entity, MemoryUpdate
from storyd.core.narration import split_sentences
from storyd.core.themes import THEMES
from storyd.services.narrator import _roles
from storyd.services.story_state import ChapterState, StoryState
from tests.conftest import wait_for_event
from tests.fake_openai import MP3, PNG, WAV, FakeOpenAI, story_author

KEY = "sk-daemon-SECRET-42"
PACE = 0.25          # virtual seconds: the largest jump a stall of the real world can cause
OUTLINE = "Mira, a young gardener, must stop Vorn from stealing the lanterns' light."


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.02)


async def pace() -> None:
    while True:  # noqa: ASYNC110 - a timer on purpose (see the docstring), not polling
        await trio.sleep(PACE)


async def launch(daemon_factory: Any, nursery: trio.Nursery, *, mode: str = "openai",
                 preset: str = "custom", images: bool = False, tts: bool = False,
                 voices: dict[str, str] | None = None, **overrides: dict[str, Any]
                 ) -> tuple[Any, FakeOpenAI]:
    nursery.start_soon(pace)
    fake = FakeOpenAI(mode, api_key=KEY)
    fake.author = story_author
    base = await fake.start(nursery)
    provider = {"preset": preset, "base_url": base, "api_key": KEY, "text_model": "fake-text",
                "image_model": "fake-image", "speech_model": "fake-speech", "timeout": 3.0,
                "max_retries": 2, "voices": voices or {}}
    sections: dict[str, dict[str, Any]] = {
        # one chapter at a time: these tests script the fake request by request
        "providers": {"fake": provider}, "llm": {"chain": ["fake", "offline"], "prefetch": "off"},
        "images": {"enabled": images, "chain": ["fake", "offline"]},
        "tts": {"enabled": tts, "chain": ["fake", "offline"]},
        "story": {"result_seconds": 0.0}, "voting": {"no_votes": "first"}}
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    return await daemon_factory(**sections), fake


def chats(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r["json"] for r in fake.requests if r["path"] == "/v1/chat/completions"]


def drain(sub: Any, name: str) -> list[dict[str, Any]]:
    """The data of every event `name` already waiting in `sub` (never blocks)."""
    out: list[dict[str, Any]] = []
    while True:
        try:
            event = msgspec.json.decode(msgspec.json.encode(sub.get_nowait()))
        except (trio.WouldBlock, trio.EndOfChannel):
            return out
        if event["event"] == name:
            out.append(event["data"])


@pytest.mark.parametrize("script, provider, attempts, errors, journal", [
    (["500", "500", "ok"], "fake", 1, [], "HTTP 500 internal server error"),
    (["429", "ok"], "fake", 1, [], "retry 1/2 in 7.00 s"),
    (["503", "ok"], "fake", 1, [], "HTTP 503 The model is overloaded"),
    (["fenced"], "fake", 1, [], ""),
    (["garbage", "ok"], "fake", 2,
     ["text: provider 'fake': answer is neither a JSON object", "— regenerating"], ""),
    (["wrong_choices"], "fake", 1,                  # refilled by one small follow-up
     ["chapter 1 from 'fake': 2 choices sent for 3; asked for 1 more choice in one "
      "follow-up: got 1"], ""),
    (["duplicate_choices", "extra_choices"], "fake", 1,
     ["1 of 3 choices repeated another choice; asked for 1 more choice"], ""),
    (["no_choices", "no_choices"], "fake", 1,       # never generic filler: the plan's people
     ["no choices sent (wanted 3); asked for 3 more choices in one follow-up: got 0",
      "choices made from the story's people and places"], ""),
    (["hang"] * 3, "offline", 2,
     ["text: provider 'fake': no answer from http://127.0.0.1:", "within 3 s",
      "the service is slow or down — trying 'offline'"], ""),
    (["truncated"] * 3, "offline", 2,
     ["text: provider 'fake': the answer stream broke off", "trying 'offline'"], ""),
    (["blocklisted"] * 2, "offline", 3,
     ["rejected chapter from 'fake': blocked words (f****) — regenerating",
      "rejected chapter from 'fake': blocked words (f****) — trying 'offline'"], ""),
    (["401"], "offline", 2,
     ["text: provider 'fake': HTTP 401 Invalid token — check [providers.fake] api_key_env "
      "(key and base_url must belong together) — trying 'offline'"], ""),
])
async def test_chapter_faults_through_the_daemon(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery,
        caplog: pytest.LogCaptureFixture, script: list[str], provider: str, attempts: int,
        errors: list[str], journal: str) -> None:
    caplog.set_level(logging.WARNING)
    d, fake = await launch(daemon_factory, nursery)
    fake.scripts["chat"] = ["ok", *script]      # the plan comes first; the faults hit chapter 1
    with d.bus.subscribe(4096) as sub, d.bus.subscribe(4096) as log, trio.fail_after(60):
        t0 = trio.current_time()
        await d.director.start("fantasy", outline=OUTLINE)
        ready = await wait_for_event(sub, "story:chapter-ready")
        elapsed = trio.current_time() - t0
        first = d.director.snapshot().providers.text
        await wait_for_event(sub, "story:voting-started")        # the story moved on
        await d.director.close()
        second = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
        messages = [e["message"] for e in drain(log, "story:error")
                    if not e["message"].startswith("plan from 'fake' completed")]
    assert ready["number"] == 1 and len(ready["choices"]) == (2 if "no_choices" in script
                                                              else 3)
    assert ready["provider"] == provider
    assert d.director.story.chapters[0].draft.attempt == attempts
    assert first[provider].ok is True and first[provider].last_latency_ms is not None
    if errors and "blocked" not in errors[0] and provider == "offline":
        assert first["fake"].ok is False and first["fake"].failures == 1
        assert errors[0].split(": ", 2)[-1][:30] in first["fake"].last_error
    assert second["provider"] == "fake"          # the fault was one-off: fake writes again
    for fragment in errors:
        assert any(fragment in m for m in messages), (fragment, messages)
    if not errors:
        assert messages == []
    assert all(KEY not in m for m in messages)
    status = d.director.snapshot().providers.text["fake"]
    assert status.ok is True                  # chapter 2 came from the fake again
    if journal:
        assert journal in caplog.text
    if "429" in script:
        assert elapsed >= 7.0                    # Retry-After honoured
    assert not fake.scripts["chat"]              # every scripted fault was played


@pytest.mark.parametrize("mode, layout, key, size", [
    ("siliconflow", "landscape", "image_size", "1024x576"),
    ("siliconflow", "portrait", "image_size", "576x1024"),
    ("openai", "landscape", "size", "1536x1024"),
    ("openai", "portrait", "size", "1024x1536"),
])
async def test_pictures_reach_the_media_cache_and_regenerate(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery, mode: str, layout: str,
        key: str, size: str) -> None:
    d, fake = await launch(daemon_factory, nursery, mode=mode, preset=mode, images=True,
                           overlay={"layout": layout})
    with d.bus.subscribe(4096) as sub, trio.fail_after(60):
        await d.director.start("cyberpunk", outline=OUTLINE)
        ready = await wait_for_event(sub, "story:chapter-ready")
        updated = await wait_for_event(sub, "story:image-updated")
        await d.director.regenerate_image()
        again = await wait_for_event(sub, "story:image-updated")
        async with httpx.AsyncClient() as client:
            resp = await client.get(d.web_url + updated["image_url"])
    assert updated["chapter"] == again["chapter"] == ready["number"] == 1
    assert resp.status_code == 200 and resp.content == PNG
    assert resp.headers["content-type"].startswith("image/png")
    name = updated["image_url"].rsplit("/", 1)[-1]
    assert (d.media_dir / name).read_bytes() == PNG
    assert d.director.snapshot().chapter.image_url == updated["image_url"]
    bodies = [r["json"] for r in fake.requests if r["path"] == "/v1/images/generations"]
    assert len(bodies) == 2 and all(b[key] == size for b in bodies)
    style = THEMES["cyberpunk"].image_style
    assert bodies[0]["prompt"].startswith(ready["title"]) and bodies[0]["prompt"].endswith(style)
    assert bodies[0]["model"] == "fake-image"
    downloads = [r for r in fake.requests if r["path"].startswith("/files/")]
    assert len(downloads) == (2 if mode == "siliconflow" else 0)
    assert all("authorization" not in r["headers"] for r in downloads)   # key stays home
    assert d.director.snapshot().providers.images["fake"].ok is True


async def test_a_chapter_airs_without_waiting_for_its_picture(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery) -> None:
    d, fake = await launch(daemon_factory, nursery, images=True)
    fake.scripts["images"] = ["hang"] * 3
    with d.bus.subscribe(4096) as sub, d.bus.subscribe(4096) as log, trio.fail_after(60):
        await d.director.start("horror", outline=OUTLINE)
        await wait_for_event(sub, "story:voting-started")
        assert d.director.snapshot().chapter.image_url is None   # the vote did not wait
        updated = await wait_for_event(sub, "story:image-updated")
        messages = [e["message"] for e in drain(log, "story:error")]
    assert updated["image_url"].endswith(".svg")                 # the offline illustrator
    assert any("images: provider 'fake': no answer from" in m and "trying 'offline'" in m
               for m in messages), messages


async def test_voices_follow_the_speakers_and_audio_reaches_the_overlay(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery) -> None:
    d, fake = await launch(daemon_factory, nursery, mode="siliconflow", preset="siliconflow",
                           tts=True, voices={"villain": "charles"},
                           story={"reveal_words_per_second": 5.0})
    narration: list[dict[str, Any]] = []
    with d.bus.subscribe(4096) as sub, trio.fail_after(60):
        await d.director.start("fantasy", outline=OUTLINE)
        ready = await wait_for_event(sub, "story:chapter-ready")
        while not narration or narration[-1]["kind"] != "choices":
            narration.append(await wait_for_event(sub, "story:narration"))
        await wait_for_event(sub, "story:voting-started")
        async with httpx.AsyncClient() as client:
            resp = await client.get(d.web_url + narration[0]["audio_url"])
    assert resp.status_code == 200 and resp.content == MP3
    sentences = list(ready["sentences"])
    assert [n["text"] for n in narration[:-1]] == sentences
    assert all(n["audio_url"] and n["audio_url"].endswith(".mp3") for n in narration)
    voice = {r["json"]["input"]: r["json"]["voice"] for r in fake.requests
             if r["path"] == "/v1/audio/speech"}
    assert all(r["json"]["sample_rate"] == 44100 for r in fake.requests
               if r["path"] == "/v1/audio/speech")
    said = [voice[s] for s in sentences]
    mira = next(i for i, s in enumerate(sentences) if "says Mira" in s)
    vorn = next(i for i, s in enumerate(sentences) if "growls Vorn" in s)
    assert said[mira] == "fake-speech:bella"        # heroine: the preset's voice
    assert said[vorn] == "fake-speech:charles"      # villain: the config's voice, quote-only line
    assert {said[i] for i in range(len(sentences)) if i not in (mira, vorn)} == {
        "fake-speech:benjamin"}                     # narration stays with the narrator
    assert voice[narration[-1]["text"]] == "fake-speech:benjamin"   # the choices read out
    assert len(d.director.story.chapters[0].audio) == len(sentences)


async def test_wav_from_the_provider_is_stored_and_served_as_wav(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery) -> None:
    d, fake = await launch(daemon_factory, nursery, mode="siliconflow", preset="siliconflow",
                           tts=True, story={"reveal_words_per_second": 5.0})
    fake.scripts["speech"] = ["wav"] * 50           # WAV bytes labelled octet-stream
    with d.bus.subscribe(4096) as sub, trio.fail_after(60):
        await d.director.start("fantasy", outline=OUTLINE)
        first = await wait_for_event(sub, "story:narration")
        async with httpx.AsyncClient() as client:
            resp = await client.get(d.web_url + first["audio_url"])
    assert first["audio_url"].endswith(".wav")
    assert resp.status_code == 200 and resp.content == WAV
    assert resp.headers["content-type"].startswith("audio/wav")


def _story(*characters: Entity) -> StoryState:
    memory = StoryMemory()
    memory.apply(1, MemoryUpdate(characters=characters))
    return StoryState(session_id=1, theme=THEMES["fantasy"], language="English", outline="",
                      seed=1, memory=memory)


def test_roles_match_lines_to_sentences_by_words_and_containment() -> None:
    text = ('Mira opens the gate. "No!" cries Vorn. There was no way back. '
            '"Hurry," says Ólaf. "Stay close." Tim shrugs. The end came.')
    lines = (DialogueLine(text="No!", speaker="Vorn"),                        # quote only
             DialogueLine(text="“Hurry,” says Olaf. “Stay close.”", speaker="olaf"),  # joined
             DialogueLine(text="Tim shrugs.", speaker="Tim"),                # no role known
             DialogueLine(text="The end came", speaker="Nobody"),            # unknown speaker
             DialogueLine(text="Mira opens the gate.", speaker=""))          # the narrator
    draft = ChapterDraft(title="t", text=text, choices=("a", "b", "c"), lines=lines,
                         memory=MemoryUpdate(characters=(Entity(name="Tim"),)))
    story = _story(Entity(name="Vorn", role="villain"), Entity(name="Ólaf", role="elder"))
    sentences = split_sentences(text)
    assert _roles(ChapterState(number=1, draft=draft, closing=False), sentences, story) == [
        "narrator", "villain", "narrator", "elder", "elder", "narrator", "narrator"]


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(estimate_tokens(m["content"]) for m in body["messages"])


def chapter_prompts(fake: FakeOpenAI) -> dict[int, dict[str, Any]]:
    """The last chat request per chapter number (a regenerated chapter asks again)."""
    out = {}
    for body in chats(fake):
        if m := re.search(r"Write chapter (\d+) of", body["messages"][-1]["content"]):
            out[int(m.group(1))] = body
    return out


async def play(d: Any, sub: Any, chapters: int) -> list[dict[str, Any]]:
    """Chapter-ready data of `chapters` chapters; each vote is closed as soon as it opens."""
    ready: list[dict[str, Any]] = []
    for n in range(1, chapters + 1):
        ready.append(await wait_for_event(sub, "story:chapter-ready", functools.partial(
            lambda c, want: c["number"] == want, want=n)))
        await wait_for_event(sub, "story:voting-started")
        await d.director.close()
    return ready


@pytest.mark.parametrize("budget, flat_from", [
    (300, 5),    # a budget the memory fills by chapter 5: the prompt is flat from there
    (900, 20),   # a long-form budget fills only by chapter ~18 at this story's pace
])
async def test_thirty_chapters_keep_the_prompt_within_budget(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery, budget: int,
        flat_from: int) -> None:
    d, fake = await launch(daemon_factory, nursery,
                           llm={"chain": ["fake", "offline"], "context_tokens": budget},
                           story={"max_chapters": 0})      # open-ended: 30 chapters
    with d.bus.subscribe(4096) as sub, trio.fail_after(120):
        await d.director.start("mystery", outline=OUTLINE)
        ready = await play(d, sub, 30)
    assert [c["provider"] for c in ready] == ["fake"] * 30     # no fallback: the story held
    prompts = chapter_prompts(fake)
    assert sorted(prompts) == list(range(1, 31))
    tokens = {n: prompt_tokens(body) for n, body in prompts.items()}
    blocks = {n: re.search(r"BEGIN MEMORY\n(.*)\nEND MEMORY", body["messages"][-1]["content"],
                           re.S) for n, body in prompts.items()}
    memory = {n: estimate_tokens(b.group(1)) if b else 0 for n, b in blocks.items()}
    assert all(v <= budget for v in memory.values()), memory
    assert memory[30] > memory[2]                 # the memory really grew ...
    assert len(d.director.story.memory.view().characters) > 20
    low, high = tokens[flat_from], tokens[30]     # ... the prompt did not
    assert abs(high - low) <= 0.2 * low, (flat_from, low, high)
    # path, previous text, the last three rounds' choices, open threads and recent sentence
    # openings are bounded too (the plan is pinned from chapter 1 on, so it is in tokens[1])
    assert max(tokens.values()) <= tokens[1] + budget + 600
