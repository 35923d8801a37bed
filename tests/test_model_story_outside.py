"""Issue 17 as someone outside the team checks it: a real daemon (daemon_factory: SQLite, the
real provider chain over real HTTP) against tests/mediocre_model.py, an OpenAI-compatible
server written from the OpenAI documentation, not from storyd's fakes, that logs every request
and answers like a mediocre model (prose and fences around its JSON, a plan with too few beats,
repeated and miscounted choices, chapters longer or shorter than asked).

Checked from its request log and the events: the first request asks for a plan; every chapter
prompt carries the protagonist, the central question and "chapter k of N"; what airs is the
model's text whole; no generic filler choice airs; and `extend` during the last vote — whose
branches are being written as closing chapters — makes the next chapter a normal one written
from the new plan, and the story ends where the new plan ends (it used to end at the old end,
and the chapters written ahead still said "of 2" in a story extended to 3).

Real time: the model answers at once; every wait is bounded by trio.fail_after.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import trio

from tests.conftest import wait_for_event
from tests.mediocre_model import GENERIC, HERO, QUESTION, MediocreModel

LIMIT = 30.0


def _text(content: str) -> str:
    data = json.loads(content[content.find("{"):content.rfind("}") + 1])
    return " ".join(str(data["text"]).split())


def _prompt(entry: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in entry["body"]["messages"])


async def _play(tmp_path: Path, daemon_factory: Any, max_chapters: int,
                extend_at: tuple[int, int] | None = None
                ) -> tuple[MediocreModel, list[dict[str, Any]]]:
    model = MediocreModel(tmp_path / "requests.jsonl", seed=3)
    base = model.start()
    try:
        d = await daemon_factory(
            providers={"mediocre": {"preset": "custom", "base_url": base,
                                    "text_model": "mediocre-7b", "max_retries": 1}},
            llm={"chain": ["mediocre", "offline"], "prefetch": "all",
                 "chapter_deadline": LIMIT},
            story={"max_chapters": max_chapters, "result_seconds": 0.0,
                   "reveal_words_per_second": 0.0},
            images={"enabled": False})
        aired: list[dict[str, Any]] = []
        with d.bus.subscribe(4096) as sub, trio.fail_after(LIMIT * 2):
            await d.operator.start(theme="mystery", seed=5)   # the same prompts every run
            while True:
                ready = await wait_for_event(sub, "story:chapter-ready", timeout=LIMIT)
                aired.append(ready)
                if ready["closing"]:
                    break
                await wait_for_event(sub, "story:voting-started", timeout=LIMIT)
                if extend_at is not None and ready["number"] == extend_at[0]:
                    await d.operator.extend(extend_at[1])
                await d.operator.vote("ann", "Ann", 1)
                await d.operator.close()
            await wait_for_event(sub, "story:ended", timeout=LIMIT)
        return model, aired
    finally:
        model.stop()


async def test_a_mediocre_model_tells_one_story_as_it_wrote_it(
        tmp_path: Path, daemon_factory: Any, nursery: trio.Nursery) -> None:
    model, aired = await _play(tmp_path, daemon_factory, max_chapters=4)
    requests = model.requests()
    assert requests[0]["kind"] == "plan"
    chapters = [r for r in requests if r["kind"] == "chapter"]
    assert chapters
    for r in chapters:
        prompt = _prompt(r)
        assert HERO in prompt and QUESTION in prompt, r["chapter"]
        assert f"chapter {r['chapter']} of 4" in prompt, r["chapter"]
    assert [a["number"] for a in aired] == [1, 2, 3, 4] and aired[-1]["closing"]
    written = {_text(r["content"]) for r in chapters}
    for a in aired:
        assert a["provider"] == "mediocre"
        assert " ".join(a["text"].split()) in written, a["number"]   # whole, not cut
        for c in a["choices"]:
            assert not any(g.casefold() in c["text"].casefold() for g in GENERIC)
    nursery.cancel_scope.cancel()


async def test_extend_during_the_last_vote_rewrites_its_closing_branches(
        tmp_path: Path, daemon_factory: Any, nursery: trio.Nursery) -> None:
    model, aired = await _play(tmp_path, daemon_factory, max_chapters=2, extend_at=(1, 3))
    assert [(a["number"], a["closing"]) for a in aired] == [(1, False), (2, False), (3, True)]
    assert len(aired[1]["choices"]) >= 2
    requests = model.requests()
    by_text = {_text(r["content"]): r for r in requests if r["kind"] == "chapter"}
    chapter_two = by_text[" ".join(aired[1]["text"].split())]
    prompt = _prompt(chapter_two)
    assert "chapter 2 of 3" in prompt and "FINAL chapter" not in prompt
    assert re.search(r"chapter 2 of 2\b", prompt) is None
    nursery.cancel_scope.cancel()


async def test_a_recap_written_after_the_end_reaches_the_recap_card(
        tmp_path: Path, daemon_factory: Any, nursery: trio.Nursery) -> None:
    """The recap request follows the closing chapter; when the model answers after the story
    has ended (here: the closing chapter aired at once, the recap takes 1 s), the recap card
    on air was built without it — it showed the first chapter's summary and no kind of
    ending, and the model's recap reached only the store. Now the card is built again."""
    model = MediocreModel(tmp_path / "requests.jsonl", seed=3, delays={"recap": 1.0})
    base = model.start()
    try:
        d = await daemon_factory(
            providers={"mediocre": {"preset": "custom", "base_url": base,
                                    "text_model": "mediocre-7b", "max_retries": 1}},
            llm={"chain": ["mediocre", "offline"], "chapter_deadline": LIMIT},
            story={"max_chapters": 2, "reveal_words_per_second": 0.0, "result_seconds": 0.0},
            images={"enabled": False})
        with d.bus.subscribe(4096) as sub, trio.fail_after(LIMIT):
            await d.operator.start(theme="mystery", seed=5)
            await wait_for_event(sub, "story:voting-started", timeout=LIMIT)
            await d.operator.close()
            ready = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2,
                                         timeout=LIMIT)
            assert ready["closing"]
            await wait_for_event(sub, "story:ended", timeout=LIMIT)
            first = (await wait_for_event(sub, "story:state",
                                          lambda s: s.get("recap") is not None))["recap"]
            assert "wanted the tide charter back" not in first["logline"]   # not written yet
            later = (await wait_for_event(
                sub, "story:state", lambda s: "wanted the tide charter back" in
                ((s.get("recap") or {}).get("logline") or "")))["recap"]
        assert later["ending"] == "triumph" and len(later["moments"]) == 4
        assert later["ended_at_ms"] == first["ended_at_ms"]   # on air for the same time
    finally:
        model.stop()
    nursery.cancel_scope.cancel()


async def test_extend_while_the_plan_is_written_makes_one_plan_that_long(
        tmp_path: Path, daemon_factory: Any, nursery: trio.Nursery) -> None:
    """`storyctl start` then at once `storyctl extend 12`: the plan request is on its way.
    `extend` used to send a second plan request of its own and wait for it; chapter 1 then
    followed one plan ("chapter 1 of 8") and the rest of the story the other (with a real
    model: another protagonist). Now the one plan is made 12 chapters long."""
    model = MediocreModel(tmp_path / "requests.jsonl", seed=3, delays={"plan": 0.5})
    base = model.start()
    try:
        d = await daemon_factory(
            providers={"mediocre": {"preset": "custom", "base_url": base,
                                    "text_model": "mediocre-7b", "max_retries": 1}},
            llm={"chain": ["mediocre", "offline"], "chapter_deadline": LIMIT},
            story={"max_chapters": 8, "reveal_words_per_second": 0.0},
            images={"enabled": False})
        with d.bus.subscribe(4096) as sub, trio.fail_after(LIMIT):
            await d.operator.start(theme="mystery", seed=5)
            reply = await d.operator.extend(12)
            assert reply.planned_chapters == 12
            ready = await wait_for_event(sub, "story:chapter-ready", timeout=LIMIT)
            assert ready["number"] == 1 and ready["provider"] == "mediocre"
            plan = d.operator.plan()
        assert plan.plan is not None and plan.plan.chapters == 12
        assert plan.planned_chapters == 12
        requests = model.requests()
        assert [r["kind"] for r in requests].count("plan") == 1
        chapter_one = [r for r in requests if r["kind"] == "chapter" and r["chapter"] == 1]
        assert chapter_one and all("chapter 1 of 12" in _prompt(r) for r in chapter_one)
    finally:
        model.stop()
    nursery.cancel_scope.cancel()
