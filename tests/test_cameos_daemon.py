"""Cameos through a running daemon, against a loopback model server that logs every request.

A real storyd (SQLite in tmp_path) writes its chapters with the loopback fake of an
OpenAI-compatible service (tests/fake_openai.py), whose author writes a viewer offered in a
prompt's AUDIENCE CAMEOS block into the chapter, as a model would. Chat reaches storyd through
the ingest path (`operator.ingest`), exactly as `POST chat` does. The checks are on what the
model server received: a joined name appears in prompts only after `!join`, and no request
after `!leave` or the operator's remove carries it — not in the cameo block, the memory, the
previous chapter's text, the choices taken or anywhere else.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from storyd.core.model import ChatMessage
from storyd.errors import RefusedError
from tests.conftest import wait_for_event
from tests.fake_openai import FakeOpenAI, story_author

KEY = "sk-cameo-test"
OUTLINE = "Mira, a young gardener, must stop Vorn from stealing the lanterns' light."


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.02)


async def pace() -> None:
    while True:  # noqa: ASYNC110 - a timer on purpose: keeps virtual time in small steps
        await trio.sleep(0.25)


def cameo_author(req: dict[str, Any]) -> dict[str, Any] | str:
    """story_author, plus a walk-on for the first viewer the prompt offers (as a model
    would), who also goes into the chapter's memory."""
    answer = story_author(req)
    prompt = req["messages"][-1]["content"]
    block = re.search(r"BEGIN AUDIENCE CAMEOS(.*?)END AUDIENCE CAMEOS", prompt, re.S)
    if isinstance(answer, dict) and block:
        names = [json.loads(q) for q in re.findall(r"«(\".*?\")»", block.group(1))]
        if names:
            answer["text"] += f" {names[0]} waves from the crowd."
            answer["summary"] += f" {names[0]} waved."
            answer["memory"]["characters"].append(
                {"name": names[0], "note": "a face in the crowd", "role": "", "alive": True})
    return answer


def said(fake: FakeOpenAI, start: int = 0) -> str:
    """Every request body the model server received from index `start` on, as one text."""
    return "\n".join(json.dumps(r.get("json"), ensure_ascii=False) + r.get("path", "")
                     for r in fake.requests[start:])


async def chat(d: Any, *lines: tuple[str, str, str]) -> None:
    await d.operator.ingest([ChatMessage(platform="twitch", user_id=f"twitch:{uid}", name=name,
                                         text=text) for uid, name, text in lines])


async def next_chapter(d: Any, sub: Any, number: int) -> dict[str, Any]:
    await wait_for_event(sub, "story:voting-started")
    await d.director.close()
    return await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == number)


async def test_names_reach_the_model_only_while_joined(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery) -> None:
    nursery.start_soon(pace)
    fake = FakeOpenAI("openai", api_key=KEY)
    fake.author = cameo_author
    base = await fake.start(nursery)
    d = await daemon_factory(
        providers={"fake": {"preset": "custom", "base_url": base, "api_key": KEY,
                            "text_model": "fake-text", "timeout": 3.0}},
        llm={"chain": ["fake", "offline"], "prefetch": "off"},
        images={"enabled": False}, tts={"enabled": False},
        story={"result_seconds": 0.0}, voting={"no_votes": "first"},
        audience={"cameos": True, "cameo_slots": 2})
    with d.bus.subscribe(4096) as sub, trio.fail_after(300):
        await d.director.start("fantasy", outline=OUTLINE)
        await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 1)
        assert "AUDIENCE CAMEOS" not in said(fake) and "Zed" not in said(fake)   # nobody yet
        await chat(d, ("1", "Zed🔥\u200b", "!join"), ("2", "Amy", "!JOIN now please"),
                   ("3", "\u202eFuckface", "!join"), ("4", "Mira", "!join"))
        assert [c.name for c in d.operator.cameos()] == ["Zed", "Amy"]   # blocked, taken
        mark = len(fake.requests)
        ch2 = await next_chapter(d, sub, 2)
        offered = said(fake, mark)
        assert '«\\"Zed\\"»' in offered and '«\\"Amy\\"»' in offered
        assert "Fuckface" not in said(fake) and "ecafkcuF" not in said(fake)
        assert "Zed waves from the crowd." in ch2["text"]
        assert d.director.snapshot().cameos == ("Zed",)           # the overlay's roster

        await chat(d, ("1", "Zed", "!leave"))
        mark = len(fake.requests)
        ch3 = await next_chapter(d, sub, 3)
        later = said(fake, mark)
        assert later and not re.search(r"\bzed\b", later, re.IGNORECASE)
        assert '«\\"Amy\\"»' in later and "Amy waves from the crowd." in ch3["text"]
        assert d.director.snapshot().cameos == ("Amy",)
        memory = json.dumps(d.director.story.memory.to_json())
        assert "Zed" not in memory

        removed = await d.operator.remove_cameo("amy")
        assert removed.removed == ("Amy",)
        with pytest.raises(RefusedError):
            await d.operator.remove_cameo("amy")
        await chat(d, ("2", "Amy", "!join"), ("9", "Amy", "!join"))   # no way back, nor alias
        mark = len(fake.requests)
        await next_chapter(d, sub, 4)
        ch5 = await next_chapter(d, sub, 5)
        assert ch5["number"] == 5
        assert "Amy" not in said(fake, mark) and "Zed" not in said(fake, mark)
        assert d.director.snapshot().cameos == ()
        audience = d.director.snapshot().audience
        assert audience is not None and audience.joined == 0
        assert audience.refused == 4 and audience.leaves == 1 and audience.removed == 1

        # the recap is written from the chapters, one of which named Zed as it aired: the
        # request body is cleaned on its way out (providers/openai_base.py), like every other
        recapped = trio.Event()
        planner = d.generation.planner
        keep = planner.on_recap
        planner.on_recap = lambda sid, recap: (keep(sid, recap), recapped.set())
        mark = len(fake.requests)
        await wait_for_event(sub, "story:voting-started")
        await d.director.finish()
        await recapped.wait()
        end = said(fake, mark)
        assert "someone waved." in end            # chapter 2's summary, as the recap saw it
        assert not re.search(r"\b(zed|amy)\b", end, re.IGNORECASE)

    session = await d.store.get_session(d.director.story.session_id)
    assert session["cameos"] == [{"name": "Zed", "status": "left", "chapters": [2]}]
    rows = {r["name"]: r["status"] for r in await d.store.cameos(d.director.story.session_id)}
    assert rows == {"Zed": "left", "Amy": "removed"}


async def test_viewers_who_join_before_the_story_are_offered_to_its_plan(
        clock: MockClock, daemon_factory: Any, nursery: trio.Nursery) -> None:
    nursery.start_soon(pace)
    fake = FakeOpenAI("openai", api_key=KEY)
    fake.author = cameo_author
    base = await fake.start(nursery)
    d = await daemon_factory(
        providers={"fake": {"preset": "custom", "base_url": base, "api_key": KEY,
                            "text_model": "fake-text", "timeout": 3.0}},
        llm={"chain": ["fake", "offline"], "prefetch": "off"},
        images={"enabled": False}, tts={"enabled": False}, audience={"cameos": True})
    with d.bus.subscribe(4096) as sub, trio.fail_after(300):
        await chat(d, ("1", "Early", "!join"), ("2", "Gone", "!join"), ("2", "Gone", "!leave"))
        assert d.director.snapshot().audience.waiting == 1
        await d.director.start("fantasy", outline=OUTLINE)
        ch1 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 1)
    plans = [r for r in fake.requests if "Plan a new interactive story" in json.dumps(
        r.get("json"))]
    assert plans and '«\\"Early\\"»' in json.dumps(plans[0]["json"], ensure_ascii=False)
    assert "Early waves from the crowd." in ch1["text"] and "Gone" not in said(fake)
    assert [c.name for c in d.operator.cameos()] == ["Early"]
    assert d.director.snapshot().audience.waiting == 0


async def test_storyctl_lists_and_removes_cameos(daemon_factory: Any) -> None:
    """Real time, the offline storyteller, storyctl over the real control socket."""
    from tests.test_storyctl_cli import ctl

    d = await daemon_factory(audience={"cameos": True}, voting={"duration": 120})
    with d.bus.subscribe(4096) as sub, trio.fail_after(60):
        await d.director.start("fantasy")
        await wait_for_event(sub, "story:voting-started")
        await chat(d, ("7", "Ann", "!join"), ("8", "<b>Bo</b>", "!join"))
        code, out, err = await ctl(d.socket_path, "cameo", "list")
        assert code == 0 and err == ""
        assert [line.split()[:2] for line in out.splitlines()] == [["Ann", "joined"],
                                                                  ["bBob", "joined"]]
        code, out, _ = await ctl(d.socket_path, "cameo", "remove", "ANN")
        assert code == 0 and out == "removed from every later chapter: Ann\n"
        code, _, err = await ctl(d.socket_path, "cameo", "remove", "Ann")
        assert code == 1 and "no cameo named 'Ann'" in err
        code, out, _ = await ctl(d.socket_path, "--json", "cameo", "list")
        assert json.loads(out)[0] | {"chapters": []} == {
            "viewer_id": "twitch:7", "name": "Ann", "status": "removed", "chapters": [],
            "ballots": 0}
        code, out, _ = await ctl(d.socket_path, "status")
        assert "cameos: 1 joined (!join)" in out and "removed 1" in out
