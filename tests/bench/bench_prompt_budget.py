"""Prompt size per chapter through the real director and a fake provider, chapters 1..50.

Run: .venv/bin/python tests/bench/bench_prompt_budget.py [--chapters 50] [--budget 300,900]

A real storyd daemon (SQLite, web server, control socket in a temp dir) writes every chapter
through `[providers.fake]`, the loopback fake OpenAI server with `story_author`: a story that
adds a new character, place, item, event and summary every chapter, so the memory grows as
fast as a talkative model makes it grow. Each vote is closed as soon as it opens. For every
chapter the prompt the fake received is measured with `estimate_tokens` (all messages), and
its memory block separately. The issue's target: chapter 5 and chapter 50 within 20%.
A MockClock (autojump after 10 ms of real idleness) skips the waits; figures are tokens.
A pacer keeps the next deadline within 0.25 s, so a slow SQLite thread never makes the
clock leap into a provider timeout.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import trio
from trio.testing import MockClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import make_config_text  # noqa: E402
from fake_openai import FakeOpenAI, story_author  # noqa: E402

from storyd.app import run_daemon  # noqa: E402
from storyd.config import loader as config_mod  # noqa: E402
from storyd.core.memory import estimate_tokens  # noqa: E402

OUTLINE = "Mira, a young gardener, must stop Vorn from stealing the lanterns' light."


async def pace() -> None:
    while True:  # noqa: ASYNC110 - a timer on purpose (see the docstring), not polling
        await trio.sleep(0.25)


async def measure(chapters: int, budget: int) -> tuple[dict[int, int], dict[int, int], int]:
    """(prompt tokens per chapter, memory-block tokens per chapter, fallbacks)."""
    tmp = Path(tempfile.mkdtemp(prefix="storyd-bench-"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pace)
        fake = FakeOpenAI("openai")
        fake.author = story_author
        base = await fake.start(nursery)
        text = make_config_text(tmp, {
            "providers": {"fake": {"base_url": base, "text_model": "fake-text"}},
            "llm": {"chain": ["fake", "offline"], "context_tokens": budget},
            "images": {"enabled": False},
            "story": {"result_seconds": 0.0, "max_chapters": 0},     # open-ended
            "voting": {"no_votes": "first"}})
        path = tmp / "storyd.toml"
        path.write_text(text)
        daemon: Any = await nursery.start(functools.partial(run_daemon, config_mod.load(path),
                                                            path))
        fallbacks = 0
        with daemon.bus.subscribe(4096) as sub:
            await daemon.director.start("mystery", outline=OUTLINE)
            done = 0
            async for typed in sub:
                event = msgspec.to_builtins(typed)
                if event["event"] == "story:chapter-ready":
                    done = event["data"]["number"]
                    fallbacks += event["data"]["provider"] != "fake"
                elif event["event"] == "story:voting-started":
                    if done >= chapters:
                        break
                    await daemon.director.close()
        daemon.stop()
        fake.stop()
        nursery.cancel_scope.cancel()
    tokens: dict[int, int] = {}
    memory: dict[int, int] = {}
    for r in fake.requests:
        if r["path"] != "/v1/chat/completions":
            continue
        user = r["json"]["messages"][-1]["content"]
        if m := re.search(r"Write chapter (\d+) of", user):
            n = int(m.group(1))
            tokens[n] = sum(estimate_tokens(x["content"]) for x in r["json"]["messages"])
            block = re.search(r"BEGIN MEMORY\n(.*)\nEND MEMORY", user, re.S)
            memory[n] = estimate_tokens(block.group(1)) if block else 0
    return tokens, memory, fallbacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=int, default=50)
    parser.add_argument("--budget", default="300,900", help="[llm] context_tokens values")
    args = parser.parse_args()
    for budget in (int(b) for b in args.budget.split(",")):
        tokens, memory, fallbacks = trio.run(measure, args.chapters, budget,
                                             clock=MockClock(autojump_threshold=0.01))
        last = max(tokens)
        t5, tn = tokens[5], tokens[last]
        print(f"context_tokens={budget}: prompt tokens ch1 {tokens[1]}, ch5 {t5}, ch10 "
              f"{tokens[10]}, ch20 {tokens[20]}, ch{last} {tn}; ch{last}/ch5 = {tn / t5:.2f} "
              f"({'within' if abs(tn - t5) <= 0.2 * t5 else 'OUTSIDE'} the 20% target); "
              f"memory block max {max(memory.values())} <= {budget}; "
              f"chapters not from the fake: {fallbacks}")


if __name__ == "__main__":
    main()
