"""Authored stories in the real daemon (in-process, real HTTP and SQLite): `POST start` with a
story file or a shipped id, refusals with file:line that end nothing, the story list, and the
demo playing shipped stories for themes that have one in the story language (issue 18)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from storyd.core.themes import THEMES
from storyd.web.openapi import API
from tests.conftest import FERRY, wait_for_event

TIMEOUT = 60


async def test_post_start_plays_a_story_file_and_refuses_a_bad_one_whole(
        daemon_factory: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.twee"
    bad.write_text(FERRY.read_text().replace("Nika Brandt has no ticket.",
                                             "(set: $ticket to false)"))
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(voting={"duration": 120})
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as c:
            h = {"Authorization": f"Bearer {d.admin_token}"}
            with d.bus.subscribe() as sub:
                r = await c.post(f"{API}/start", json={"story": str(FERRY)}, headers=h)
                assert r.status_code == 200, r.text
                assert r.json()["authored"] == {"title": "The Last Ferry",
                                                "id": "last_ferry.twee",
                                                "ifid": "936DDA1E-80C9-4FB3-AE27-281FBE9EF922"}
                first = await wait_for_event(sub, "story:chapter-ready")
                assert first["title"] == "Pier Nine" and first["provider"] == "authored"
            running = d.director.story
            r = await c.post(f"{API}/start", json={"story": str(bad), "force": True}, headers=h)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "bad_story"
            assert error["message"].startswith(f"{bad}:13: a Harlowe macro (name: …)")
            assert d.director.story is running            # refused whole: nothing ended
            r = await c.post(f"{API}/start", json={"story": "relative.twee", "force": True},
                             headers=h)
            assert r.status_code == 404 and "absolute path" in r.json()["error"]["message"]
            r = await c.post(f"{API}/start", json={"story": str(FERRY), "outline": "x",
                                                   "force": True}, headers=h)
            assert r.status_code == 409 and "--outline" in r.json()["error"]["message"]
            assert d.director.story is running
            status = (await c.get(f"{API}/status")).json()
            assert status["authored"]["title"] == "The Last Ferry"
            assert str(FERRY) not in (await c.get(f"{API}/status")).text   # no paths shown


async def test_shipped_stories_are_listed_and_started_by_id(daemon_factory: Any,
                                                            shipped: Path) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(voting={"duration": 120})
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as c:
            listed = (await c.get(f"{API}/stories")).json()     # public, like the themes
            assert len(listed) == len(THEMES)
            horror = next(s for s in listed if s["id"] == "en/horror")
            assert horror == {"id": "en/horror", "title": "The Last Ferry", "language": "English",
                              "theme": "horror", "theme_name": "Horror", "passages": 10,
                              "endings": 3, "shortest": 4, "longest": 7,
                              "ifid": "936DDA1E-80C9-4FB3-AE27-281FBE9EF922"}
            h = {"Authorization": f"Bearer {d.admin_token}"}
            r = await c.post(f"{API}/start", json={"story": "en/horror", "language": "Deutsch"},
                             headers=h)
            assert r.status_code == 409 and "written in English" in r.text
            r = await c.post(f"{API}/start", json={"story": "en/horror"}, headers=h)
            assert r.status_code == 200, r.text
            snap = r.json()
            assert (snap["theme"], snap["language"]) == ("horror", "English")
            assert snap["authored"]["id"] == "en/horror"
            session = await d.store.get_session(snap["session_id"])
            assert session["settings"]["story"]["id"] == "en/horror"
            assert session["settings"]["story"]["file"] is None


async def test_the_demo_plays_shipped_stories_in_the_story_language(
        daemon_factory: Any, shipped: Path) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(demo_mode=True, demo={"seed": 3})
        story = d.director.story
        assert story is not None and story.authored is not None
        assert story.authored.ref.id == f"en/{story.theme.id}"


async def test_the_demo_tells_procedural_stories_where_no_story_is_shipped(
        daemon_factory: Any, shipped: Path) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(demo_mode=True, story={"language": "Deutsch"})
        story = d.director.story
        assert story is not None and story.authored is None    # only English ones shipped


async def test_an_authored_story_cannot_be_extended_and_says_why(daemon_factory: Any) -> None:
    # `storyctl extend 12` on an authored story wrote a model plan for it (which it never
    # follows: it plays its passages to one of its own endings).
    import io

    from storyd.ctl.main import main as storyctl

    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(voting={"duration": 120})
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as c:
            h = {"Authorization": f"Bearer {d.admin_token}"}
            with d.bus.subscribe() as sub:
                r = await c.post(f"{API}/start", json={"story": str(FERRY)}, headers=h)
                assert r.status_code == 200, r.text
                await wait_for_event(sub, "story:chapter-ready")
            r = await c.post(f"{API}/extend", json={"chapters": 12}, headers=h)
            assert r.status_code == 409, r.text
            message = r.json()["error"]["message"]
            assert message == ("“The Last Ferry” is an authored story: it plays its own passages "
                               "to one of its endings and cannot be extended (storyctl finish "
                               "ends it at the ending nearest to where it is)")
            out, err = io.StringIO(), io.StringIO()
            code = await trio.to_thread.run_sync(lambda: storyctl(
                ["--socket", str(d.socket_path), "extend", "12"], stdout=out, stderr=err))
            assert code == 1 and message in err.getvalue()
            story = d.director.story
            assert story is not None and story.plan is None and not story.extended
            session = await d.store.get_session(story.session_id)
            assert not session.get("plan")                   # no plan written for it
