"""Director, voting and generation services on fakes at the ports, under autojump_clock.

No threads, no sockets, no SQLite (tests/memory_store.py): virtual time is the only time, so
these never run out of it on a loaded machine. A scripted storyteller decides how long a
provider takes; tests wait on bus events and read the in-memory store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from storyd.bus import EventBus, Subscription
from storyd.core import events as ev
from storyd.core.model import ChatMessage
from storyd.core.resume import plan_resume
from storyd.core.snapshot import Snapshot
from storyd.errors import StorageError
from tests.memory_store import ScriptedStoryteller, Stage, stage


def msg(viewer: str, text: str) -> ChatMessage:
    return ChatMessage(platform="test", user_id=viewer, name=viewer.title(), text=text)


async def next_event(sub: Subscription, kind: type[Any], pred: Any = lambda e: True) -> Any:
    with trio.fail_after(600):
        async for event in sub:
            if isinstance(event, kind) and pred(event):
                return event
    raise AssertionError("bus closed")


async def running(st: Stage, nursery: trio.Nursery) -> None:
    await nursery.start(st.director.run)


def hero_names(st: Stage) -> set[str]:
    story = st.director.story
    assert story is not None
    return {c.name for c in story.memory.view().characters}


async def test_prefetch_all_airs_the_winner_at_the_close_and_keeps_the_losers(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=6.0))
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await trio.testing.wait_all_tasks_blocked()
            assert len(st.teller.requests) == 4            # chapter 1 + one per choice
            st.voting.submit([msg("ann", "!b"), msg("bob", "!b"), msg("cy", "!c")])
            ended = await next_event(sub, ev.VotingEnded)
            closed_at = trio.current_time()
            gen = await next_event(sub, ev.GenerationStarted)
            ready = await next_event(sub, ev.ChapterReady)
            assert gen.data.prefetched and ended.data.winner == 1
            # the result card (5 s) is all the wait: nothing is written after the close
            assert trio.current_time() - closed_at == pytest.approx(5.0, abs=0.01)
            assert ready.data.title == "Chapter 2: Path 1.1 after the start"
            assert len(st.teller.requests) == 4
        nursery.cancel_scope.cancel()
    kept = sorted((b["after_chapter"], b["choice"]) for b in st.store.branches)
    assert kept == [(1, 0), (1, 2)]                        # the road not taken, stored
    heroes = hero_names(st)
    assert "Hero of Path 1.1 after the start" in heroes    # the winner's memory applies ...
    assert not heroes & {"Hero of Path 1.0 after the start", "Hero of Path 1.2 after the start"}
    assert st.generation.costs[-1].chapter == 2


async def test_prefetch_off_starts_writing_at_the_close_under_the_result_card(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=8.0), llm={"prefetch": "off"})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await trio.testing.wait_all_tasks_blocked()
            assert len(st.teller.requests) == 1
            await st.director.close()
            await next_event(sub, ev.VotingEnded)
            closed_at = trio.current_time()
            await next_event(sub, ev.GenerationStarted)
            waiting = await next_event(sub, ev.State, lambda s: s.data.notice is not None)
            assert waiting.data.generating is not None and waiting.data.generating.waiting
            assert trio.current_time() - closed_at == pytest.approx(6.0, abs=0.01)  # 5 + 1
            await next_event(sub, ev.ChapterReady)
            assert trio.current_time() - closed_at == pytest.approx(8.0, abs=0.01)  # not 13
        nursery.cancel_scope.cancel()


async def test_a_chapter_not_ready_at_the_close_is_revealed_as_it_streams(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=10.0), llm={"prefetch": "off"})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await st.director.next(1)
            await next_event(sub, ev.GenerationStarted)
            shown = await next_event(sub, ev.State, lambda s: bool(
                s.data.generating and s.data.generating.preview))
            assert shown.data.generating.preview == "It went on from Path 1.1 after the start."
            ready = await next_event(sub, ev.ChapterReady)
            assert ready.data.number == 2
        nursery.cancel_scope.cancel()


async def test_next_with_another_choice_during_the_result_card_wins(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=6.0), llm={"prefetch": "off"})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([msg("a", "!a")])
            await st.director.close()
            await next_event(sub, ev.VotingEnded)        # a's chapter is being written ...
            await trio.sleep(1)
            await st.director.next(2)                    # ... when the operator picks c
            ready = await next_event(sub, ev.ChapterReady)
            assert ready.data.title == "Chapter 2: Path 1.2 after the start"
            await next_event(sub, ev.VotingStarted)
            await st.director.close()
            ready = await next_event(sub, ev.ChapterReady)
            assert ready.data.number == 3                # no stale chapter left behind
        nursery.cancel_scope.cancel()
    story = st.director.story
    assert story is not None and story.chapters[0].chosen == 2


async def test_leaders_follow_the_vote_with_a_late_switch(tmp_path: Path,
                                                          autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=20.0),
               llm={"prefetch": "leaders", "chapter_deadline": 60})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([msg("a1", "!c"), msg("a2", "!c"), msg("b1", "!b")])
            await trio.sleep(1)
            assert st.director.upcoming.prefetching() == [1, 2]     # c and b lead
            cancelled = st.teller.cancelled
            st.voting.submit([msg(f"x{i}", "!a") for i in range(5)])   # a takes the lead
            await trio.sleep(1)
            assert st.director.upcoming.prefetching() == [0, 2]     # a late switch to a ...
            assert st.teller.cancelled == cancelled + 1      # ... and b's stopped, unwritten
            assert st.teller.requests[-1].winning_choice == "Path 1.0 after the start"
            await next_event(sub, ev.ChapterReady, lambda c: c.data.number == 2)
        nursery.cancel_scope.cancel()


async def test_a_hanging_provider_gives_way_to_the_offline_storyteller_at_the_deadline(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(hang=True), llm={"chapter_deadline": 5})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            t0 = trio.current_time()
            await st.director.start("horror", outline="A lighthouse keeper named Ada.")
            notice = await next_event(sub, ev.State, lambda s: s.data.notice is not None)
            assert trio.current_time() - t0 == pytest.approx(1.0, abs=0.01)
            assert "continues in a moment" in (notice.data.notice or "")
            error = await next_event(sub, ev.Error)
            assert "5 s" in error.data.message and "offline" in error.data.message
            ready = await next_event(sub, ev.ChapterReady)
            assert ready.data.provider == "offline"
            assert trio.current_time() - t0 == pytest.approx(5.0, abs=0.01)
            state = await next_event(sub, ev.State)
            assert state.data.notice is None
        nursery.cancel_scope.cancel()


async def test_next_right_after_a_chapter_appears_is_never_lost(tmp_path: Path,
                                                                autojump_clock: Any) -> None:
    st = stage(tmp_path)
    st.store.delays["open_round"] = 2.0          # the round opens a little late
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.ChapterReady)
            await trio.testing.wait_all_tasks_blocked()
            assert st.director.machine.state == "voting" and not st.voting.is_open()
            t0 = trio.current_time()
            await st.director.next(2)                # before the round is open: queued
            ended = await next_event(sub, ev.VotingEnded)
            assert ended.data.winner == 2 and ended.data.forced
            assert trio.current_time() - t0 == pytest.approx(2.0, abs=0.01)   # not 30 s
        nursery.cancel_scope.cancel()


async def test_a_forced_start_waits_for_the_old_play_task(tmp_path: Path,
                                                          autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=6.0))
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await trio.sleep(1)                      # chapter 1 of story 1 is being written
            await st.director.start("fantasy", force=True)
            assert st.teller.cancelled == 1          # the old loop is gone, not running on
            await next_event(sub, ev.ChapterReady)
            await trio.sleep(10)
        nursery.cancel_scope.cancel()
    assert st.store.sessions[1]["status"] == "ended" and st.store.chapters[1] == []
    assert [c["number"] for c in st.store.chapters[2]] == [1]


async def test_finish_during_a_vote_writes_the_closing_chapter(tmp_path: Path,
                                                               autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=3.0))
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await st.director.finish()
            closing = await next_event(sub, ev.ChapterReady)
            assert closing.data.closing and closing.data.choices == ()
            assert st.teller.requests[-1].closing
            await next_event(sub, ev.Ended)
        nursery.cancel_scope.cancel()
    assert st.store.sessions[1]["status"] == "finished"


async def test_acknowledged_ballots_are_committed_in_one_group(tmp_path: Path,
                                                               autojump_clock: Any) -> None:
    st = stage(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
        st.store.calls.clear()
        committed: list[int] = []

        async def ack(i: int) -> None:
            st.voting.submit([msg(f"v{i}", "!a")])
            await st.voting.commit()
            committed.append(i)
            assert f"v{i}" in st.store.ballots[(1, 1)]   # on "disk" before the answer

        async with trio.open_nursery() as acks:
            for i in range(50):
                acks.start_soon(ack, i)
        assert len(committed) == 50
        assert st.store.calls.count("save_ballots") == 1    # one transaction for the burst
        st.store.fail_next.add("save_ballots")
        st.voting.submit([msg("late", "!b")])
        with pytest.raises(StorageError):
            await st.voting.commit()                     # never acknowledged when not saved
        await st.voting.commit()                         # retried with the next flush
        assert st.store.ballots[(1, 1)]["late"][2] == 1
        nursery.cancel_scope.cancel()


async def test_chat_ballots_reach_the_store_within_250_ms(tmp_path: Path,
                                                          autojump_clock: Any) -> None:
    st = stage(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
        st.voting.submit([msg("chat", "!c")])
        await trio.sleep(0.26)
        assert st.store.ballots[(1, 1)]["chat"][2] == 2
        nursery.cancel_scope.cancel()


def test_the_bus_never_drops_the_latest_state() -> None:
    bus = EventBus()
    snap = Snapshot(state="idle", revision=0, server_time_ms=0)
    with bus.subscribe(3) as sub:
        updates = [ev.VoteUpdate(ev.VoteUpdateData(round_id=1, counts=(i,), voters=i))
                   for i in range(3)]
        for u in updates:
            bus.publish(u)                       # only the newest waits (2 replaced)
        state = ev.State(msgspec.structs.replace(snap, revision=1))
        bus.publish(state)
        for i in range(5):                       # full: the vote update goes, then older states
            bus.publish(ev.State(msgspec.structs.replace(snap, revision=2 + i)))
        bus.publish(ev.error("x", 1))            # a queue of states only: this one is dropped
        got = [sub.get_nowait() for _ in range(3)]
    assert isinstance(got[-1], ev.State) and got[-1].data.revision == 6
    assert all(isinstance(g, ev.State) for g in got)
    assert sub.replaced == 2
    assert bus.dropped == 1 + 3 + 1


@pytest.mark.parametrize("kwargs, state", [
    ({"chapter_number": None, "closing": False, "chosen": None, "round_row": None}, "generating"),
    ({"chapter_number": 3, "closing": True, "chosen": None, "round_row": None}, "ended"),
    ({"chapter_number": 3, "closing": False, "chosen": 1, "round_row": None}, "generating"),
    ({"chapter_number": 3, "closing": False, "chosen": None, "round_row": None}, "presenting"),
    ({"chapter_number": 3, "closing": False, "chosen": None,
      "round_row": {"chapter_number": 2, "round_id": 2, "opens_at": 0, "ends_at": 60}},
     "presenting"),
])
def test_resume_plans(kwargs: dict[str, Any], state: str) -> None:
    assert plan_resume(now=1000.0, **kwargs).state == state


def test_a_resumed_vote_gets_the_time_it_had_left() -> None:
    row = {"chapter_number": 2, "round_id": 2, "opens_at": 100.0, "ends_at": 160.0,
           "heartbeat_at": 120.0}
    plan = plan_resume(chapter_number=2, closing=False, chosen=None, round_row=row, now=1000.0)
    assert (plan.state, plan.ends_at, plan.opens_at) == ("voting", 1040.0, 980.0)
    late = plan_resume(chapter_number=2, closing=False, chosen=None,
                       round_row={**row, "heartbeat_at": 159.0}, now=1000.0)
    assert late.ends_at == 1010.0                       # at least MIN_RESUME_VOTE
    fresh = plan_resume(chapter_number=2, closing=False, chosen=None,
                        round_row={**row, "heartbeat_at": None}, now=1000.0)
    assert fresh.ends_at == 1060.0                      # no heartbeat yet: all of it


async def test_an_extended_vote_is_announced_and_shown(tmp_path: Path,
                                                      autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"duration": 30, "no_votes": "extend", "extend_seconds": 20})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            first = await next_event(sub, ev.VotingStarted)
            again = await next_event(sub, ev.VotingStarted)
            assert again.data.extended == "no_votes"
            assert again.data.ends_at - first.data.ends_at == 20_000
            state = await next_event(sub, ev.State)
            assert state.data.voting is not None and state.data.voting.ends_at == again.data.ends_at
            ended = await next_event(sub, ev.VotingEnded)
            assert ended.data.tie_break is not None
        nursery.cancel_scope.cancel()
    assert st.store.rounds[(1, 1)]["extended"] is True


async def test_a_storyteller_bug_ends_the_story_not_storyd(tmp_path: Path,
                                                           autojump_clock: Any) -> None:
    """The provider hangs past the deadline and the offline fallback itself raises (a bug):
    the story ends with a `story:error`, the services keep running and the next story plays."""
    class Broken:
        async def write_chapter(self, request: Any) -> Any:
            raise KeyError("")   # what the offline storyteller once raised

    st = stage(tmp_path, ScriptedStoryteller(hang=True), llm={"chapter_deadline": 5})
    real_offline = st.generation._offline   # the fault is injected at the fallback's seam
    st.generation._offline = Broken()  # type: ignore[assignment]
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            errors = []
            while st.director.machine.state != "ended":
                event = await sub.get()
                if isinstance(event, ev.Error):
                    errors.append(event.data.message)
            assert any("offline storyteller failed" in m for m in errors), errors
            st.generation._offline = real_offline
            st.teller.hang = False
            await st.director.start("fantasy", force=True)
            while not isinstance(event := await sub.get(), ev.ChapterReady):
                pass
        nursery.cancel_scope.cancel()
