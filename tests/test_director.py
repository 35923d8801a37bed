"""The story loop in-process, on a real daemon (SQLite files, sockets), under autojump_clock.

Tests wait on bus events, never on sleeps; virtual time makes 30-second votes instant.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest
import trio

from storyd import config as config_mod
from storyd.app import Daemon, run_daemon
from storyd.core.model import ChatMessage, GiftMessage
from storyd.errors import RefusedError
from storyd.services.voting import FLUSH_EVERY, MAX_ACTIVITY_VIEWERS
from tests.conftest import make_config_text, wait_for_event


def msg(viewer: str, text: str) -> ChatMessage:
    return ChatMessage(platform="test", user_id=viewer, name=viewer.title(), text=text)


def rows(daemon, sql: str, *args):
    db = sqlite3.connect(daemon.data_dir / "storyd.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


async def test_a_story_plays_votes_advances_and_finishes(daemon_factory, autojump_clock):
    d = await daemon_factory()
    with d.bus.subscribe(4096) as sub:
        await d.director.start("horror", language="English")
        ready = await wait_for_event(sub, "story:chapter-ready")
        assert ready["number"] == 1 and len(ready["choices"]) == 3
        await wait_for_event(sub, "story:voting-started")
        result = d.voting.submit([
            msg("ann", "!a"), msg("bob", "!B"), msg("cy", "b"), msg("dee", "!2 go go"),
            msg("ann", "!c"),            # a changed vote: Ann now on c
            msg("eve", "!f"),            # no choice f in a 3-choice round: invalid
            msg("fay", "hello chat"),    # chatter
        ])
        assert (result.accepted, result.invalid) == (5, 1)
        snap = d.director.snapshot()
        assert snap.voting is not None and snap.voting.counts == (0, 3, 1)
        assert snap.voting.voters == 4 and snap.voting.invalid == 1
        closed = await d.director.close()
        assert closed.winner == 1
        ended = await wait_for_event(sub, "story:voting-ended")
        assert ended["winner_key"] == "b" and ended["counts"] == [0, 3, 1]
        ch2 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
        assert ch2["title"]
        await wait_for_event(sub, "story:voting-started")
        await d.director.finish()
        closing = await wait_for_event(sub, "story:chapter-ready", lambda c: c["closing"])
        assert closing["number"] == 3 and not closing["choices"]
        await wait_for_event(sub, "story:ended")
    assert d.director.machine.state == "ended"
    sid = d.director.story.session_id
    assert rows(d, "SELECT status FROM story_sessions WHERE id=?", sid) == [("finished",)]
    assert [r[0] for r in rows(d, "SELECT number FROM story_chapters WHERE session_id=? "
                                  "ORDER BY number", sid)] == [1, 2, 3]
    # ballots, not messages: Ann voted twice but counts once
    stats = dict(rows(d, "SELECT viewer_id, ballots FROM story_viewer_stats"))
    assert stats["ann"] == 1 and "eve" not in stats and "fay" not in stats


async def test_the_loop_advances_by_itself_when_the_countdown_ends(daemon_factory,
                                                                   autojump_clock):
    d = await daemon_factory(voting={"duration": 15, "no_votes": "first"})
    with d.bus.subscribe(4096) as sub:
        await d.director.start("scifi")
        started = await wait_for_event(sub, "story:voting-started")
        t0 = trio.current_time()
        ended = await wait_for_event(sub, "story:voting-ended")
        assert ended["winner"] == 0 and ended["tie_break"] == "no_votes_first"
        assert trio.current_time() - t0 >= 14.9  # never before the countdown ends
        assert started["ends_at"] > 0
        await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)


async def test_max_chapters_finishes_on_its_own(daemon_factory, autojump_clock):
    d = await daemon_factory(story={"max_chapters": 3}, voting={"duration": 15})
    with d.bus.subscribe(4096) as sub:
        await d.director.start("comedy")
        await wait_for_event(sub, "story:ended")
    chapters = d.director.story.chapters
    assert [c.number for c in chapters] == [1, 2, 3]
    assert chapters[-1].closing and chapters[-1].draft.choices == ()


async def test_commands_that_do_not_fit_are_refused_and_change_nothing(daemon_factory,
                                                                       autojump_clock):
    d = await daemon_factory()
    with pytest.raises(RefusedError, match="no vote is running"):
        await d.director.close()
    with pytest.raises(RefusedError, match="no story is running"):
        await d.director.end()
    with pytest.raises(RefusedError, match="unknown theme"):
        await d.director.start("westerns")
    with d.bus.subscribe(4096) as sub:
        await d.director.start("mystery")
        with pytest.raises(RefusedError, match="already running"):
            await d.director.start("fantasy")
        await wait_for_event(sub, "story:voting-started")
        with pytest.raises(RefusedError, match="does not exist"):
            await d.director.next(5)
        assert d.director.machine.state == "voting"
        first = d.director.story.session_id
        await d.director.start("fantasy", force=True)
        assert d.director.story.session_id != first
    assert rows(d, "SELECT status FROM story_sessions WHERE id=?", first) == [("ended",)]


async def test_operator_next_forces_a_choice(daemon_factory, autojump_clock):
    d = await daemon_factory()
    with d.bus.subscribe(4096) as sub:
        await d.director.start("adventure")
        await wait_for_event(sub, "story:voting-started")
        d.voting.submit([msg("a", "!a"), msg("b", "!a")])
        await d.director.next(2)
        ended = await wait_for_event(sub, "story:voting-ended")
        assert ended["winner"] == 2 and ended["forced"] and ended["tie_break"] == "forced"
        ch2 = await wait_for_event(sub, "story:chapter-ready")
        assert ch2["number"] == 2
    first = d.director.story.chapters[0]
    assert first.chosen == 2
    assert d.director.story.memory.view() is not None


async def test_gift_weight_only_when_enabled(daemon_factory, autojump_clock):
    d = await daemon_factory(voting={"gift_votes": True, "diamonds_per_vote": 5,
                                     "max_gift_weight": 3})
    with d.bus.subscribe(4096) as sub:
        await d.director.start("superhero")
        await wait_for_event(sub, "story:voting-started")
        d.voting.submit([msg("g", "!c")])
        added = d.voting.submit_gift(GiftMessage(platform="t", user_id="g", name="G",
                                                   diamonds=100))
        assert added == 3
        assert d.director.snapshot().voting.counts == (0, 0, 4)
        assert d.voting.submit_gift(GiftMessage(platform="t", user_id="nobody", name="N",
                                                  diamonds=100)) == 0


async def test_generation_failure_falls_back_and_never_blanks(daemon_factory, autojump_clock):
    # a provider chain whose remote provider is unreachable: the offline storyteller takes over
    d = await daemon_factory(
        providers={"dead": {"preset": "custom", "base_url": "http://127.0.0.1:9/v1",
                            "text_model": "m", "max_retries": 0, "timeout": 1.0}},
        llm={"chain": ["dead", "offline"]})
    with d.bus.subscribe(4096) as sub:
        await d.director.start("fantasy")
        error = await wait_for_event(sub, "story:error")
        assert "dead" in error["message"]
        ready = await wait_for_event(sub, "story:chapter-ready")
        assert ready["provider"] == "offline"


async def test_demo_plays_stories_back_to_back_with_a_simulated_audience(daemon_factory,
                                                                        autojump_clock):
    d = await daemon_factory(demo_mode=True, story={"max_chapters": 2, "next_story_seconds": 5},
                             demo={"voting_duration": 15, "viewers": 30,
                                   "votes_per_second": 20})
    with d.bus.subscribe(4096) as sub:
        ended = await wait_for_event(sub, "story:voting-ended")
        assert ended["voters"] > 5            # the simulated crowd voted
        first = await wait_for_event(sub, "story:ended")
        nxt = await wait_for_event(sub, "story:state",
                                   lambda s: s["session_id"] not in (None, first["session_id"]))
        assert nxt["state"] == "generating"
    demo = d.chat_health["demo"]
    assert demo.state == "connected" and demo.votes_accepted > 5 and demo.messages > 0


async def test_likes_and_joins_feed_viewer_stats_and_never_a_vote(daemon_factory,
                                                                  autojump_clock):
    d = await daemon_factory()
    stats = "SELECT viewer_id, name, ballots, likes, joins FROM story_viewer_stats ORDER BY 1"
    d.voting.submit_activity("zed", "Zed", joins=1)          # no story yet: still counted
    d.voting.submit_activity("zed", "", likes=3)
    d.voting.submit_activity("nobody", "N")                   # nothing to count
    await trio.sleep(FLUSH_EVERY * 3)
    await d.store.stats()   # store calls run in order: the flusher's write has landed
    assert rows(d, stats) == [("zed", "Zed", 0, 3, 1)]
    with d.bus.subscribe(4096) as sub:
        await d.director.start("mystery")
        await wait_for_event(sub, "story:voting-started")
        d.voting.submit([msg("ann", "!b")])
        for _ in range(5):
            d.voting.submit_activity("ann", "Ann", likes=2)
        d.voting.submit_activity("bo", "Bo", likes=1, joins=1)
        voting = d.director.snapshot().voting
        assert voting is not None and voting.counts == (0, 1, 0) and voting.voters == 1
        await trio.sleep(FLUSH_EVERY * 3)
        await d.store.stats()
        assert rows(d, stats) == [("ann", "Ann", 0, 10, 0), ("bo", "Bo", 0, 1, 1),
                                  ("zed", "Zed", 0, 3, 1)]
        await d.director.close()
        ended = await wait_for_event(sub, "story:voting-ended")
    assert ended["voters"] == 1 and ended["counts"] == [0, 1, 0]
    assert rows(d, stats) == [("ann", "Ann", 1, 10, 0), ("bo", "Bo", 0, 1, 1),
                              ("zed", "Zed", 0, 3, 1)]
    top = await d.store.top_voters()
    assert [(v["viewer_id"], v["ballots"], v["likes"]) for v in top] == [("ann", 1, 10)]
    assert d.voting.activity_dropped == 0


async def test_a_full_activity_buffer_flushes_early_and_counts_drops(daemon_factory,
                                                                    autojump_clock):
    d = await daemon_factory()
    for i in range(MAX_ACTIVITY_VIEWERS + 1):
        d.voting.submit_activity(f"v{i}", "", likes=1)
    assert d.voting.activity_dropped == 1          # the one over the bound
    await trio.sleep(FLUSH_EVERY / 2)                 # early: before the usual flush
    await d.store.stats()
    assert rows(d, "SELECT COUNT(*), SUM(likes) FROM story_viewer_stats") == [
        (MAX_ACTIVITY_VIEWERS, MAX_ACTIVITY_VIEWERS)]
    d.voting.submit_activity("late", "Late", joins=1)   # room again once saved
    await trio.sleep(FLUSH_EVERY * 3)
    await d.store.stats()
    assert rows(d, "SELECT joins FROM story_viewer_stats WHERE viewer_id='late'") == [(1,)]
    assert d.voting.activity_dropped == 1


async def test_a_resumed_vote_keeps_the_time_it_had_left(tmp_path: Path, autojump_clock):
    path = tmp_path / "storyd.toml"
    path.write_text(make_config_text(tmp_path, {"voting": {"duration": 60}}))
    cfg = config_mod.load(path)
    async with trio.open_nursery() as nursery:
        d: Daemon = await nursery.start(functools.partial(run_daemon, cfg, path))
        with d.bus.subscribe(4096) as sub:
            await d.director.start("mystery")
            started = await wait_for_event(sub, "story:voting-started")
        assert started["duration_ms"] == 60_000
        d.voting.submit([msg("ann", "!b")])
        sid = d.director.story.session_id
        await trio.sleep(20)                      # a third of the vote passes …
        nursery.cancel_scope.cancel()             # … and the daemon dies mid-vote
    (heartbeat, ends), = rows(d, "SELECT heartbeat_at, ends_at FROM story_rounds")
    assert 39 <= ends - heartbeat <= 41
    await trio.sleep(300)                         # down for five minutes
    async with trio.open_nursery() as nursery:
        d2: Daemon = await nursery.start(functools.partial(run_daemon, cfg, path))
        assert d2.director.story.session_id == sid
        assert d2.director.machine.state == "voting"
        voting = d2.director.snapshot().voting
        assert voting is not None and voting.counts == (0, 1, 0)
        left = voting.ends_at / 1000 - d2.clock.now()
        assert 39 <= left <= 41                   # not 60, not the 10 s minimum
        assert abs(voting.duration_ms - 60_000) <= 1   # the countdown bar keeps its length
        (stored,), = rows(d2, "SELECT ends_at FROM story_rounds")
        assert stored == pytest.approx(voting.ends_at / 1000, abs=0.01)
        nursery.cancel_scope.cancel()
