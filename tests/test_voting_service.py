"""The voting service around the vote core (issues 19 and 23), on fakes at the ports under
autojump_clock: moderation through the chat sink, the stream delay, the early close with
prefetch, the credit that never holds up the show, the leaders channel and pipelined
acknowledgements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from storyd.core import events as ev
from storyd.core.model import ChatMessage, Moderation
from storyd.core.snapshot import ChoiceView
from tests.memory_store import ScriptedStoryteller, stage
from tests.test_services import msg, next_event, running


def tw(viewer: int, text: str, mid: str) -> ChatMessage:
    """A Twitch chat line as the Twitch source hands it over (int key, message id)."""
    return ChatMessage(platform="twitch", user_id=f"twitch:{viewer}", name=f"V{viewer}",
                       text=text, msg_id=f"twitch:{mid}", key=-viewer - 1)


async def test_moderation_takes_ballots_back_and_the_store_follows(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([tw(1, "!a", "m1"), tw(1, "!b", "m2"), tw(2, "!c", "m3"),
                              tw(3, "b", "m4")])
            await st.voting.commit()
            assert st.store.ballots[(1, 1)]["twitch:1"][2] == 1
            v = st.voting
            assert v.submit_moderation(Moderation(platform="twitch", kind="message",
                                                  msg_id="twitch:m2")) is True
            assert v.submit_moderation(Moderation(platform="twitch", kind="viewer",
                                                  user_id="twitch:2", key=-3)) is True
            assert v.submit_moderation(Moderation(platform="twitch", kind="chat")) is False
            assert v.submit_moderation(Moderation(platform="twitch", kind="message",
                                                  msg_id="twitch:nope")) is False
            update = await next_event(sub, ev.VoteUpdate, lambda e: e.data.voters == 2)
            assert update.data.counts == (1, 1, 0)
            await v.commit()
            saved = st.store.ballots[(1, 1)]
            assert saved["twitch:1"][1:3] == ("V1", 0)     # back to "!a", name kept
            assert "twitch:2" not in saved                  # the ban took it off the disk too
            view = v.view()
            assert view is not None and view.moderated == 2
            assert v.moderation_seen == 4
        nursery.cancel_scope.cancel()


async def test_stream_delay_takes_ballots_after_the_countdown_and_closes_later(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"duration": 30, "stream_delay": 8.0})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            started = await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            assert started.data.closes_at - started.data.ends_at == 8000
            assert started.data.duration_ms == 30_000         # the countdown viewers see
            snap = st.director.snapshot()
            assert snap.voting is not None
            assert snap.voting.closes_at == started.data.closes_at
            await trio.sleep(30.5)                            # the overlay shows 0 now ...
            assert st.voting.is_open()
            assert st.voting.submit([msg("late", "!c")]).accepted == 1   # ... viewers don't
            ended = await next_event(sub, ev.VotingEnded)
            assert trio.current_time() - opened == pytest.approx(38.0, abs=0.05)
            assert ended.data.winner == 2 and ended.data.voters == 1
        nursery.cancel_scope.cancel()


async def test_an_early_close_is_decided_and_its_prefetched_winner_airs_at_once(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, ScriptedStoryteller(delay=4.0),
               voting={"duration": 60, "early_close": True, "min_votes": 3, "swing": 3})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            await trio.sleep(10)                              # the branches are written
            st.voting.submit([msg(f"v{i}", "!b") for i in range(3)])
            ended = await next_event(sub, ev.VotingEnded)
            assert ended.data.early and ended.data.winner == 1
            assert trio.current_time() - opened == pytest.approx(10.0, abs=0.01)
            closed = await next_event(sub, ev.State, lambda s: s.data.state == "result")
            assert closed.data.voting is not None and closed.data.voting.early
            gen = await next_event(sub, ev.GenerationStarted)
            at = trio.current_time()
            ready = await next_event(sub, ev.ChapterReady)
            assert gen.data.prefetched
            assert trio.current_time() == at                  # no dead air at all
            assert ready.data.title.endswith("Path 1.1 after the start")
        nursery.cancel_scope.cancel()


async def test_crediting_voters_never_holds_up_the_next_chapter(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    st.store.delays["credit_voters"] = 120.0                  # a very slow credit
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([msg("ann", "!a"), msg("bob", "!b"), msg("cy", "!b")])
            await st.director.close()
            await next_event(sub, ev.VotingEnded)
            closed = trio.current_time()
            await next_event(sub, ev.ChapterReady)
            assert trio.current_time() - closed == pytest.approx(5.0, abs=0.01)  # the card
            assert "ann" not in st.store.viewers               # still crediting ...
        await trio.sleep(120)                                 # the credit's own time
        assert st.store.viewers["bob"]["ballots"] == 1 and st.store.viewers["bob"]["wins"] == 1
        assert st.store.viewers["ann"]["wins"] == 0           # ... and done, once each
        nursery.cancel_scope.cancel()


async def test_leader_changes_arrive_on_the_channel_it_is_given(
        tmp_path: Path, autojump_clock: Any) -> None:
    # the voting service alone: in a story, the director gives the channel to the next
    # chapter's branches (services/next_chapter.py); here the test reads it
    st = stage(tmp_path)
    send, receive = trio.open_memory_channel[tuple[int, ...]](1)
    async with trio.open_nursery() as nursery:
        await nursery.start(st.voting.run)
        st.voting.send_leaders_to(send)
        with st.bus.subscribe(4096) as sub:
            sid = await st.store.create_session(theme="horror", language="English", outline="",
                                                started_at=0.0, settings={})
            await st.voting.open(sid, 1, tuple(ChoiceView(key=k, text=f"Path {k}")
                                               for k in "abc"), 30.0, seed=1)
            await next_event(sub, ev.VotingStarted)
            assert await receive.receive() == (0, 1, 2)       # the round's first order
            st.voting.submit([msg("ann", "!c")])
            await trio.sleep(0.5)                             # sent: (2, 0, 1) fills the slot
            st.voting.submit([msg("bob", "!b"), msg("cy", "!b")])        # (1, 2, 0) ...
            await trio.sleep(0.5)
            st.voting.submit([msg(f"v{i}", "!a") for i in range(3)])     # ... then (0, 1, 2)
            await trio.sleep(0.5)
            assert await receive.receive() == (2, 0, 1)
            assert await receive.receive() == (0, 1, 2)       # the latest, not the stale one
            st.voting.submit([msg("dan", "!a")])              # the order stays: nothing new
            await trio.sleep(0.5)
            with pytest.raises(trio.WouldBlock):
                receive.receive_nowait()
        nursery.cancel_scope.cancel()


async def test_pipelined_tickets_share_one_commit(tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
        st.store.calls.clear()
        tickets = []
        for i in range(5):                                    # five requests in flight
            st.voting.submit([msg(f"v{i}", "!a")])
            tickets.append(st.voting.commit_ticket())
        for t in tickets:
            await st.voting.committed(t)
        assert st.store.calls.count("save_ballots") == 1
        assert len(st.store.ballots[(1, 1)]) == 5
        nursery.cancel_scope.cancel()
