"""An authored story (a Twee file) as a story source, on the real services with fakes at the
ports (issue 18): passages air as chapters, links are the choices, the vote's tie rules pick
the link, a passage without links ends the story; `finish` goes to the nearest ending; a
restarted daemon goes on in the same file; no model is ever asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from storyd.core.model import ChatMessage
from storyd.errors import NotFoundError, StoryFileError
from storyd.services.stories import load_story
from tests.conftest import wait_for_event
from tests.memory_store import MemoryStore, stage

FERRY = Path(__file__).parent / "fixtures" / "twee" / "last_ferry.twee"


def msg(viewer: str, text: str) -> ChatMessage:
    return ChatMessage(platform="test", user_id=viewer, name=viewer.title(), text=text)


async def test_an_authored_story_plays_through_votes_to_its_ending(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"tie_break": "first"})
    d = st.director
    ferry = await load_story(str(FERRY))
    async with trio.open_nursery() as nursery:
        await nursery.start(d.run)
        with st.bus.subscribe(4096) as sub:
            await d.start("adventure", authored=ferry)
            ch1 = await wait_for_event(sub, "story:chapter-ready")
            assert ch1["title"] == "Pier Nine" and ch1["text"].startswith("The horn sounds")
            assert [c["text"] for c in ch1["choices"]] == [
                "Beg the clerk for a ticket", "Help the deckhand with the rope",
                "Climb up to the captain"]
            assert ch1["provider"] == "authored" and not ch1["closing"]
            snap = d.snapshot()
            assert snap.authored is not None and snap.authored.title == "The Last Ferry"
            assert snap.authored.id == "last_ferry.twee"   # never the path: the overlay reads it
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("ann", "!b"), msg("bob", "!b"), msg("cy", "!c")])
            await d.close()
            ch2 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2)
            assert ch2["title"] == "The Gangway"
            await wait_for_event(sub, "story:voting-started")
            # a tie between a and c: [voting] tie_break = "first" takes a
            st.voting.submit([msg("ann", "!a"), msg("bob", "!c")])
            await d.close()
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["winner_key"] == "a" and ended["tie_break"] == "first"
            ch3 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 3)
            assert ch3["title"] == "The Crossing"            # "~ without the chart" hidden
            assert "Somewhere ahead there is a shorter way" in ch3["text"]
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("ann", "!a")])             # Follow the lighted buoys
            await d.close()
            last = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 4)
            assert last["title"] == "The Long Way Round"
            assert last["closing"] and last["choices"] == []
            done = await wait_for_event(sub, "story:ended")
            assert done["reason"] == "finished"
            await trio.testing.wait_all_tasks_blocked()   # the recap is written meanwhile
        nursery.cancel_scope.cancel()
    assert d.machine.state == "ended"
    assert st.teller.requests == []          # no model wrote a word, no outline was asked
    session = st.store.sessions[1]
    assert session["status"] == "finished"
    assert session["settings"]["story"]["file"] == str(FERRY)
    assert session["settings"]["story"]["ifid"] == "936DDA1E-80C9-4FB3-AE27-281FBE9EF922"
    chapters = st.store.chapters[1]
    assert [c["title"] for c in chapters] == [
        "Pier Nine", "The Gangway", "The Crossing", "The Long Way Round"]
    assert [c["chosen"] for c in chapters] == [1, 0, 0, None]
    assert chapters[-1]["closing"] and all(c["provider"] == "authored" for c in chapters)
    # the recap is stored for an ending the story reached by itself too (only a closing
    # chapter had one), with the story's own title and the ending's tag as its kind
    recap = session["recap"]
    assert recap["title"] == "The Last Ferry" and recap["ending"] == "bittersweet"


async def test_finish_goes_to_the_nearest_ending_from_the_vote_winner(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path, voting={"no_votes": "first"})
    d = st.director
    async with trio.open_nursery() as nursery:
        await nursery.start(d.run)
        with st.bus.subscribe(4096) as sub:
            await d.start("adventure", authored=await load_story(str(FERRY)))
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("ann", "!c")])               # Climb up to the captain
            await d.finish(now=True)                          # closes the vote now
            closing = await wait_for_event(sub, "story:chapter-ready", lambda c: c["closing"])
            # The Top Deck's nearest ending: its first link leads to the crossing with the
            # chart, whose first link is the good ending
            assert closing["number"] == 2 and closing["title"] == "Home Before the Storm"
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()
    assert st.teller.requests == []


async def test_max_chapters_leaves_a_story_without_loops_to_its_own_endings(
        tmp_path: Path, autojump_clock: Any) -> None:
    # Cut at [story] max_chapters, the passage the last vote chose was skipped for the
    # nearest ending (its first link): the last vote did not matter, and the ending read as
    # if a passage had aired that had not ("'Vintage,' Barry said again"). A story with no
    # loop is bounded by its own endings; it plays to one of them.
    st = stage(tmp_path, story={"max_chapters": 2}, voting={"no_votes": "first"})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("adventure", authored=await load_story(str(FERRY)))
            assert st.director.snapshot().max_chapters == 0   # no "chapter 1 of 2"
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()
    chapters = st.store.chapters[1]
    # a, a, a: Pier Nine → The Ticket Window → The Crossing (with the chart) → its ending
    assert [c["title"] for c in chapters] == [
        "Pier Nine", "The Ticket Window", "The Crossing", "Home Before the Storm"]
    assert [c["closing"] for c in chapters] == [False, False, False, True]


LOOP = """:: StoryTitle
Round and Round

:: StoryData
{"ifid": "3B1B7E53-3E9C-4C61-9E0B-6A2F0C1D2E3F", "start": "Roundabout"}

:: Roundabout
Mia drives round the roundabout again. Every exit looks the same in the fog.

[[Go round once more->Roundabout]]
[[Take the exit->Home]]
[[Stop and ask->Home]]

:: Home [ending good]
The fog lifts, and there is her street.
"""


async def test_max_chapters_ends_a_looping_authored_story_at_its_nearest_ending(
        tmp_path: Path, autojump_clock: Any) -> None:
    looped = tmp_path / "loop.twee"
    looped.write_text(LOOP, encoding="utf-8")
    st = stage(tmp_path, story={"max_chapters": 3}, voting={"no_votes": "first"})
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("adventure", authored=await load_story(str(looped)))
            assert st.director.snapshot().max_chapters == 3
            closing = await wait_for_event(sub, "story:chapter-ready", lambda c: c["closing"])
            assert closing["number"] == 3 and closing["title"] == "Home"   # a, a: round twice
            await wait_for_event(sub, "story:ended")
        nursery.cancel_scope.cancel()


async def test_a_restarted_daemon_goes_on_in_the_same_story(tmp_path: Path,
                                                          autojump_clock: Any) -> None:
    store = MemoryStore()
    st = stage(tmp_path, store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("adventure", authored=await load_story(str(FERRY)))
            await wait_for_event(sub, "story:voting-started")
            st.voting.submit([msg("ann", "!a")])            # Beg the clerk for a ticket
            await st.director.close()
            await wait_for_event(sub, "story:voting-started",
                                 lambda v: v["choices"][0]["text"] == "Carry the chart aboard")
            st.voting.submit([msg("bob", "!c")])            # Hide in a lifeboat instead
            await st.voting.commit()                        # on disk, as storyctl vote does
        nursery.cancel_scope.cancel()                       # the daemon dies mid-vote
    st2 = stage(tmp_path, store=store)
    d2 = st2.director
    async with trio.open_nursery() as nursery:
        await nursery.start(d2.run)
        assert d2.story is not None and d2.story.authored is not None
        assert d2.machine.state == "voting" and d2.snapshot().title == "The Ticket Window"
        with st2.bus.subscribe(4096) as sub:   # the vote runs out with Bob's ballot kept
            ended = await wait_for_event(sub, "story:voting-ended")
            assert ended["winner_key"] == "c" and ended["counts"] == [0, 0, 1]
            ch3 = await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 3)
            assert ch3["title"] == "The Lifeboat"
        nursery.cancel_scope.cancel()
    assert st2.teller.requests == []


async def test_a_resumed_story_whose_file_is_gone_ends_with_the_reason(
        tmp_path: Path, autojump_clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    story_file = tmp_path / "ferry.twee"
    story_file.write_bytes(FERRY.read_bytes())
    store = MemoryStore()
    st = stage(tmp_path, store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(st.director.run)
        with st.bus.subscribe(4096) as sub:
            await st.director.start("adventure", authored=await load_story(str(story_file)))
            await wait_for_event(sub, "story:voting-started")
        nursery.cancel_scope.cancel()
    story_file.unlink()
    st2 = stage(tmp_path, store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(st2.director.run)
        assert st2.director.story is None and st2.director.machine.state == "idle"
        nursery.cancel_scope.cancel()
    assert store.sessions[1]["status"] == "crashed"
    assert "no such file" in caplog.text


async def test_story_files_are_refused_whole_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        await load_story(str(tmp_path / "missing.twee"))
    with pytest.raises(NotFoundError, match="neither a shipped story"):
        await load_story("stories/ferry.twee")                 # relative: whose cwd?
    with pytest.raises(NotFoundError, match="no shipped story 'en/nope'"):
        await load_story("en/nope")
    html = tmp_path / "tale.html"
    html.write_text("<html><tw-storydata></tw-storydata></html>")
    with pytest.raises(StoryFileError, match="Export as Twee"):
        await load_story(str(html))
    huge = tmp_path / "huge.twee"
    with huge.open("wb") as f:             # a sparse 50 MB file: refused before it is read
        f.truncate(50 * 1000 * 1000)
    with pytest.raises(StoryFileError, match=r"the file is 50\.0 MB; a story may be 1024 KB"):
        await load_story(str(huge))
    notes = tmp_path / "notes.txt"
    notes.write_text(FERRY.read_text())
    with pytest.raises(StoryFileError, match=r"ends in \.twee or \.tw"):
        await load_story(str(notes))
    folder = tmp_path / "folder.twee"
    folder.mkdir()
    with pytest.raises(NotFoundError, match="not a file"):
        await load_story(str(folder))
