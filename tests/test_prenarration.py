"""Narration prepared during the vote (issue 9, item 1): the leading branch's speech is made
before the close; the winner's airs with it, a loser's never does.

The real director, generation service and presenter on the in-memory fakes, under
autojump_clock; speech comes from a fake speech chain that counts its requests and takes
`seconds` of virtual time each. Every audio it returns is unique (`#<call index> <text>`), so
the bytes of an aired file tell which request made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing

from storyd.core import events as ev
from storyd.core.model import SpeechRequest, SpeechResult
from storyd.core.narration import choices_announcement
from storyd.providers.outcome import ChainOutcome
from storyd.services import prenarration
from tests.memory_store import ScriptedStoryteller, Stage, stage
from tests.test_services import msg, next_event, running


@dataclass
class CountingSpeech:
    seconds: float = 1.5
    calls: list[tuple[float, str]] = field(default_factory=list)   # (when, text)
    cancelled: int = 0

    async def speak(self, request: SpeechRequest) -> ChainOutcome[SpeechResult | None]:
        k = len(self.calls)
        self.calls.append((trio.current_time(), request.text))
        try:
            await trio.sleep(self.seconds)
        except trio.Cancelled:
            self.cancelled += 1
            raise
        return ChainOutcome(SpeechResult(data=f"#{k} {request.text}".encode(),
                                         content_type="audio/wav", duration=1.0), "fake", [])


def speaking(tmp_path: Path, seconds: float = 1.5,
             **sections: dict[str, Any]) -> tuple[Stage, CountingSpeech]:
    speech = CountingSpeech(seconds)
    st = stage(tmp_path, ScriptedStoryteller(delay=2.0), speech=speech, tts={"enabled": True},
               **sections)
    return st, speech


def chapter_two(st: Stage, choice: int) -> set[str]:
    """What the narrator says for chapter 2 written after `choice`."""
    who = f"Path 1.{choice} after the start"
    choices = [f"Path 2.{i} after {who}" for i in range(st.config.story.choices)]
    return {f"It went on from {who}.", "The end came later.", choices_announcement(choices)}


def call_of(tmp_path: Path, event: Any) -> int:
    """Which speech request made the audio a narration event airs."""
    name = event.data.audio_url.rsplit("/", 1)[-1]
    data = (tmp_path / "media" / name).read_bytes().decode()
    return int(data.split(" ", 1)[0].lstrip("#"))


async def aired_narration(sub: Any) -> list[tuple[float, Any]]:
    """Chapter 2's narration events (with the time each came) until its vote opens."""
    out: list[tuple[float, Any]] = []
    with trio.fail_after(600):
        async for event in sub:
            if isinstance(event, ev.Narration) and event.data.chapter == 2:
                out.append((trio.current_time(), event))
            elif isinstance(event, ev.VotingStarted):
                return out
    raise AssertionError("bus closed")


async def test_the_winners_narration_is_made_in_the_vote_and_aired_without_asking_again(
        tmp_path: Path, autojump_clock: Any) -> None:
    st, speech = speaking(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            st.voting.submit([msg("ann", "!b"), msg("bob", "!b")])
            ended = await next_event(sub, ev.VotingEnded)
            closed = trio.current_time()
            assert ended.data.winner == 1
            during = {text for when, text in speech.calls if opened <= when < closed}
            assert chapter_two(st, 1) <= during          # requested while the vote ran
            assert "It went on from Path 1.0 after the start." not in during   # not a leader
            asked = len(speech.calls)
            ready = await next_event(sub, ev.ChapterReady)
            ready_at = trio.current_time()
            assert ready.data.number == 2
            aired = await aired_narration(sub)
            assert len(speech.calls) == asked             # the presenter asked for nothing
            assert [e.data.text for _t, e in aired] == [
                "It went on from Path 1.1 after the start.", "The end came later.",
                choices_announcement([c.text for c in ready.data.choices])]
            assert aired[0][0] == ready_at                # narration starts at once
            for _t, event in aired:                       # ... with the audio made in the vote
                when, text = speech.calls[call_of(tmp_path, event)]
                assert opened <= when < closed and text == event.data.text
        nursery.cancel_scope.cancel()
    story = st.director.story
    assert story is not None and all(story.chapters[1].audio)


async def test_a_losing_branchs_prepared_narration_is_not_aired(
        tmp_path: Path, autojump_clock: Any) -> None:
    st, speech = speaking(tmp_path)
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            opened = trio.current_time()
            st.voting.submit([msg("ann", "!a")])         # a leads while branches are written
            await trio.sleep(10)
            a_texts = {text for when, text in speech.calls if when >= opened}
            assert chapter_two(st, 0) <= a_texts          # a's narration was prepared
            switched = trio.current_time()
            st.voting.submit([msg("bob", "!b"), msg("cy", "!b")])   # b takes the lead
            ended = await next_event(sub, ev.VotingEnded)
            closed = trio.current_time()
            assert ended.data.winner == 1
            b_texts = {text for when, text in speech.calls if switched <= when < closed}
            assert chapter_two(st, 1) <= b_texts          # and then b's
            asked = len(speech.calls)
            await next_event(sub, ev.ChapterReady)
            aired = await aired_narration(sub)
            assert len(speech.calls) == asked
            used = [call_of(tmp_path, event) for _t, event in aired]
            # "The end came later." was made for both branches: the winner's copy airs
            assert all(switched <= speech.calls[k][0] < closed for k in used)
        nursery.cancel_scope.cancel()


async def test_at_most_two_branches_narration_is_kept_and_a_dropped_one_is_cancelled(
        tmp_path: Path, autojump_clock: Any) -> None:
    st, speech = speaking(tmp_path, seconds=20.0)     # slower than the leaders change
    prep = st.generation._narration
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            await trio.testing.wait_all_tasks_blocked()   # chapter 1's unfinished speech
            speech.cancelled = 0                          # was stopped when it was shown
            for voters, key in ((("a1",), "!a"), (("b1", "b2"), "!b"),
                                (("c1", "c2", "c3"), "!c")):
                st.voting.submit([msg(v, key) for v in voters])
                await trio.sleep(3)                   # written after 2 s, then prepared
            assert prep.preparing() == [1, 2]         # a, the oldest leader, was dropped
            assert speech.cancelled == prenarration.SYNTH_PARALLEL   # its requests stopped
            await next_event(sub, ev.VotingEnded)
            await trio.testing.wait_all_tasks_blocked()
            assert prep.preparing() == []             # the close hands c's over, stops b's
            # b's last sentence (asked at ~24 s, when its first two came) was stopped too;
            # c's, still in flight, goes on for the presenter
            assert speech.cancelled == prenarration.SYNTH_PARALLEL + 1
        nursery.cancel_scope.cancel()


async def test_with_prefetch_off_the_winners_narration_starts_when_written_under_the_card(
        tmp_path: Path, autojump_clock: Any) -> None:
    st, speech = speaking(tmp_path, llm={"prefetch": "off"})
    async with trio.open_nursery() as nursery:
        await running(st, nursery)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("horror")
            await next_event(sub, ev.VotingStarted)
            st.voting.submit([msg("ann", "!c")])
            await st.director.close()
            await next_event(sub, ev.VotingEnded)
            closed = trio.current_time()
            await next_event(sub, ev.ChapterReady)        # after the 5 s result card
            ready_at = trio.current_time()
            made = {text for when, text in speech.calls if closed <= when < ready_at}
            assert chapter_two(st, 2) <= made             # written at +2 s, spoken at once
            asked = len(speech.calls)
            aired = await aired_narration(sub)
            assert len(speech.calls) == asked and all(e.data.audio_url for _t, e in aired)
            assert aired[0][0] == ready_at
        nursery.cancel_scope.cancel()
