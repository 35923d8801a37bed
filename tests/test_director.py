"""The story loop on the real services with fakes at the ports (in-memory store, scripted
storyteller), under autojump_clock: no threads or sockets, so virtual time never runs out
while something real works (the flaky one-in-five failures of the real-daemon version).

Tests wait on bus events, never on sleeps; virtual time makes 30-second votes instant. The
real daemon (SQLite, sockets, kill -9) is covered by test_e2e_process.py, test_web_*.py and
test_event_schema.py with the real clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from storyd.chat import demo
from storyd.chat.base import ChatHealth
from storyd.core.model import ChatMessage, GiftMessage
from storyd.errors import RefusedError
from storyd.services.viewer_activity import MAX_VIEWERS as MAX_ACTIVITY_VIEWERS
from storyd.services.voting import FLUSH_EVERY
from tests.conftest import wait_for_event
from tests.memory_store import MemoryStore, ScriptedStoryteller, stage


def msg(viewer: str, text: str) -> ChatMessage:
    return ChatMessage(platform="test", user_id=viewer, name=viewer.title(), text=text)


async def test_a_story_plays_votes_advances_and_finishes(tmp_path: Path,
                                                         autojump_clock: Any) -> None:
    st = stage(tmp_path)
    d = st.director
    async with trio.open_nursery() as nursery:
        await nursery.start(d.run)
        with st.bus.subscribe(4096) as sub:
            await d.start("horror", language="English")
            ready = await wait_for_event(sub, "story:chapter-ready")
            assert ready["number"] == 1 and len(ready["choices"]) == 3
            await wait_for_event(sub, "story:voting-started")
            result = st.voting.submit([
                msg("ann", "!a"), msg("bob", "!B"), msg("cy", "b"), msg("dee", "!2 go go"),
                msg("ann", "!c"),            # a changed vote: Ann now on c
                msg("eve", "!f"),            # no choice f in a 3-choice round: invalid
                msg("fay", "hello chat"),    # chatter
            ])
            assert (result.accepted, result.invalid) == (5, 1)
            snap = d.snapshot()
            assert snap.voting is not None and snap.voting.counts == (0, 3, 1)
            assert snap.voting.voters == 4 and snap.voting.invalid == 1
            closed = await d.close()
            assert not isinstance(closed, dict) and closed.winner == 1
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["winner_key"] == "b" and ended["counts"] == [0, 3, 1]
            ch2 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
            assert ch2["title"]
            await wait_for_event(sub, "story:voting-started")
            await d.finish()
            closing = await wait_for_event(sub, "story:chapter-ready", lambda c: c["closing"])
            assert closing["number"] == 3 and not closing["choices"]
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()
    assert d.machine.state == "ended"
    assert st.store.sessions[1]["status"] == "finished"
    assert [c["number"] for c in st.store.chapters[1]] == [1, 2, 3]
    # ballots, not messages: Ann voted twice but counts once
    assert st.store.viewers["ann"]["ballots"] == 1
    assert "eve" not in st.store.viewers and "fay" not in st.store.viewers


async def test_the_loop_advances_by_itself_when_the_countdown_ends(tmp_path: Path,
                                                                   autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"duration": 15, "no_votes": "first"})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("scifi")
            started = await wait_for_event(sub, "story:voting-started")
            t0 = trio.current_time()
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["winner"] == 0 and ended["tie_break"] == "no_votes_first"
            assert trio.current_time() - t0 >= 14.9  # never before the countdown ends
            assert started["ends_at"] > 0
            await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
        nursery.cancel_scope.cancel()


async def test_max_chapters_finishes_on_its_own(tmp_path: Path, autojump_clock: Any) -> None:
    finished: list[int] = []
    st = stage(tmp_path, story={"max_chapters": 3}, voting={"duration": 15},
               on_finished=finished.append)
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("comedy")
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()
    story = st.director.story
    assert story is not None and finished == [story.session_id]
    assert [c.number for c in story.chapters] == [1, 2, 3]
    assert story.chapters[-1].closing and story.chapters[-1].draft.choices == ()


async def test_commands_that_do_not_fit_are_refused_and_change_nothing(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    d = st.director
    async with trio.open_nursery() as nursery:
        await nursery.start(d.run)
        with pytest.raises(RefusedError, match="no vote is running"):
            await d.close()
        with pytest.raises(RefusedError, match="no story is running"):
            await d.end()
        with pytest.raises(RefusedError, match="unknown theme"):
            await d.start("westerns")
        with st.bus.subscribe(4096) as sub:
            await d.start("mystery")
            with pytest.raises(RefusedError, match="already running"):
                await d.start("fantasy")
            await wait_for_event(sub, "story:voting-started")
            with pytest.raises(RefusedError, match="does not exist"):
                await d.next(5)
            assert d.machine.state == "voting"
            assert d.story is not None
            first = d.story.session_id
            await d.start("fantasy", force=True)
            assert d.story.session_id != first
            await d.end()
            # after the end nothing is on air: no new picture for the last chapter
            with pytest.raises(RefusedError, match="no chapter on air"):
                await d.regenerate_image()
        nursery.cancel_scope.cancel()
    assert st.store.sessions[first]["status"] == "ended"


async def test_operator_next_forces_a_choice(tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("adventure")
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("a", "!a"), msg("b", "!a")])
            await st.director.next(2)
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["winner"] == 2 and ended["forced"] and ended["tie_break"] == "forced"
            ch2 = await wait_for_event(sub, "story:chapter-ready")
            assert ch2["number"] == 2
        nursery.cancel_scope.cancel()
    assert st.director.story is not None
    assert st.director.story.chapters[0].chosen == 2
    assert st.store.chapters[1][0]["chosen"] == 2


async def test_gift_weight_only_when_enabled(tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"gift_votes": True, "diamonds_per_vote": 5,
                                 "max_gift_weight": 3})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("superhero")
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("g", "!c")])
            added = st.voting.submit_gift(GiftMessage(platform="t", user_id="g", name="G",
                                                      diamonds=100))
            assert added == 3
            voting = st.director.snapshot().voting
            assert voting is not None and voting.counts == (0, 0, 4)
            assert st.voting.submit_gift(GiftMessage(platform="t", user_id="nobody", name="N",
                                                     diamonds=100)) == 0
        nursery.cancel_scope.cancel()


async def test_demo_audience_votes_and_the_story_moves_on(tmp_path: Path,
                                                          autojump_clock: Any) -> None:
    st = stage(tmp_path, story={"max_chapters": 2}, voting={"duration": 15},
               demo={"viewers": 30, "votes_per_second": 20})
    health = ChatHealth(source="demo")

    def n_choices() -> int | None:
        r = st.voting.round
        return r.n_choices if r is not None and not r.closed else None

    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        await nursery.start(demo.run, st.config.demo, st.voting, health, n_choices)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("random")
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["voters"] > 5            # the simulated crowd voted
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()
    assert health.state == "connected" and health.votes_accepted > 5 and health.messages > 0


async def test_likes_and_joins_feed_viewer_stats_and_never_a_vote(tmp_path: Path,
                                                                  autojump_clock: Any) -> None:
    st = stage(tmp_path)
    v, viewers = st.voting, st.store.viewers
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        v.submit_activity("zed", "Zed", joins=1)          # no story yet: still counted
        v.submit_activity("zed", "", likes=3)
        v.submit_activity("nobody", "N")                   # nothing to count
        await trio.sleep(FLUSH_EVERY * 3)
        assert viewers == {"zed": {"name": "Zed", "ballots": 0, "wins": 0, "likes": 3,
                                   "joins": 1}}
        with st.bus.subscribe(4096) as sub:
            await st.director.start("mystery")
            await wait_for_event(sub, "story:voting-started")
            v.submit([msg("ann", "!b")])
            for _ in range(5):
                v.submit_activity("ann", "Ann", likes=2)
            v.submit_activity("bo", "Bo", likes=1, joins=1)
            voting = st.director.snapshot().voting
            assert voting is not None and voting.counts == (0, 1, 0) and voting.voters == 1
            await trio.sleep(FLUSH_EVERY * 3)
            assert (viewers["ann"]["likes"], viewers["ann"]["ballots"]) == (10, 0)
            assert (viewers["bo"]["likes"], viewers["bo"]["joins"]) == (1, 1)
            await st.director.close()
            ended = await wait_for_event(sub, "story:voting-ended")
        nursery.cancel_scope.cancel()
    assert ended["voters"] == 1 and ended["counts"] == [0, 1, 0]
    assert (viewers["ann"]["ballots"], viewers["ann"]["wins"]) == (1, 1)
    assert viewers["bo"]["ballots"] == 0 and viewers["zed"]["likes"] == 3
    assert v.activity.dropped == 0


async def test_a_full_activity_buffer_flushes_early_and_counts_drops(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    v = st.voting
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        for i in range(MAX_ACTIVITY_VIEWERS + 1):
            v.submit_activity(f"v{i}", "", likes=1)
        assert v.activity.dropped == 1                   # the one over the bound
        await trio.sleep(FLUSH_EVERY / 2)                # early: before the usual flush
        assert len(st.store.viewers) == MAX_ACTIVITY_VIEWERS
        v.submit_activity("late", "Late", joins=1)       # room again once saved
        await trio.sleep(FLUSH_EVERY * 3)
        assert st.store.viewers["late"]["joins"] == 1
        assert v.activity.dropped == 1
        nursery.cancel_scope.cancel()


async def test_a_resumed_vote_keeps_the_time_it_had_left(tmp_path: Path,
                                                         autojump_clock: Any) -> None:
    store = MemoryStore()     # what survives the restart
    st = stage(tmp_path, store=store, voting={"duration": 60})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("mystery")
            started = await wait_for_event(sub, "story:voting-started")
        assert started["duration_ms"] == 60_000
        st.voting.submit([msg("ann", "!b")])
        assert st.director.story is not None
        sid = st.director.story.session_id
        await trio.sleep(20)                      # a third of the vote passes …
        nursery.cancel_scope.cancel()             # … and the daemon dies mid-vote
    rnd = store.rounds[(sid, 1)]
    assert 39 <= rnd["ends_at"] - rnd["heartbeat_at"] <= 41
    await trio.sleep(300)                         # down for five minutes
    st2 = stage(tmp_path, store=store, voting={"duration": 60})
    async with trio.open_nursery() as nursery:
        await nursery.start(st2.director.run)
        d2 = st2.director
        assert d2.story is not None and d2.story.session_id == sid
        assert d2.machine.state == "voting"
        voting = d2.snapshot().voting
        assert voting is not None and voting.counts == (0, 1, 0)
        assert voting.ends_at is not None
        left = voting.ends_at / 1000 - d2.clock.now()
        assert 39 <= left <= 41                   # not 60, not the 10 s minimum
        assert abs(voting.duration_ms - 60_000) <= 1   # the countdown bar keeps its length
        assert store.rounds[(sid, 1)]["ends_at"] == pytest.approx(voting.ends_at / 1000,
                                                                  abs=0.01)
        nursery.cancel_scope.cancel()


async def test_a_slow_storyteller_is_covered_and_costs_are_counted(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=2.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await wait_for_event(sub, "story:voting-started")
            await st.director.close()
            await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
        nursery.cancel_scope.cancel()
    costs = st.director.snapshot().costs
    assert [c.chapter for c in costs] == [1, 2]
    assert all(c.provider == "scripted" for c in costs)


async def test_a_seed_reproduces_the_story(tmp_path: Path, autojump_clock: Any) -> None:
    """`storyctl start --seed N`: the same theme (even "random"), outline, chapter and choices,
    written by the real offline storyteller; a language it cannot write is said in status."""
    from storyd.config import loader as config_mod
    from storyd.providers.chain import build_chains

    offline = build_chains(config_mod.defaults(), on_error=lambda _m: None).text
    st = stage(tmp_path, offline)   # type: ignore[arg-type]
    d = st.director
    seen = []
    async with trio.open_nursery() as nursery:
        await nursery.start(d.run)
        for seed in (4242, 4242, 4243):
            with st.bus.subscribe(4096) as sub:
                await d.start("random", language="German", seed=seed, force=True)
                ready = await wait_for_event(sub, "story:chapter-ready")
                story = d.story
                assert story is not None
                seen.append((story.theme.id, story.outline, ready["text"], ready["choices"]))
        assert seen[0] == seen[1]
        assert seen[2][2] != seen[0][2]
        assert " und " in seen[0][2] or " der " in seen[0][2]   # the storyteller wrote German
        assert d.snapshot().language_notice is None
        await d.start("fantasy", language="Spanish", force=True)
        assert d.snapshot().language_notice == (
            "the offline storyteller writes English and German; Spanish needs a model provider "
            "(offline chapters are written in English)")
        nursery.cancel_scope.cancel()


async def test_an_extended_story_keeps_its_end_across_a_restart(tmp_path: Path,
                                                                autojump_clock: Any) -> None:
    # with `[story] max_chapters = 0` a story ends only where `storyctl extend` put it: a
    # restart forgot that (StoryState.extended was not stored) and the story ran on for ever
    store = MemoryStore()
    st = stage(tmp_path, store=store, story={"max_chapters": 0})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("mystery")
            await wait_for_event(sub, "story:voting-started")
        d = st.director
        assert d.story is not None and d.story.planned_chapters(0) == 0   # no end of its own
        await st.generation.extend(d.story, 3, d.machine.state, False)
        assert d.story.planned_chapters(0) == 3
        nursery.cancel_scope.cancel()                 # the daemon dies mid-vote
    st2 = stage(tmp_path, store=store, story={"max_chapters": 0})
    async with trio.open_nursery() as nursery:
        await nursery.start(st2.director.run)
        d2 = st2.director
        assert d2.story is not None and d2.story.planned_chapters(0) == 3
        aired: list[dict[str, Any]] = []
        with st2.bus.subscribe(4096) as sub:
            await d2.close()
            while not (aired and aired[-1]["closing"]):
                aired.append(await wait_for_event(sub, "story:chapter-ready"))
                if not aired[-1]["closing"]:
                    await wait_for_event(sub, "story:voting-started")
                    await d2.close()
        assert [(c["number"], c["closing"]) for c in aired] == [(2, False), (3, True)]
        nursery.cancel_scope.cancel()
