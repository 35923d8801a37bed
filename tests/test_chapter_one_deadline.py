"""Chapter 1 is under `[llm] chapter_deadline` like every other chapter (issue 22, item 6):
the story's opening request (its plan) and chapter 1 share one deadline; past it the
offline storyteller opens the story. A provider that trickles one byte per second, or that
stalls after its first byte, can no longer hold chapter 1 back.

A real daemon (daemon_factory) on the real clock talks over real HTTP to the loopback fake
(tests/fake_openai.py "trickle" / "first_byte"), whose own timeouts are far longer than the
deadline: the deadline is what ends the wait.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.conftest import wait_for_event
from tests.fake_openai import FakeOpenAI, story_author

DEADLINE = 3.0
PATIENT = {"timeout": 120.0, "first_byte_timeout": 60.0, "read_timeout": 60.0,
           "stall_timeout": 60.0, "max_retries": 1}


@pytest.mark.parametrize("script", [
    ["trickle"],            # the plan trickles in at one byte per second
    ["first_byte"],         # the plan's first byte, then silence
    ["ok", "trickle"],      # the plan comes; chapter 1 trickles
    ["ok", "first_byte"],   # the plan comes; chapter 1 stalls after its first byte
], ids=["plan-trickles", "plan-stalls", "chapter-trickles", "chapter-stalls"])
async def test_a_slow_provider_cannot_hold_chapter_one_past_the_deadline(
        daemon_factory: Any, nursery: trio.Nursery, script: list[str]) -> None:
    fake = FakeOpenAI("openai")
    fake.author = story_author
    fake.script = list(script)
    base = await fake.start(nursery)
    d = await daemon_factory(
        providers={"fake": {"preset": "custom", "base_url": base, "text_model": "fake-text",
                            **PATIENT}},
        llm={"chain": ["fake", "offline"], "prefetch": "off", "chapter_deadline": DEADLINE},
        images={"enabled": False})
    with d.bus.subscribe(4096) as sub:
        t0 = trio.current_time()
        await d.operator.start(theme="fantasy")
        error = await wait_for_event(sub, "story:error", lambda e: "within" in e["message"],
                                     timeout=DEADLINE + 10)
        ready = await wait_for_event(sub, "story:chapter-ready", timeout=DEADLINE + 10)
        aired_after = trio.current_time() - t0
    assert ready["number"] == 1 and ready["provider"] == "offline"
    assert f"within {DEADLINE:g} s" in error["message"] and "offline" in error["message"]
    assert DEADLINE - 0.1 <= aired_after <= DEADLINE + 1.5, aired_after
    assert len([r for r in fake.requests if r["path"] == "/v1/chat/completions"]) == len(script)
    story = d.director.story
    assert story is not None and story.plan is not None   # the story has its plan
    fake.stop()
    nursery.cancel_scope.cancel()
