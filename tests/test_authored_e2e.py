"""End to end: the real `storyd` process plays an authored story (a Twee file) through
`storyctl` votes to one of its endings, across a restart, and refuses a bad file with its
file:line reasons (issue 18). Real time, real sockets: every wait is bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from tests.test_e2e_process import STORYCTL, Storyd, Watcher

pytestmark = pytest.mark.slow

FERRY = Path(__file__).parent / "fixtures" / "twee" / "last_ferry.twee"


@pytest.fixture
async def storyd(tmp_path: Path):
    sd = Storyd(tmp_path)
    yield sd
    if sd.proc is not None and sd.proc.returncode is None:
        sd.proc.kill()
        await sd.proc.wait()


async def ctl_in(sd: Storyd, cwd: Path, *args: str) -> tuple[int, str, str]:
    with trio.fail_after(20):
        r = await trio.run_process([*STORYCTL, *args], env=sd.env, cwd=cwd, check=False,
                                   capture_stdout=True, capture_stderr=True)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


async def test_an_authored_story_plays_to_its_ending_across_a_restart(storyd: Storyd) -> None:
    work = storyd.tmp / "work"
    work.mkdir()
    (work / "ferry.twee").write_bytes(FERRY.read_bytes())
    (work / "broken.twee").write_text(FERRY.read_text().replace(
        "[[Cut the lifeboat loose->On the Teeth]]", "[[Cut the lifeboat loose->The Reef]]"))
    await storyd.start()
    rc, out, err = await ctl_in(storyd, work, "stories")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["ID", "LANGUAGE", "THEME", "TITLE", "SIZE"]
    assert any(line.startswith("en/fantasy") and "English" in line for line in out.splitlines())
    assert any(line.startswith("de/fantasy") and "Deutsch" in line for line in out.splitlines())
    async with Watcher(storyd) as watch:
        rc, out, err = await ctl_in(storyd, work, "start", "--story", "ferry.twee")
        assert rc == 0, err
        assert "story: The Last Ferry (ferry.twee, authored)" in out
        first = await watch.until("story:chapter-ready")
        assert first["title"] == "Pier Nine"
        await watch.until("story:voting-started")
        for viewer, choice in [("ann", "b"), ("bob", "b"), ("cy", "a")]:
            await storyd.ctl("vote", viewer, choice)
        await storyd.ctl("close")
        second = await watch.until("story:chapter-ready", lambda c: c["number"] == 2)
        assert second["title"] == "The Gangway"
        await watch.until("story:voting-started", lambda v: v["round_id"] == 2)
        await storyd.ctl("vote", "ann", "a")          # Stay on deck with the crew
        await storyd.ctl("close")
        third = await watch.until("story:chapter-ready", lambda c: c["number"] == 3)
        assert third["title"] == "The Crossing"
        await watch.until("story:voting-started", lambda v: v["round_id"] == 3)
        await storyd.ctl("vote", "bob", "a")          # Follow the lighted buoys
    rc, out, err = await ctl_in(storyd, work, "start", "--force", "--story", "broken.twee")
    assert rc == 1
    assert f"{work / 'broken.twee'}:45: link 'Cut the lifeboat loose' leads to a missing " \
           "passage 'The Reef'" in err
    assert await storyd.stop() == 0                   # mid-vote; the ballot is on disk
    await storyd.start()
    status = await storyd.status()
    assert status["state"] == "voting" and status["chapter_number"] == 3
    assert status["authored"]["title"] == "The Last Ferry"
    assert status["voting"]["counts"] == [1, 0, 0]
    async with Watcher(storyd) as watch:
        await storyd.ctl("close")
        last = await watch.until("story:chapter-ready", lambda c: c["number"] == 4)
        assert last["title"] == "The Long Way Round" and last["closing"]
        await watch.until("story:ended")
    sid = status["session_id"]
    session = json.loads((await storyd.ctl("--json", "session", str(sid))).stdout)
    assert session["status"] == "finished"
    assert [c["title"] for c in session["chapters"]] == [
        "Pier Nine", "The Gangway", "The Crossing", "The Long Way Round"]
    assert session["settings"]["story"]["file"] == str(work / "ferry.twee")
    twee = (await storyd.ctl("export", str(sid), "--format", "twee")).stdout.decode()
    assert "The Long Way Round" in twee
