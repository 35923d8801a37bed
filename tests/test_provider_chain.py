"""The provider chain over a real loopback fake, ending in a tiny fake last-resort provider.

For each fault: what the operator sees (on_error), which provider and attempt produced the
chapter, and that a chapter came out.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest
import trio
from trio.testing import MockClock

from storyd.config.structs import (
    Config,
    ImagesConfig,
    LLMConfig,
    ProviderConfig,
    SafetyConfig,
    TTSConfig,
)
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    ImageRequest,
    ImageResult,
    SpeechRequest,
    SpeechResult,
)
from storyd.core.plan import StoryPlan
from storyd.core.plan_parse import complete_plan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.safety import Blocklist
from storyd.core.themes import THEMES
from storyd.errors import ConfigError, ProviderError
from storyd.providers.base import ChapterDefect
from storyd.providers.chain import Chains, ProviderChain, build_chains
from tests.fake_openai import FakeOpenAI

REQ = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=1, words=40,
                     n_choices=3)


class LastResort:
    """A tiny last-resort provider implementing all three protocols."""

    name = "offline"

    def __init__(self, words: str = "") -> None:
        self.words = words
        self.calls = 0

    async def write_plan(self, request: PlanRequest) -> StoryPlan:
        plan = complete_plan(None, request, source="offline")
        return msgspec.structs.replace(plan, premise=f"A calm plan. {self.words}")

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        self.calls += 1
        return ChapterDraft(title="Fallback", text=f"{request.winning_choice} happens. "
                            f"{self.words} " + "The story goes on quietly. " * 8,
                            choices=("Go left", "Go right", "Wait"), provider="offline")

    async def illustrate(self, request: ImageRequest) -> ImageResult:
        return ImageResult(data=b"<svg/>", content_type="image/svg+xml", provider="offline")

    async def speak(self, request: SpeechRequest) -> SpeechResult | None:
        return None


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.05)


async def setup(nursery: trio.Nursery, *, mode: str = "siliconflow", coherence: bool = False,
                last: LastResort | None = None) -> tuple[FakeOpenAI, Chains, list[str]]:
    fake = FakeOpenAI(mode, api_key="sk-chain-secret")
    base = await fake.start(nursery)
    cfg = Config(
        providers={"sf": ProviderConfig(preset=mode, base_url=base, api_key="sk-chain-secret",  # type: ignore[arg-type]
                                        text_model="fake-text", image_model="fake-image",
                                        speech_model="fake-speech", timeout=5.0)},
        llm=LLMConfig(chain=("sf",), coherence_check=coherence),
        images=ImagesConfig(chain=("sf",)), tts=TTSConfig(chain=("sf", "offline")),
        safety=SafetyConfig(blocklist=("gloomwort",)))
    errors: list[str] = []
    resort = last or LastResort()
    chains = build_chains(cfg, on_error=errors.append, offline_factory=lambda kind: resort,
                          backoff_base=0.01)
    nursery.start_soon(_close_at_end, chains)
    return fake, chains, errors


async def _close_at_end(chains: Chains) -> None:
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await chains.aclose()


@pytest.mark.parametrize("script, provider, attempts, seen", [
    ([], "sf", [("sf", True)], []),
    (["429", "ok"], "sf", [("sf", True)], []),
    (["503", "ok"], "sf", [("sf", True)], []),
    (["fenced"], "sf", [("sf", True)], []),
    (["garbage", "ok"], "sf", [("sf", False), ("sf", True)],
     ["neither a JSON object", "regenerating"]),
    (["wrong_choices"], "sf", [("sf", True)],            # refilled by one follow-up
     ["chapter 1 from 'sf': 2 choices sent for 3; asked for 1 more choice in one follow-up: "
      "got 1"]),
    (["extra_choices"], "sf", [("sf", True)], ["5 choices for 3: the first 3 kept"]),
    (["duplicate_choices"], "sf", [("sf", True)],
     ["1 of 3 choices repeated another choice; asked for 1 more choice in one follow-up"]),
    (["no_title"], "sf", [("sf", True)], []),
    (["think_prose"], "sf", [("sf", True)], []),
    (["truncated_done"], "sf", [("sf", True)], []),
    (["story_prose"], "sf", [("sf", True)], ["asked for 1 more choice"]),  # prose: 2 listed
    (["no_choices", "ok"], "sf", [("sf", True)],          # no regeneration: a follow-up
     ["asked for 3 more choices in one follow-up: got 3"]),
    (["no_choices", "no_choices"], "sf", [("sf", False), ("sf", True)],   # never filler
     ["only 1 real choice(s) (no choices sent (wanted 3); asked for 3 more choices in one "
      "follow-up: got 0",
      "— regenerating"]),
    (["short", "garbage"], "offline", [("sf", False), ("sf", False), ("offline", True)],
     ["not a chapter: 6 words in 2 sentences — regenerating", "trying 'offline'"]),
    (["blocklisted", "no_choices"], "sf", [("sf", False), ("sf", True)],
     ["blocked words (f****) — regenerating", "asked for 3 more choices"]),
    (["blocklisted", "ok"], "sf", [("sf", False), ("sf", True)],
     ["blocked words (f****) — regenerating"]),
    (["blocklisted"] * 2, "offline", [("sf", False), ("sf", False), ("offline", True)],
     ["blocked words", "trying 'offline'", "'offline' stepped in because: rejected chapter"]),
    (["garbage"] * 2, "offline", [("sf", False), ("sf", False), ("offline", True)],
     ["trying 'offline'", "'offline' stepped in because: provider 'sf': answer is neither"]),
    (["500"] * 3, "offline", [("sf", False), ("offline", True)],
     ["HTTP 500 internal server error — server trouble; will retry — trying 'offline'"]),
    (["503"] * 3, "offline", [("sf", False), ("offline", True)], ["HTTP 503 The model is"]),
    (["hang"] * 3, "offline", [("sf", False), ("offline", True)], ["no answer from"]),
    (["truncated"] * 3, "offline", [("sf", False), ("offline", True)], ["broke off"]),
    (["401"], "offline", [("sf", False), ("offline", True)],
     ["provider 'sf': HTTP 401 Invalid token — check [providers.sf] api_key_env"]),
])
async def test_chapter_faults(clock: MockClock, nursery: trio.Nursery, script: list[str],
                              provider: str, attempts: list[tuple[str, bool]],
                              seen: list[str]) -> None:
    fake, chains, errors = await setup(nursery)
    fake.script = list(script)
    with trio.fail_after(120):
        outcome = await chains.text.write_chapter(REQ)
    assert outcome.provider == provider == outcome.draft.provider
    assert [(a.provider, a.ok) for a in outcome.attempts] == attempts
    assert outcome.draft.title and len(outcome.draft.choices) == 3
    if provider == "sf":
        assert 1 <= outcome.draft.attempt <= len(attempts)   # the kept answer may be the 1st
        assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0
        assert chains.text.status()["offline"].used_because == ""
        assert chains.text.status()["offline"].stepped_in == 0
    else:
        assert chains.text.status()["offline"].used_because
        assert chains.text.status()["offline"].stepped_in == 1   # storyctl status shows it
    sent = [r for r in fake.requests if r["path"] == "/v1/chat/completions"]
    assert outcome.calls == len(sent) >= 1      # every request counted, follow-ups included
    for fragment in seen:
        assert any(fragment in e for e in errors), (fragment, errors)
    if not seen:
        assert errors == []
    assert all("sk-chain-secret" not in e for e in errors)
    written = [r for r in sent if "Write chapter" in r["json"]["messages"][-1]["content"]]
    assert chains.text.last_prompt == written[-1]["json"]["messages"]   # not the follow-up


async def test_failing_provider_cools_down_then_is_tried_again(clock: MockClock,
                                                               nursery: trio.Nursery) -> None:
    fake, chains, errors = await setup(nursery)
    fake.script = ["500"] * 9
    with trio.fail_after(300):
        for _ in range(3):
            assert (await chains.text.write_chapter(REQ)).provider == "offline"
        assert any("failed 3 times in a row; skipping it for 60 s" in e for e in errors)
        status = chains.text.status()["sf"]
        assert status.ok is False and status.cooling_down is True
        assert abs(status.cooldown_until_ms - (time.time() + 60) * 1000) < 5000
        assert status.cooldown_reason.startswith("failed 3 times in a row; last: ")
        assert "HTTP 500" in status.cooldown_reason and "HTTP 500" in status.last_error
        before = len(fake.requests)
        outcome = await chains.text.write_chapter(REQ)
        assert [a.provider for a in outcome.attempts] == ["offline"]
        assert len(fake.requests) == before            # skipped: not even asked
        because = chains.text.status()["offline"].used_because
        assert because.startswith("'sf' is cooling down (failed 3 times in a row; last: ")
        clock.jump(61)
        outcome = await chains.text.write_chapter(REQ)
    assert outcome.provider == "sf"
    assert chains.text.status()["sf"].ok is True
    assert chains.text.status()["sf"].cooldown_until_ms is None
    assert chains.text.status()["sf"].cooldown_reason == ""
    assert chains.text.status()["offline"].last_latency_ms is not None


async def test_rule_checks_are_off_by_default_and_advice_when_on(
        clock: MockClock, nursery: trio.Nursery) -> None:
    request = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=2,
                             words=40, n_choices=3, winning_choice="Summon the thunderbird",
                             avoid_choices=("Climb the crooked tower",))
    fake, chains, errors = await setup(nursery)
    with trio.fail_after(60):
        outcome = await chains.text.write_chapter(request)
    # coherence_check = false: no rule runs; the repeated earlier choice is replaced
    assert [(a.provider, a.ok) for a in outcome.attempts] == [("sf", True)]
    assert "Climb the crooked tower" not in outcome.draft.choices
    assert len(outcome.draft.choices) == 3 and outcome.calls == 2
    assert errors == ["chapter 2 from 'sf': 1 of 3 choices repeated earlier ones; asked for 1 "
                      "more choice in one follow-up: got 1"]

    fake2, chains2, errors2 = await setup(nursery, coherence=True)
    with trio.fail_after(60):
        outcome = await chains2.text.write_chapter(request)
    # on: one regeneration for the rule issue, then the provider's answer airs anyway
    assert [(a.provider, a.ok) for a in outcome.attempts] == [("sf", False), ("sf", True)]
    assert outcome.provider == "sf" and outcome.draft.title == "The Misty Garden"
    assert "does not follow up the winning choice" in outcome.attempts[0].error
    assert any("kept despite" in e for e in errors2)


async def test_prompt_puts_the_winning_choice_last(clock: MockClock,
                                                  nursery: trio.Nursery) -> None:
    request = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=2,
                             words=40, n_choices=4, winning_choice="Summon the thunderbird",
                             avoid_choices=("Climb the crooked tower",))
    fake, chains, _ = await setup(nursery)
    with trio.fail_after(60):
        await chains.text.write_chapter(request)
    body = [r for r in fake.requests if r["path"] == "/v1/chat/completions"][0]["json"]
    prompt = body["messages"][-1]["content"]
    assert prompt.rstrip().endswith("Begin this chapter by showing that choice happening "
                                    "and its consequence.")
    assert prompt.index("Do not repeat") < prompt.index("The audience voted for")
    assert "exactly 4" in prompt                        # json_object: the count in prose
    assert body["response_format"] == {"type": "json_object"}


async def test_cost_counts_every_call_and_estimates_without_usage(
        clock: MockClock, nursery: trio.Nursery) -> None:
    fake, chains, _ = await setup(nursery)
    fake.script = ["500", "wrong_choices"]          # a retry, then a repair follow-up
    with trio.fail_after(60):
        outcome = await chains.text.write_chapter(REQ)
    assert outcome.calls == 3 and not outcome.tokens_estimated
    assert outcome.prompt_tokens > 100 and outcome.completion_tokens > 50
    status = chains.text.status()["sf"]
    assert (status.calls, status.prompt_tokens) == (3, outcome.prompt_tokens)
    ollama, chains3, _ = await setup(nursery, mode="ollama")
    with trio.fail_after(60):
        outcome = await chains3.text.write_chapter(REQ)
    assert outcome.calls == 1 and outcome.tokens_estimated
    assert outcome.completion_tokens > 50
    assert chains3.text.status()["sf"].tokens_estimated is True


async def test_on_text_reaches_the_chain_caller(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, chains, _ = await setup(nursery)
    seen: list[str] = []
    with trio.fail_after(60):
        outcome = await chains.text.write_chapter(REQ, on_text=seen.append)
    assert len(seen) > 3 and seen[-1] == fake.chapter["text"]
    assert outcome.draft.text == fake.chapter["text"]
    fake.script = ["401"]                           # the last resort ignores on_text
    with trio.fail_after(60):
        outcome = await chains.text.write_chapter(REQ, on_text=seen.append)
    assert outcome.provider == "offline"


async def test_model_review_pass(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, chains, errors = await setup(nursery, coherence=True)
    fake.script = ["ok", "review_bad", "ok", "ok"]
    with trio.fail_after(60):
        outcome = await chains.text.write_chapter(REQ)
    assert [(a.provider, a.ok) for a in outcome.attempts] == [("sf", False), ("sf", True)]
    assert "Tom speaks although he died" in outcome.attempts[0].error
    assert len([r for r in fake.requests if r["path"] == "/v1/chat/completions"]) == 4


async def test_last_resort_with_blocked_words_never_airs(clock: MockClock,
                                                         nursery: trio.Nursery) -> None:
    fake, chains, errors = await setup(nursery, last=LastResort("gloomwort"))
    fake.script = ["401"]
    with trio.fail_after(60), pytest.raises(ProviderError, match="every text provider failed"):
        await chains.text.write_chapter(REQ)
    fake.script = ["401"]
    with trio.fail_after(60), pytest.raises(ProviderError, match="every text provider failed"):
        await chains.text.write_plan(PlanRequest(theme=THEMES["fantasy"], language="English",
                                                 chapters=8))


async def test_images_speech_and_outline(clock: MockClock, nursery: trio.Nursery) -> None:
    fake, chains, errors = await setup(nursery)
    image = ImageRequest(prompt="garden", title="t", theme=THEMES["fantasy"])
    with trio.fail_after(60):
        outcome = await chains.images.illustrate(image)
        assert outcome.provider == "sf" and outcome.draft.content_type == "image/png"
        fake.script = ["401"]
        outcome = await chains.images.illustrate(image)
        assert outcome.provider == "offline" and outcome.draft.content_type == "image/svg+xml"
        speech = await chains.speech.speak(SpeechRequest(text="Hello."))
        assert speech.provider == "sf" and speech.draft is not None
        plan = await chains.text.write_plan(PlanRequest(theme=THEMES["fantasy"],
                                                        language="English", chapters=8))
        assert plan.provider == "sf" and plan.draft.source == "sf"
        assert plan.draft.title == "The Misty Garden"     # the fake answers a chapter: read
        assert len(plan.draft.beats) == 8                 # what fits, completed the rest
    assert [p.name for p in chains.speech.providers] == ["sf", "offline"]   # not doubled
    assert set(msgspec.to_builtins(chains.status())) == {"text", "images", "speech"}


class Broken:
    name = "broken"

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        raise RuntimeError("bug in a provider")


async def test_crashing_provider_and_crashing_callback_do_not_stop_the_story() -> None:
    def on_error(message: str) -> None:
        raise ValueError("bad callback")

    chain = ProviderChain("text", [Broken(), LastResort()], on_error=on_error)
    outcome = await chain.write_chapter(REQ)
    assert outcome.provider == "offline"
    assert "crashed: RuntimeError('bug in a provider')" in outcome.attempts[0].error


def test_build_chains_defaults_and_errors() -> None:
    from storyd.providers.offline_media import OfflineIllustrator, OfflineNarrator
    from storyd.storyteller.story import OfflineStoryteller

    chains = build_chains(Config())
    assert isinstance(chains.text.providers[0], OfflineStoryteller)
    assert isinstance(chains.images.providers[0], OfflineIllustrator)
    assert isinstance(chains.speech.providers[0], OfflineNarrator)
    assert len(chains.text.providers) == 1
    cfg: Any = Config(llm=LLMConfig(chain=("nowhere",)))
    with pytest.raises(ConfigError, match=r"add a \[providers.nowhere\] section"):
        build_chains(cfg)
    with pytest.raises(ConfigError, match="chain is empty"):
        ProviderChain("text", [])


class Streaming:
    """Streams each answer as it writes it; the first is not a chapter (regenerated), or
    has a blocked word."""

    name = "streamer"
    streams_text = True

    def __init__(self, first: str) -> None:
        self.first, self.calls = first, 0

    async def write_chapter(self, request: ChapterRequest, *,
                            on_text: Any = None) -> ChapterDraft:
        self.calls += 1
        if self.calls == 1:
            if on_text is not None:
                on_text(self.first)
            raise ChapterDefect("provider 'streamer': not a chapter: 2 words in 1 sentence",
                                ChapterDraft(title="t", text=self.first, choices=()))
        text = "Mira climbs the tower at dawn. " * 3 + "The bell rings below her, twice."
        if on_text is not None:
            for end in range(10, len(text) + 1, 10):
                on_text(text[:end])
        return ChapterDraft(title="Dawn", text=text, choices=("Ring it", "Run", "Wait"))


@pytest.mark.parametrize("first", [
    "The end.",                                                   # no chapter: regenerated
    "Mira opens the gate at last. The gloomwort blooms in every crack of the old wall "
    "tonight, and nobody sleeps.",                                # a chapter, but blocked
])
async def test_an_attempt_that_does_not_air_never_reaches_the_overlay(first: str) -> None:
    chain = ProviderChain("text", [Streaming(first), LastResort()],
                          blocklist=Blocklist(("gloomwort",)))
    shown: list[str] = []
    outcome = await chain.write_chapter(REQ, on_text=shown.append)
    assert outcome.provider == "streamer" and outcome.draft.attempt == 2
    assert shown and all(outcome.draft.text.startswith(t) for t in shown)   # the aired one
    assert not any(first[:12] in t for t in shown)
