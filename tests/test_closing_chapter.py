"""The climax without waiting (issue 17, item 5): when the next chapter is the last — the
planned length (`[story] max_chapters`) or an operator's `finish` — the branches written during
the vote are closing chapters, so the closing chapter airs with at most 1 s of dead air from a
model that takes 6 s. `finish` lets the running vote run out; `finish --now` closes it at once.

The real director, voting and generation services on the in-memory fakes, under autojump_clock;
the storyteller takes 6 s (virtual) per chapter. Dead air is the time from
`story:generation-started` to `story:chapter-ready`: the audience sees no new chapter meanwhile
(the result card before it is part of the show).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from storyd.core import events as ev
from tests.memory_store import ScriptedStoryteller, Stage, stage
from tests.test_services import msg, next_event, running

MODEL_SECONDS = 6.0
VOTE_SECONDS = 30


def six_second_model(tmp_path: Path, **sections: dict[str, Any]) -> Stage:
    return stage(tmp_path, ScriptedStoryteller(delay=MODEL_SECONDS),
                 voting={"duration": VOTE_SECONDS}, llm={"prefetch": "all"}, **sections)


async def closing_dead_air(sub: Any) -> tuple[float, Any, Any]:
    """(dead air in seconds, generation-started, chapter-ready) of the closing chapter."""
    started = await next_event(sub, ev.GenerationStarted, lambda e: e.data.closing)
    t0 = trio.current_time()
    ready = await next_event(sub, ev.ChapterReady)
    return trio.current_time() - t0, started, ready


async def test_the_planned_last_chapter_airs_without_waiting(tmp_path: Path,
                                                             autojump_clock: Any) -> None:
    st = six_second_model(tmp_path, story={"max_chapters": 2})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            await trio.sleep(1)
            closing_asked = [r for r in st.teller.requests if r.closing]
            assert len(closing_asked) == 3            # one closing branch per choice, at once
            assert all(r.chapter_number == 2 and r.n_choices == 0 for r in closing_asked)
            st.voting.submit([msg("ann", "!b")])
            ended = await next_event(sub, ev.VotingEnded)
            assert trio.current_time() - opened == pytest.approx(VOTE_SECONDS, abs=0.01)
            dead_air, started, ready = await closing_dead_air(sub)
            assert started.data.prefetched
            assert dead_air <= 1.0
            assert ready.data.closing and ready.data.choices == () and ready.data.number == 2
            assert ready.data.title == "Chapter 2: Path 1.1 after the start"   # the winner's
            assert ended.data.winner == 1
            await next_event(sub, ev.Ended)
        nursery.cancel_scope.cancel()
    assert not [r for r in st.teller.requests if r.chapter_number == 2 and not r.closing]


async def test_finish_during_a_vote_lets_it_run_out_and_the_ending_airs_without_waiting(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = six_second_model(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            await trio.sleep(10)                     # normal branches are written by now
            assert not [r for r in st.teller.requests if r.closing]
            st.voting.submit([msg("ann", "!c"), msg("bob", "!c")])
            await st.director.finish()
            assert st.director.machine.state == "voting" and st.voting.is_open()
            assert st.director.snapshot().state == "voting"
            st.voting.submit([msg("cy", "!a")])      # the vote goes on: ballots still count
            ended = await next_event(sub, ev.VotingEnded)
            assert trio.current_time() - opened == pytest.approx(VOTE_SECONDS, abs=0.01)
            assert ended.data.winner == 2 and ended.data.voters == 3 and not ended.data.forced
            dead_air, started, ready = await closing_dead_air(sub)
            assert started.data.prefetched and dead_air <= 1.0
            assert ready.data.closing and ready.data.choices == ()
            assert ready.data.title == "Chapter 2: Path 1.2 after the start"
            await next_event(sub, ev.Ended)
        nursery.cancel_scope.cancel()
    closing = [r for r in st.teller.requests if r.closing]
    assert sorted(r.winning_choice for r in closing) == sorted(
        f"Path 1.{i} after the start" for i in range(3))   # every branch written again


async def test_finish_now_closes_the_vote_at_once(tmp_path: Path,
                                                  autojump_clock: Any) -> None:
    st = six_second_model(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await trio.sleep(3)
            st.voting.submit([msg("ann", "!a")])
            asked = trio.current_time()
            await st.director.finish(now=True)
            ended = await next_event(sub, ev.VotingEnded)
            assert trio.current_time() == asked and ended.data.winner == 0
            _dead_air, started, ready = await closing_dead_air(sub)
            assert started.data.closing and ready.data.closing and ready.data.choices == ()
            # written from the moment of `finish`, under the result card: 6 s - 5 s
            assert trio.current_time() - asked == pytest.approx(MODEL_SECONDS, abs=0.01)
            await next_event(sub, ev.Ended)
        nursery.cancel_scope.cancel()


async def test_finish_during_the_result_card_closes_with_the_winner(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = six_second_model(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([msg("ann", "!b")])
            await st.director.close()
            await next_event(sub, ev.VotingEnded)
            await st.director.finish()
            ready = await next_event(sub, ev.ChapterReady)
            assert ready.data.closing and ready.data.title == "Chapter 2: Path 1.1 after the start"
        nursery.cancel_scope.cancel()
