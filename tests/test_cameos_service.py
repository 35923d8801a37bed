"""The cameo service over a real SQLite store: the chat hook, floods, top voters, restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import trio

from storyd.config.structs import AudienceConfig, Config, VotingConfig
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterRequest, ChatMessage, Entity, MemoryUpdate
from storyd.core.themes import THEMES
from storyd.core.vote_parse import command_word
from storyd.core.voting import RoundRules, VoteRound
from storyd.services.cameos import CameoService
from storyd.services.story_state import StoryState
from storyd.store.db import Store


class Clock:
    def now(self) -> float:
        return 1000.0 + trio.current_time()


def config(**audience: Any) -> Config:
    return Config(audience=AudienceConfig(**{"cameos": True, **audience}),
                  voting=VotingConfig())


async def story_in(store: Store, outline: str = "Mira seeks the lantern.") -> StoryState:
    sid = await store.create_session(theme="fantasy", language="English", outline=outline,
                                     started_at=1.0, settings={})
    return StoryState(session_id=sid, theme=THEMES["fantasy"], language="English",
                      outline=outline, seed=1, memory=StoryMemory(outline))


def msg(uid: str, name: str, text: str) -> ChatMessage:
    return ChatMessage(platform="twitch", user_id=f"twitch:{uid}", name=name, text=text)


def feed(svc: CameoService, batch: list[ChatMessage]) -> None:
    """Chat as the voting service hands it over: only messages naming a command word."""
    words = svc.command_words()
    for m in batch:
        word = command_word(m.text, words)
        if word is not None:
            svc.on_command(word, m)


def request(**kw: Any) -> ChapterRequest:
    return ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=2,
                          words=40, n_choices=3, **kw)


async def test_a_join_flood_is_bounded_counted_and_published_once_a_second(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    story = await story_in(store)
    published: list[float] = []
    cfg = config(max_joined=500)
    svc = CameoService(store, Clock(), lambda: cfg, story=lambda: story,
                       publish=lambda: published.append(trio.current_time()))
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.run)
        for start in range(0, 10_000, 1000):   # ten chat batches of a thousand joins
            feed(svc, [msg(str(i), f"Fan {i}", "!join") for i in range(start, start + 1000)])
            await trio.sleep(0.1)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    view = svc.view()
    assert view.joined == 500 and view.joins == 500 and view.dropped == 9500
    assert len(published) <= 3                  # ~1 s of joins: at most one update a second
    assert len(await store.cameos(story.session_id)) == 500   # saved, in one go
    await store.aclose()


async def test_only_the_commands_count_and_off_means_off(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    story = await story_in(store)
    cfg = config(join_command="!mitmachen", leave_command="!tschuess")
    svc = CameoService(store, Clock(), lambda: cfg, story=lambda: story)
    feed(svc, [msg("1", "Ann", "!join"), msg("2", "Bo", "!mitmachenx"), msg("3", "Cy", "!a"),
                 msg("4", "Di", "!MITMACHEN bitte"), msg("5", "Ed", " !mitmachen"),
                 msg("6", "Flo", "")])
    assert [c.name for c in svc.roster.joined()] == ["Di"]
    feed(svc, [msg("4", "Di", "!tschuess")])
    assert svc.roster.forbidden() == ("Di",)
    cfg = config(cameos=False)
    feed(svc, [msg("7", "Gus", "!join")])
    assert svc.roster.joined() == []
    # off, yet a name that left stays out of what a model is sent
    out = svc.adjust_request(request(previous_text="Di laughed.", cameos=("x",)))
    assert out.previous_text == "someone laughed." and out.cameos == ()
    await store.aclose()


async def test_this_storys_top_voters_are_offered_first(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    story = await story_in(store)
    svc = CameoService(store, Clock(), lambda: config(cameo_slots=2), story=lambda: story)
    feed(svc, [msg(str(i), n, "!join") for i, n in enumerate(["Ann", "Bo", "Cy"])])
    for voters in (["twitch:2", "twitch:9"], ["twitch:2", "twitch:1"]):
        rnd = VoteRound(round_id=1, n_choices=3, rules=RoundRules(), opens_at=0, ends_at=1,
                        seed=1)
        for v in voters:
            rnd.cast(v, 0)
        svc.credit(rnd)
    assert svc.adjust_request(request()).cameos == ("Cy", "Bo")
    assert svc.view().offered == ("Cy", "Bo")
    await store.aclose()


async def test_a_close_credits_no_ballots_while_cameos_are_off(tmp_path: Path) -> None:
    # issue 23: with [audience] cameos off, the close does no per-voter cameo work
    store = await Store.open(tmp_path / "db.sqlite3")
    story = await story_in(store)
    cfg = config()
    svc = CameoService(store, Clock(), lambda: cfg, story=lambda: story)
    feed(svc, [msg("1", "Ann", "!join")])
    rnd = VoteRound(round_id=1, n_choices=3, rules=RoundRules(), opens_at=0, ends_at=1, seed=1)
    rnd.cast("twitch:1", 0)
    cfg = config(cameos=False)
    svc.credit(rnd)
    cfg = config()
    assert [(c["name"], c["ballots"]) for c in svc.listing()] == [("Ann", 0)]
    svc.credit(rnd)
    assert [(c["name"], c["ballots"]) for c in svc.listing()] == [("Ann", 1)]
    await store.aclose()


async def test_after_a_restart_the_roster_and_its_forbidden_names_come_back(
        tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    story = await story_in(store)
    svc = CameoService(store, Clock(), lambda: config(), story=lambda: story)
    feed(svc, [msg("1", "Ann", "!join"), msg("2", "Bo", "!join")])
    story.memory.apply(1, MemoryUpdate(characters=(Entity(name="Ann", note="a guard"),),
                                       event="Ann opened the gate."))
    feed(svc, [msg("1", "Ann", "!leave")])
    await svc.flush()
    await store.aclose()

    store = await Store.open(tmp_path / "db.sqlite3")
    again = StoryState(session_id=story.session_id, theme=story.theme, language="English",
                       outline=story.outline, seed=1,
                       memory=StoryMemory.from_json(story.memory.to_json()))
    svc = CameoService(store, Clock(), lambda: config(), story=lambda: again)
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.run)
        nursery.cancel_scope.cancel()
    assert [c.name for c in svc.roster.joined()] == ["Bo"]
    out = svc.adjust_request(request(context=again.memory.context(300)))
    assert "Ann" not in msgspec.json.encode(out).decode()
    assert out.cameos == ("Bo",)
    assert [e.name for e in again.memory.view().characters] == []   # scrubbed for good
    feed(svc, [msg("1", "Ann", "!join")])                         # leaving is not final
    assert [c.name for c in svc.roster.joined()] == ["Bo", "Ann"]
    await store.aclose()


async def test_a_new_story_starts_with_an_empty_roster(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    first = await story_in(store)
    current = [first]
    svc = CameoService(store, Clock(), lambda: config(), story=lambda: current[0])
    feed(svc, [msg("1", "Ann", "!join")])
    current[0] = await story_in(store)
    assert svc.cast() == () and svc.roster.joined() == []
    feed(svc, [msg("2", "Bo", "!join")])
    await svc.flush()                                  # both stories' rows are saved
    assert [r["name"] for r in await store.cameos(first.session_id)] == ["Ann"]
    assert [r["name"] for r in await store.cameos(current[0].session_id)] == ["Bo"]
    await store.aclose()
